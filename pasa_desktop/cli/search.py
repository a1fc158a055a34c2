"""`pasa search`: run (or resume) a search with live progress on stderr, then a ranked table or JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from rich.table import Table

from engine.agent.ranking import papers_to_score
from engine.errors import InputError
from engine.events import Counts, Notice, Progress, RankedPaper, SearchFinished, SearchStarted, SearchStatus
from engine.models.score_meaning import CALIBRATED_SCORE, CITED_CLAUSE
from pasa_desktop.cli.progress import counts_fields, search_progress, stderr_console
from pasa_desktop.search_request import SOURCES, SearchPlan, SearchRequest
from pasa_desktop.search_service import SearchService
from pasa_desktop.settings import Settings, load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("search", help="search for papers meeting a research need")
    p.add_argument("query", nargs="?", default="", help="the research need, in words")
    p.add_argument("--json", action="store_true", help="print machine-readable results on stdout")
    from pasa_desktop.budget_text import preset_help, saved_settings_quietly  # what each preset runs here

    p.add_argument("--preset", choices=("quick", "standard", "thorough"), help=preset_help(saved_settings_quietly()))
    p.add_argument("--source", action="append", choices=SOURCES, help="paper source (repeatable)")
    p.add_argument("--crawler-model", help="model profile for the Crawler")
    p.add_argument("--selector-model", help="model profile for the Selector")
    p.add_argument("--resume", type=int, metavar="RUN", help="resume an interrupted search (see `pasa history`)")
    p.add_argument("--no-library", action="store_true", help="do not record this search in the library")
    p.add_argument("--max-seconds", type=float, help="wall-clock budget")
    p.add_argument(
        "--crawler-samples",
        type=int,
        metavar="N",
        help="Crawler ensemble: sample the search session N times, union the queries (only when the Crawler "
        "writes queries: the embedded Crawler does not, by default)",
    )
    p.add_argument("--top", type=int, default=30, help="rows in the table (default 30)")
    p.set_defaults(handler=run)


def request_from(args: argparse.Namespace) -> SearchRequest:
    """The command line's options as the one search request every front end sends."""
    return SearchRequest.make(
        query=args.query,
        preset=args.preset,
        max_seconds=args.max_seconds,
        crawler_samples=args.crawler_samples,
        sources=tuple(args.source or ()),
        crawler_profile=args.crawler_model or "",
        selector_profile=args.selector_model or "",
        resume_run=args.resume,
    )


def ensure_index_with_progress(settings: Settings) -> None:
    """The offline index ready (built, or its rankings repaired, with a notice): index_lifecycle's answer."""
    from pasa_desktop.cli.index import ensure_with_progress

    ensure_with_progress(settings)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise InputError(f"--top must be at least 1 (got {args.top})", hint="the rows shown in the table")
    settings = load_settings()
    plan = request_from(args).plan(settings)  # every check before any work (exit code 2)
    ensure_index_with_progress(plan.settings)
    return asyncio.run(_run(args, plan))


async def _run(args: argparse.Namespace, plan: SearchPlan) -> int:
    settings = plan.settings
    console = stderr_console()
    library = None
    if not args.no_library:
        from pasa_desktop.library import open_library

        library = open_library(settings.library_path())
    service = SearchService(settings, library, model_loader=getattr(args, "model_loader", None))
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        console.print("[yellow]Stopping… (Ctrl-C again to quit at once)[/]")

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    # SIGTERM (a logout, `kill`) stops like Ctrl-C: the run ends "cancelled" and resumable. kill -9
    # cannot be caught; the run's lease then reads "interrupted" (library/leases.py).
    loop.add_signal_handler(signal.SIGTERM, cancel.set)
    finished: SearchFinished | None = None
    started: SearchStarted | None = None
    run_id = 0
    try:
        with search_progress(console) as bar:
            task = bar.add_task("search", total=None, stage="start", step="loading models…", **counts_fields(Counts()))
            async for event_run, event in service.run(plan.request, cancel=cancel):
                run_id = event_run
                if isinstance(event, Progress):
                    c = event.counts
                    total = score_total(event, started.settings.get("score_top") if started else None)
                    bar.update(
                        task,
                        stage=event.stage,
                        step=event.message[:60],
                        completed=c.scored if total else 0,
                        total=total,
                        **counts_fields(c),
                    )
                elif isinstance(event, Notice):
                    console.print(
                        f"[{'red' if event.level == 'error' else 'yellow'}]{event.source}: {event.message}[/]"
                    )
                elif isinstance(event, SearchStarted):
                    started = event
                elif isinstance(event, SearchFinished):
                    finished = event
        assert finished is not None
        # Results first: closing waits for a model call that a cancel left running in its thread.
        if args.json:
            recorded = started.settings if started is not None else {}
            print(json.dumps(results_json(run_id, finished, recorded), ensure_ascii=False, indent=1), flush=True)
        else:
            print_table(finished, args.top, run_id, started.settings if started is not None else {})
        if finished.status == SearchStatus.CANCELLED and library is not None:
            console.print(f"Interrupted: resume with `pasa search --resume {run_id}`.")
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        if library is not None:
            library.close()
        service.close()
    return 1 if finished.status == SearchStatus.FAILED else 0


