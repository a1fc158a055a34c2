"""`pasa paper ARXIV_ID [--sections]`: one paper's sections and resolved references; `pasa cache clear|info`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.events import Notice
from engine.fulltext.model import FullText, FullTextProvider
from engine.papers import Paper, find_arxiv_id
from engine.references import Resolution
from engine.sources.cache import DiskCache
from pasa_desktop.cli.main import integer
from pasa_desktop.search_service import default_fulltext_path
from pasa_desktop.settings import Settings, load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "paper", help="read one paper's full text: sections, bibliography and resolved references"
    )
    p.add_argument("arxiv_id", help="arXiv identifier, e.g. 2212.11790 or arXiv:2212.11790v2")
    p.add_argument("--sections", action="store_true", help="list the sections with their citations and a preview")
    p.add_argument("--offline", action="store_true", help="only local data: unarXive full texts and the index")
    p.add_argument("--fulltext", help="unarXive JSON lines or sample .tar.gz (default: PASA_FULLTEXT / settings)")
    p.add_argument(
        "--sources",
        default="semantic_scholar,openalex",
        help="online sources for full texts and reference matching (comma-separated; arxiv is slow: 1 req/3 s)",
    )
    p.add_argument("--limit", type=integer(0, what="--limit"), default=60, help="resolve at most this many references (cited first)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=show_paper)

    c: argparse.ArgumentParser = sub.add_parser("cache", help="the on-disk cache of HTTP responses and full texts")
    csub = c.add_subparsers(dest="cache_command", metavar="ACTION")
    csub.add_parser("clear", help="delete every cached response and parsed full text").set_defaults(handler=clear_cache)
    csub.add_parser("info", help="where the cache is and what it holds").set_defaults(handler=cache_info)
    c.set_defaults(handler=lambda _args: _help(c))


def _help(parser: argparse.ArgumentParser) -> int:
    """`pasa cache` with no action: the usage, and exit code 2 as argparse uses for a missing choice."""
    parser.print_help()
    return 2


def _cache(settings: Settings) -> DiskCache:
    return DiskCache(settings.cache_path())


def clear_cache(args: argparse.Namespace) -> int:
    del args
    cache = _cache(load_settings())
    removed = cache.clear()
    cache.close()
    print(f"Removed {removed:,} cached entries from {cache.path}.")
    return 0


def cache_info(args: argparse.Namespace) -> int:
    del args
    cache = _cache(load_settings())
    stats = cache.stats()
    size = cache.path.stat().st_size if cache.path.exists() else 0
    cache.close()
    print(f"{cache.path}: {sum(stats.values()):,} entries, {size / 1e6:.1f} MB")
    for namespace, count in sorted(stats.items()):
        print(f"  {namespace}: {count:,}")
    return 0


def _offline_fulltext(settings: Settings, given: str | None) -> FullTextProvider | None:
    path = Path(given) if given else default_fulltext_path(settings)
    if path is None:
        return None
    if not path.exists():
        raise InputError(f"full-text data not found: {path}", hint="pass --fulltext PATH or set PASA_FULLTEXT")
    from engine.fulltext.unarxive import UnarxiveFullTexts

    return UnarxiveFullTexts(path)


def _notice(notice: Notice) -> None:
    print(f"[{notice.level}] {notice.source}: {notice.message}", file=sys.stderr)


def show_paper(args: argparse.Namespace) -> int:
    arxiv_id = find_arxiv_id(args.arxiv_id)
    if not arxiv_id:
        raise InputError(f"not an arXiv identifier: {args.arxiv_id!r}", hint="e.g. `pasa paper 2212.11790`")
    if args.limit < 0:
        raise InputError("--limit must be 0 or more")
    return asyncio.run(_show(args, arxiv_id))


async def _show(args: argparse.Namespace, arxiv_id: str) -> int:
    from engine.sources.local_index import LocalIndex
    from pasa_desktop.online import OnlineStack

    settings = load_settings()
    index = LocalIndex(settings.index_path()) if settings.index_path().exists() else None
    offline = _offline_fulltext(settings, args.fulltext)
    names = [] if args.offline else [n.strip() for n in args.sources.split(",") if n.strip()]
    stack = OnlineStack(settings, names, index=index, offline_fulltext=offline, notify=_notice)
    try:
        if stack.fulltext is None:
            raise InputError(
                "no full-text source", hint="pass --fulltext PATH (unarXive data) or drop --offline to fetch arXiv HTML"
            )
        paper = Paper(id=f"arxiv:{arxiv_id}", title="", arxiv_id=arxiv_id)
        ft = await stack.fulltext.fulltext(paper)
        if ft is None:
            print(f"No full text found for arXiv:{arxiv_id}.", file=sys.stderr)
            return 1
        paper = paper.with_updates(title=ft.title, abstract=ft.abstract)
        cited = ft.cited_in(ft.section_names())
        rest = [e for e in ft.bibliography.values() if e not in cited]
        entries = (cited + rest)[: args.limit]
        resolutions = await stack.resolver.resolve(paper, entries) if stack.resolver and entries else []
    finally:
        await stack.aclose()
        if index is not None:
            index.close()
    if args.json:
        print(json.dumps(_as_json(ft, resolutions), ensure_ascii=False, indent=2))
    else:
        _print_text(ft, resolutions, show_sections=args.sections, index_used=index is not None)
    return 0


def _as_json(ft: FullText, resolutions: list[Resolution]) -> dict[str, Any]:
    return {
        "paper_id": ft.paper_id,
        "title": ft.title,
        "origin": ft.origin,
        "sections": [{"name": s.name, "cites": list(s.cites), "chars": len(s.text)} for s in ft.sections],
        "references": [
            {
                "id": r.entry.id,
                "raw": r.entry.raw,
                "parsed_title": r.entry.title,
                "method": r.method,
                "confidence": r.confidence,
                "paper": r.paper.to_dict() if r.paper else None,
            }
            for r in resolutions
        ],
    }


def _print_text(ft: FullText, resolutions: list[Resolution], *, show_sections: bool, index_used: bool) -> None:
    print(f"{ft.title}  [{ft.paper_id}, from {ft.origin}]")
    print(f"{len(ft.sections)} sections, {len(ft.bibliography)} bibliography entries")
    if show_sections:
        print("\nSections (PaSa names; cites = bibliography entries cited there):")
        for section in ft.sections:
            preview = section.text[:90].replace("\n", " ")
            print(f"  {section.name}  ({len(section.cites)} cites)")
            if preview:
                print(f"      {preview}…")
    if not resolutions:
        return
    print("\nReferences (cited first):")
    for i, res in enumerate(resolutions, start=1):
        print(f"  [{i}] {res.entry.raw[:110]}")
        if res.paper is None:
            print(f"       unresolved (parsed title: {res.entry.title or '—'})")
        else:
            ident = res.paper.arxiv_id or res.paper.doi or res.paper.id
            print(f"       → {res.paper.title or '(no title)'}  [{ident}]  {res.method} {res.confidence:.2f}")
    methods = Counter(r.method for r in resolutions)
    resolved = sum(1 for r in resolutions if r.paper is not None)
    summary = ", ".join(f"{m} {n}" for m, n in methods.most_common())
    print(f"\nResolved {resolved}/{len(resolutions)} ({summary}).")
    if not index_used:
        print("No offline index found: title matching used online sources only (`pasa index build`).")
