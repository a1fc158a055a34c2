"""`pasa eval`: run the agent over a query file, write one JSON line per query, print PaSa's metrics
for the agent and for direct BM25 over the same index, measured in the same run."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.table import Table

from engine.errors import InputError
from engine.eval.metrics import Candidate, EvalQuery, MetricTable, load_queries, query_metrics
from engine.events import SearchFinished
from engine.sources.local_index import BASELINE_TITLE_WEIGHT
from pasa_desktop.cli.progress import stderr_console
from pasa_desktop.cli.search import ensure_index_with_progress, paper_json
from pasa_desktop.search_request import SearchRequest
from pasa_desktop.search_service import SearchService
from pasa_desktop.settings import Settings, load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("eval", help="evaluate the agent on a query file (PaSa metrics)")
    p.add_argument("--queries", required=True, help="JSON lines in AutoScholarQuery/RealScholarQuery format")
    p.add_argument("--output", required=True, help="results, one JSON line per query (appended; reruns skip done qids)")
    p.add_argument("--limit", type=int, help="only the first N queries")
    p.add_argument("--preset", choices=("quick", "standard", "thorough"))
    p.add_argument("--crawler-model")
    p.add_argument("--selector-model")
    p.add_argument("--max-seconds", type=float, help="wall-clock budget per query")
    p.set_defaults(handler=run)


def cutoff(query: EvalQuery) -> date | None:
    """PaSa's date cut-off: the query's publication date minus 7 days."""
    raw = query.published.strip()
    if len(raw) != 8 or not raw.isdigit():
        return None
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:])) - timedelta(days=7)
    except ValueError:
        return None


def request_from(args: argparse.Namespace) -> SearchRequest:
    """The options every query of the file is searched with (each adds its own date cut-off)."""
    return SearchRequest.make(
        preset=args.preset,
        max_seconds=args.max_seconds,
        crawler_profile=args.crawler_model or "",
        selector_profile=args.selector_model or "",
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1 (got {args.limit})", hint="omit it to run every query")
    base = request_from(args)
    # Sources, profiles and budgets are checked before any work (exit code 2); the question here only
    # stands in for the file's questions, which come later.
    base.model_copy(update={"query": "a question"}).plan(settings)
    ensure_index_with_progress(settings)
    return asyncio.run(_run(args, settings, base))


async def _run(args: argparse.Namespace, settings: Settings, base: SearchRequest) -> int:
    console = stderr_console()
    queries, skipped = load_queries(Path(args.queries))
    if skipped:
        console.print(f"[yellow]{skipped} unusable lines in {args.queries} skipped[/]")
    if args.limit:
        queries = queries[: args.limit]
    out_path = Path(args.output)
    done: dict[str, dict[str, Any]] = {}
    if out_path.exists():
        for line in out_path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                done[str(row["qid"])] = row
            except (ValueError, KeyError):
                continue
    service = SearchService(settings, library=None, model_loader=getattr(args, "model_loader", None))
    index = service.index()
    agent_table, bm25_table = MetricTable(), MetricTable()
    scored = False  # whether any query's papers carry a Selector score
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, cancel.set)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with out_path.open("a", encoding="utf-8") as out:
            for n, query in enumerate(queries, start=1):
                if cancel.is_set():
                    break
                row = done.get(query.qid)
                if row is None:
                    request = base.model_copy(update={"query": query.question, "before": cutoff(query)})
                    started = time.perf_counter()
                    finished: SearchFinished | None = None
                    async for _run_id, event in service.run(request, cancel=cancel):
                        if isinstance(event, SearchFinished):
                            finished = event
                    assert finished is not None
                    row = {
                        "qid": query.qid,
                        "question": query.question,
                        "status": finished.status.value,
                        "papers": [paper_json(r) for r in finished.results],
                        "crawled": len(finished.results),
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    out.flush()
                if query.has_answers:
                    scored = scored or any(p.get("score") is not None for p in row["papers"])
                    ranked = [Candidate(p["title"], p.get("arxiv_id"), bool(p["selected"])) for p in row["papers"]]
                    m = query_metrics(query, ranked)
                    agent_table.add(m)
                    hits = await asyncio.to_thread(
                        index.search_sync,
                        query.question,
                        limit=100,
                        before=cutoff(query),
                        title_weight=BASELINE_TITLE_WEIGHT,
                    )
                    bm25_table.add(query_metrics(query, [Candidate(p.title, p.arxiv_id, False) for p, _ in hits]))
                console.print(
                    f"[{n}/{len(queries)}] {query.qid}: {row['crawled']} papers in {row['seconds']} s"
                    + (f", R@50 {m['recall@50']:.2f}" if query.has_answers else "")
                )
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        service.close()
    print_metrics(agent_table, bm25_table, scored=scored)
    return 0


def print_metrics(agent: MetricTable, bm25: MetricTable, *, scored: bool = True) -> None:
    """The macro-averaged table. Without any score in any query (no Selector was ready) the agent's
    precision and recall of the selected set are "–", not a measured 0: nothing was judged."""
    from rich.console import Console

    if not agent.rows:
        print("No query with answers: results written, no metrics.")
        return
    table = Table(title=f"PaSa metrics over {len(agent.rows)} queries with answers (macro average)")
    cols = ["crawler_recall", "precision", "recall", "recall@20", "recall@50", "recall@100"]
    table.add_column("system")
    for c in cols:
        table.add_column(c, justify="right")
    a, b = agent.mean(), bm25.mean()
    unjudged = ("precision", "recall") if not scored else ()
    table.add_row("agent", *[("–" if c in unjudged else f"{a[c]:.4f}") for c in cols])
    table.add_row("BM25 baseline (FTS5, title x10)", *[("–" if c in ("precision", "recall") else f"{b[c]:.4f}") for c in cols])
    Console(highlight=False).print(table)
    if not scored:
        print("Nothing was scored in any query (no Selector was ready): the selected set's precision and recall are "
              "not measured. `pasa models prepare-selector --status` says how far the default Selector is.")