def paper_json(item: RankedPaper) -> dict[str, Any]:
    p = item.paper
    return {
        "id": p.id,
        "title": p.title,
        "arxiv_id": p.arxiv_id,
        "year": p.year,
        "venue": p.venue,
        "authors": list(p.authors),
        "score": item.selector_score,
        "rank_score": round(item.rank_score, 6),
        "selected": item.selected,
        "found_by": [f.label() for f in item.found_by],
    }


def results_json(run_id: int, finished: SearchFinished, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The results, and (from the run's recorded settings) whether a Selector scored them and what
    "score" and "selected" mean: null scores and no selection when no Selector was ready."""
    out: dict[str, Any] = {
        "run_id": run_id or None,
        "status": finished.status.value,
        "message": finished.message,
        "seconds": round(finished.seconds, 2),
    }
    if settings:
        out["scored"] = not unscored(settings)
        out["score_legend"] = score_legend(settings)
    out["papers"] = [paper_json(r) for r in finished.results]
    return out


def score_total(progress: Progress, score_top: object) -> int | None:
    """The progress bar's length while scoring: the papers the Selector will score, the best `score_top`
    (the run's resolved setting; again after each expansion layer), not all found. None (a bar without
    an end) while searching, or when nothing will be scored (score_top 0: no Selector)."""
    c = progress.counts
    due = papers_to_score(c.found, c.scored, score_top if isinstance(score_top, int) else None)
    return None if progress.stage == "search" or due is None else max(due, 1)


def unscored(settings: dict[str, Any]) -> bool:
    """Nothing was scored in the run (no Selector was ready, which sets score_top 0; or the user's score_top 0)."""
    return settings.get("score_top") == 0


def _query_numbers(results: tuple[RankedPaper, ...]) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for item in results:
        for how in item.found_by:
            if how.kind == "query" and how.query not in numbers:
                numbers[how.query] = len(numbers) + 1
    return numbers


def found_by_label(item: RankedPaper, numbers: dict[str, int]) -> str:
    """Compact provenance: `Q2 #4` = 4th hit of query 2; `cited: 2 Related Work`."""
    labels: list[str] = []
    for how in item.found_by:
        if how.kind == "query":
            label = f"Q{numbers.get(how.query, 0)} #{how.rank}"
        else:
            label = f"cited: {how.section or 'full text'}"
        if label not in labels:
            labels.append(label)
    shown = ", ".join(labels[:3])
    return shown + (f" +{len(labels) - 3}" if len(labels) > 3 else "")


def score_legend(settings: dict[str, Any]) -> str:
    """What the score and sel columns mean for this run (its resolved settings, as SearchStarted
    recorded them): a calibrated probability and its recorded rule, or plainly an uncalibrated score."""
    rule = settings.get("select_rule", "threshold")
    if unscored(settings):
        return ("score: none — nothing was scored in this search (no Selector was ready: see the selector notice; "
                "or score_top is 0); sel: nothing selected; the order is retrieval's")
    if rule == "top_unrejected":
        sel = f"sel: the best {settings.get('select_k', 1)} by rank"
    else:
        sel = f"sel: score > {settings.get('select_threshold', 0.5):.3g}"
        if settings.get("select_min"):
            sel += f", and at least the best {settings['select_min']} by rank"
    if settings.get("selector_calibrated"):
        return f"score: {CALIBRATED_SCORE}, calibrated on held-out training questions ({CITED_CLAUSE}); {sel}"
    return f"score: the Selector model's P(True), not calibrated (not a probability of relevance); {sel}"


def print_table(finished: SearchFinished, top: int, run_id: int, settings: dict[str, Any] | None = None) -> None:
    from rich.console import Console

    console = Console(file=sys.stdout, highlight=False, width=max(Console().width, 120))
    title = f"{len(finished.results)} papers · {finished.status.value} in {finished.seconds:.0f} s"
    if run_id:
        title += f" · run {run_id}"
    table = Table(title=title, title_justify="left", show_lines=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("sel", justify="center")
    table.add_column("title", ratio=1, overflow="fold")
    table.add_column("year")
    table.add_column("venue", max_width=14)
    table.add_column("found by", max_width=26)
    numbers = _query_numbers(finished.results)
    for i, item in enumerate(finished.results[:top], start=1):
        score = "–" if item.selector_score is None else f"{item.selector_score:.2f}"
        table.add_row(
            str(i),
            score,
            # ✗ is the Selector's "no": a paper it never scored was not judged, and is marked – like its score.
            "[green]✓[/]" if item.selected else "[dim]–[/]" if item.selector_score is None else "[dim]✗[/]",
            item.paper.title,
            str(item.paper.year or ""),
            item.paper.venue or "",
            found_by_label(item, numbers),
        )
    console.print(table)
    if settings:
        console.print(f"[dim]{score_legend(settings)}[/]")
    for query, n in numbers.items():
        console.print(f"[dim]Q{n}: {query}[/]")
    if finished.message:
        console.print(f"[dim]{finished.message}[/]")
