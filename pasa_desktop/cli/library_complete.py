"""`pasa library complete`: authors, DOI, URL, venue and pages from arXiv, Semantic Scholar, OpenAlex and
Crossref for library papers, with a report of every change; also what `pasa export` runs first."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from engine.errors import InputError
from pasa_desktop.cli.main import row_id
from pasa_desktop.cli.terminal import printable
from pasa_desktop.library import Library, open_library
from pasa_desktop.library.completion import (
    METADATA_SOURCES,
    CompletionReport,
    complete_library_papers,
    completed_before,
    online_enabled,
)
from pasa_desktop.settings import load_settings

_SHOWN_MESSAGES = 12
_EXPORT_BATCH = 50


def print_report(report: CompletionReport, out: TextIO, *, verbose: bool = False) -> None:
    for paper in report.papers if verbose else report.changed:
        print(f"[{paper.paper_id}] {printable(paper.title)}", file=out)
        for change in paper.changes:
            print(f"    {printable(change.describe())}", file=out)
        if verbose and not paper.changes:
            print("    (nothing to add)", file=out)
    messages = report.messages
    for message in messages[:_SHOWN_MESSAGES]:
        print(f"  note: {printable(message)}", file=out)
    if len(messages) > _SHOWN_MESSAGES:
        print(f"  … {len(messages) - _SHOWN_MESSAGES} more notes (--verbose lists each paper)", file=out)
    print(report.summary(), file=out)


def _source_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in METADATA_SOURCES]
    if unknown:
        raise InputError(f"Unknown metadata source {unknown[0]!r} (choose from {', '.join(METADATA_SOURCES)})")
    return names


def _chosen(lib: Library, args: argparse.Namespace) -> list[int]:
    if args.all:
        return sorted(r.id for r in lib.search("", limit=None))
    ids = list(args.paper)
    if args.run is not None:
        ids += [r.paper.id for r in lib.run_papers(args.run)]
    if not ids and args.run is None:
        raise InputError("Say which papers: --paper ID (repeatable), --run N or --all")
    for pid in args.paper:
        lib.paper(pid)  # "No paper N in the library" before any request is sent
    return list(dict.fromkeys(ids))


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r  {done}/{total} papers asked", end="" if done < total else "\n", file=sys.stderr)


def _complete(args: argparse.Namespace) -> int:
    settings = load_settings()
    names = () if args.offline else _source_names(args.sources)
    with open_library(settings.library_path()) as lib:
        ids = _chosen(lib, args)
        if not ids:
            print("No papers to complete.")
            return 0
        if names:
            print(f"Asking {', '.join(names)} about {len(ids)} paper{'s' if len(ids) != 1 else ''}…", file=sys.stderr)
        report = complete_library_papers(lib, settings, ids, names, dry_run=args.dry_run, progress=_progress)
    print_report(report, sys.stdout, verbose=args.verbose)
    if args.dry_run and report.changed:
        print("(dry run: nothing was written)")
    return 1 if report.unreachable else 0


def complete_before_export(lib: Library, paper_ids: Sequence[int], *, force: bool | None) -> None:
    """`pasa export`'s first step: complete the papers not completed before, when online sources are
    enabled (or `force` is True; `force` False skips it). The report goes to standard error."""
    settings = load_settings()
    if force is False or (force is None and not online_enabled(settings)):
        return
    done = completed_before(lib, list(paper_ids))
    todo = [pid for pid in paper_ids if pid not in done]
    if not todo:
        return
    print(
        f"Completing metadata of {len(todo)} paper{'s' if len(todo) != 1 else ''} first (Ctrl-C: export as is)…",
        file=sys.stderr,
    )
    # In batches, each written when done: Ctrl-C during a long first completion keeps what was found.
    report = CompletionReport(sources=METADATA_SOURCES)
    try:
        for start in range(0, len(todo), _EXPORT_BATCH):
            part = complete_library_papers(lib, settings, todo[start : start + _EXPORT_BATCH], METADATA_SOURCES)
            report.papers += part.papers
            report.applied = report.applied or part.applied
            _progress(min(start + _EXPORT_BATCH, len(todo)), len(todo))
    except KeyboardInterrupt:
        print("\ncompletion stopped; exporting what the library holds now", file=sys.stderr)
    print_report(report, sys.stderr)


def register(cmds: Any) -> None:
    p = cmds.add_parser(
        "complete",
        help="complete authors, DOI, URL, venue and pages from arXiv, Semantic Scholar, OpenAlex and Crossref",
        description="Completes library papers' metadata online: by arXiv id or DOI first, by verified title "
        "otherwise; fills blanks, never replaces what an imported file gave; names venues as cited "
        "(NeurIPS from 2018). Prints every change.",
    )
    p.add_argument("--paper", type=row_id, action="append", default=[], help="a paper id (repeatable)")
    p.add_argument("--run", type=row_id, help="the papers a search found")
    p.add_argument("--all", action="store_true", help="every paper in the library")
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument(
        "--sources",
        default=",".join(METADATA_SOURCES),
        help=f"comma-separated, in any of {', '.join(METADATA_SOURCES)} (default: all)",
    )
    p.add_argument("--offline", action="store_true", help="no network: only normalise venue names")
    p.add_argument("--verbose", "-v", action="store_true", help="list every paper, changed or not")
    p.set_defaults(handler=_complete)
