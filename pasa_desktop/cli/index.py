"""`pasa index build|info`: the offline paper index."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.sources.local_index import LocalIndex, build_index
from pasa_desktop.cli.progress import indexing_progress, stderr_console
from pasa_desktop.settings import load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("index", help="build or inspect the offline paper index")
    isub = p.add_subparsers(dest="index_command", metavar="ACTION")
    b = isub.add_parser("build", help="build the index from a JSON-lines corpus (.jsonl or .jsonl.gz)")
    b.add_argument("--from", dest="source", help="corpus file (default: PASA_CORPUS or the configured corpus)")
    b.add_argument("--to", dest="target", help="index file (default: <data dir>/index.sqlite)")
    b.set_defaults(handler=build)
    e = isub.add_parser("ensure", help="build the index from the configured corpus only if none exists")
    e.set_defaults(handler=ensure)
    i = isub.add_parser("info", help="where the index is and how many papers it holds")
    i.set_defaults(handler=info)
    p.set_defaults(handler=lambda _args: (p.print_help(), 2)[1])


def build(args: argparse.Namespace) -> int:
    settings = load_settings()
    source = Path(args.source) if args.source else settings.corpus_path()
    if source is None:
        raise InputError("no corpus given", hint="pass --from PATH (papers.jsonl.gz or an arXiv metadata snapshot)")
    target = Path(args.target) if args.target else settings.index_path()
    console = stderr_console()
    with indexing_progress(console) as step:
        report = build_index(source, target, progress=step)
    console.print(
        f"Indexed {report.added:,} papers into {report.path} "
        f"({report.skipped:,} unusable lines skipped, {report.duplicates:,} duplicates)."
    )
    return 0


def info(args: argparse.Namespace) -> int:
    del args
    settings = load_settings()
    index = LocalIndex(settings.index_path())
    print(f"{index.path}: {index.count():,} papers")
    if index.bm25f is not None:
        print(f"ranking: BM25F ({index.bm25f.directory})")
    else:
        print("ranking: FTS5 bm25() — the BM25F postings are missing or stale; `pasa index ensure` writes them")
    return 0


def ensure(args: argparse.Namespace) -> int:
    """First-use step of ./run.sh: quiet when an index exists, otherwise builds it with a progress bar."""
    del args
    from pasa_desktop.cli.search import ensure_index_with_progress

    settings = load_settings()
    if not settings.index_path().exists() and settings.corpus_path() is None:
        return 0
    ensure_index_with_progress(settings)
    return 0
