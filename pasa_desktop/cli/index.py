"""`pasa index build|ensure|info|repair|update`: the offline paper index (engine/sources/index_lifecycle.py)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.errors import InputError
from engine.events import Notice
from engine.sources import index_lifecycle
from engine.sources.oai_pmh import DEFAULT_ENDPOINT
from pasa_desktop.cli.progress import indexing_progress, stderr_console
from pasa_desktop.offline_index import describe_update, prepare_index, update_index
from pasa_desktop.settings import Settings, load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("index", help="build, check, repair or update the offline paper index")
    isub = p.add_subparsers(dest="index_command", metavar="ACTION")
    b = isub.add_parser(
        "build",
        help="build the index from a JSON-lines corpus or arXiv's metadata snapshot (.json/.jsonl, optionally .gz)",
        description="Streams the file; an interrupted build continues where it stopped when run again.",
    )
    b.add_argument("--from", dest="source", help="corpus file (default: PASA_CORPUS or the configured corpus)")
    b.add_argument(
        "--to", dest="target",
        help="index file (default: the configured offline index, Settings → Library; else <data dir>/index.sqlite)",
    )
    b.add_argument(
        "--categories",
        help="keep only these arXiv categories, shell-style patterns: cs.*,stat.ML (snapshot rows only)",
    )
    b.add_argument("--restart", action="store_true", help="discard an interrupted build instead of continuing it")
    b.set_defaults(handler=build)
    e = isub.add_parser("ensure", help="build the index (or repair its rankings) only where needed")
    e.set_defaults(handler=ensure)
    i = isub.add_parser("info", help="where the index is, how many papers it holds, its state and last update")
    i.set_defaults(handler=info)
    r = isub.add_parser("repair", help="check the index and rewrite whatever of its rankings is missing or damaged")
    r.add_argument("--full", action="store_true", help="rewrite all the rankings even if they look whole")
    r.set_defaults(handler=repair)
    u = isub.add_parser(
        "update",
        help="add, revise and remove papers published on arXiv since the last update (OAI-PMH)",
        description="Harvests arXiv's OAI-PMH ListRecords (metadataPrefix=arXiv) since a date and applies the "
        "changes to the index and its rankings without rebuilding them.",
    )
    u.add_argument("--from", dest="since", help="YYYY-MM-DD (default: the date of the index's last update)")
    u.add_argument("--categories", help="arXiv category patterns, e.g. cs.*,stat.ML (default: the index's own)")
    u.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help=f"OAI-PMH base URL (default {DEFAULT_ENDPOINT})")
    u.set_defaults(handler=update)

    def usage(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=usage)


def _notice_printer(console: Console) -> Any:
    def show(notice: Notice) -> None:
        style = {"warning": "yellow", "error": "red"}.get(notice.level, "")
        console.print(f"[{style}]{notice.message}[/]" if style else notice.message)

    return show


def build(args: argparse.Namespace) -> int:
    settings = load_settings()
    source = Path(args.source) if args.source else settings.corpus_path()
    if source is None:
        raise InputError("no corpus given", hint="pass --from PATH (papers.jsonl.gz or an arXiv metadata snapshot)")
    target = Path(args.target) if args.target else settings.index_path()
    console = stderr_console()
    with indexing_progress(console) as step:
        report = index_lifecycle.build(
            source, target, progress=step, categories=args.categories, resume=not args.restart
        )
    resumed = f" (continued an interrupted build from byte {report.resumed_at:,})" if report.resumed_at else ""
    filtered = f", {report.filtered:,} outside the categories" if args.categories else ""
    console.print(
        f"Indexed {report.added:,} papers into {report.path}{resumed} "
        f"({report.skipped:,} unusable lines skipped, {report.duplicates:,} duplicates{filtered})."
    )
    return 0


def info(args: argparse.Namespace) -> int:
    del args
    health = index_lifecycle.check(load_settings().index_path())
    print(health.describe())
    if health.papers is not None:
        print(f"ranking: {health.ranking}")
    if health.categories:
        print(f"categories: {', '.join(health.categories)}")
    print(f"last update: {health.last_update or 'never (`pasa index update --from DATE`)'}")
    if health.partial_build:
        print("an interrupted build waits beside it: `pasa index build` continues it")
    if health.repairable:
        print("`pasa index repair` (or any search) rewrites the rankings")
    return 0 if health.ready else 1


def repair(args: argparse.Namespace) -> int:
    settings = load_settings()
    console = stderr_console()
    health = index_lifecycle.check(settings.index_path())
    if args.full and health.state in ("ready", "delta_stale", "dense_legacy", "dense_unfiltered"):
        health = index_lifecycle.IndexHealth(
            health.path, "postings_stale", "a full rewrite was asked for", health.papers
        )
    if health.state in ("missing", "broken", "foreign"):
        health = prepare_index(settings, notify=_notice_printer(console))
    else:
        health = index_lifecycle.repair(health, notify=_notice_printer(console))
    print(health.describe())
    return 0 if health.ready else 1


def ensure_with_progress(settings: Settings) -> index_lifecycle.IndexHealth | None:
    """Make the configured index ready when the offline source is enabled (build it with a progress bar,
    repair its rankings with a notice); None when the offline source is not used."""
    if "local" not in settings.sources.enabled:
        return None
    health = index_lifecycle.check(settings.index_path())
    if health.ready:  # the common case: no empty "indexing 0/?" bar before every search
        return health
    console = stderr_console()
    with indexing_progress(console) as step:
        health = prepare_index(settings, notify=_notice_printer(console), progress=step)
    if not health.ready:
        console.print(f"[yellow]{health.describe()}[/]")
    return health


def ensure(args: argparse.Namespace) -> int:
    """First-use step of ./run.sh: quiet when the index is ready, otherwise builds or repairs it."""
    del args
    settings = load_settings()
    if not settings.index_path().exists() and settings.corpus_path() is None:
        return 0
    # One check of the index (0.04-0.1 s on the full one): ensure_with_progress makes it and builds or
    # repairs only when needed; with the offline source off, the index is only looked at.
    health = ensure_with_progress(settings) or index_lifecycle.check(settings.index_path())
    if health.ready:
        _start_selector_preparation(settings)
    return 0


def _start_selector_preparation(settings: Settings) -> None:
    """First use: the default Selector trains itself in the background, niced (pasa_desktop/selector_setup.py);
    searches run meanwhile without a Selector (nothing scored or selected) and say so. Nothing when it is ready or already running.
    The caller has checked that the index is ready (the Selector learns from its search results)."""
    from pasa_desktop.selector_setup import start_background

    if start_background(settings) is not None:
        stderr_console().print(
            "Preparing the relevance Selector in the background (a few minutes; `pasa models prepare-selector "
            "--status` shows how far it is). Searches run meanwhile and say so.",
            highlight=False,
        )


def update(args: argparse.Namespace) -> int:
    settings = load_settings()
    console = stderr_console()
    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError as exc:
        raise InputError(f"--from {args.since!r} is not a date", hint="use YYYY-MM-DD") from exc

    def pages(done: int, records: int, size: int | None) -> None:
        of = f" of {size:,}" if size else ""
        console.print(f"page {done}: {records:,}{of} records", highlight=False)

    result = asyncio.run(
        update_index(
            settings,
            since=since,
            categories=args.categories,
            endpoint=args.endpoint,
            notify=_notice_printer(console),
            progress=pages,
        )
    )
    console.print(describe_update(result, settings.index_path()))
    return 0
