"""`pasa history`, `pasa show RUN` and `pasa library …`: past searches and the paper library."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

from engine.errors import InputError
from pasa_desktop.cli import library_care, library_complete
from pasa_desktop.cli.main import count, integer, row_id
from pasa_desktop.cli.search import score_legend
from pasa_desktop.cli.terminal import printable
from pasa_desktop.library import Library, PaperRow, RunPaperRow, RunQueryRow, open_library
from pasa_desktop.settings import load_settings


def open_user_library() -> Library:
    """The library at the configured path (PASA_DATA_DIR moves it for tests and portable use)."""
    return open_library(load_settings().library_path())


def _short(text: str, width: int) -> str:
    text = printable(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def _authors(authors: tuple[str, ...]) -> str:
    if not authors:
        return ""
    return authors[0] + (" et al." if len(authors) > 1 else "")


def _paper_line(row: PaperRow) -> str:
    year = str(row.year) if row.year else "    "
    flag = {True: "✓", False: "✗", None: " "}[row.decision]
    authors = f"  ({_short(_authors(row.authors), 24)})" if row.authors else ""  # no empty "()" for an unknown
    return f"{row.id:>6} {flag} {year}  {_short(row.title, 70)}{authors}"


def _history(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        runs = lib.runs(limit=args.limit)
    if not runs:
        print('No searches yet. Run one with: pasa search "your research question"')
        return 0
    print(f"{'RUN':>5}  {'STATUS':<10} {'STARTED':<16} {'FOUND':>6} {'SCORED':>6} {'SEL':>5}  QUERY")
    for r in runs:
        print(
            f"{r.id:>5}  {r.status:<10} {r.started[:16].replace('T', ' '):<16} {r.found:>6} {r.scored:>6} "
            f"{r.selected:>5}  {_short(r.query, 60)}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        run = lib.run(args.run)
        papers = lib.run_papers(args.run, selected_only=args.selected)
        queries = lib.run_queries(args.run)
        progress = lib.last_progress(args.run)
        settings = lib.run_settings(args.run)
    print(f"Run {run.id}: {printable(run.query)}")
    print(
        f"  status {run.status}, started {run.started[:19].replace('T', ' ')}, {run.queries} quer{'y' if run.queries == 1 else 'ies'}, "
        f"{run.found} found, {run.scored} scored, {run.selected} selected, {run.expanded} expanded"
    )
    # The scores below mean what `pasa search` said they mean for this run (its recorded settings).
    print(textwrap.indent(textwrap.fill(score_legend(settings), 110), "  "))
    if run.message:
        print(f"  {printable(run.message)}")
    if run.status in ("running", "interrupted") and progress is not None:
        print(f"  last progress: {printable(progress.message)}")
    if run.status == "interrupted":  # its process died without recording an end (library/leases.py)
        print(f"  resume it with `pasa search --resume {run.id}`")
    if args.queries:
        for q in queries:
            hits = "…" if q.hits is None else str(q.hits)
            print(f"  [{printable(q.origin)}] {printable(q.query)}  ({hits} hits)")
    if args.tree:
        _print_tree(papers, queries)
        return 0
    shown = papers[: args.limit] if args.limit else papers
    for i, rp in enumerate(shown, start=1):
        score = "  -  " if rp.score is None else f"{rp.score:.3f}"
        mark = "*" if rp.selected else " "
        p = rp.paper
        print(f"{i:>4}. {mark}{score}  [{p.id}] {_short(p.title, 80)} ({p.year or 'n.d.'})")
        print(f"        found by {_short(rp.found_by_label, 90)}")
        if args.reasons and rp.reason:
            print(textwrap.indent(textwrap.fill(printable(rp.reason), 96), "        reason: "))
    if len(shown) < len(papers):
        print(f"  … {len(papers) - len(shown)} more (use --limit 0 for all)")
    return 0


def _print_tree(papers: list[RunPaperRow], queries: list[RunQueryRow]) -> None:
    """The crawl tree: each search query with the papers it found, each expanded paper with its citations."""
    by_query: dict[str, list[RunPaperRow]] = {}
    by_parent: dict[str, list[tuple[str, RunPaperRow]]] = {}
    for rp in papers:
        for how in rp.found_by:
            if how.kind == "query":
                by_query.setdefault(how.query, []).append(rp)
            else:
                by_parent.setdefault(how.parent_key, []).append((how.section or "full text", rp))

    def line(rp: RunPaperRow) -> str:
        score = "  -  " if rp.score is None else f"{rp.score:.2f}"
        return f"{'*' if rp.selected else ' '}{score} [{rp.paper.id}] {_short(rp.paper.title, 70)}"

    def children(rp: RunPaperRow, indent: str, seen: set[str]) -> None:
        for section, child in by_parent.get(rp.key, []):
            if child.key in seen:
                continue
            seen.add(child.key)
            print(f"{indent}└ {_short(section, 24)}: {line(child)}")
            children(child, indent + "   ", seen)

    seen: set[str] = set()
    names = [q.query for q in queries] + [q for q in by_query if q not in {x.query for x in queries}]
    for name in dict.fromkeys(names):
        found = by_query.get(name, [])
        print(f'query "{_short(name, 80)}" ({len(found)} papers)')
        for rp in found:
            first = rp.key not in seen
            seen.add(rp.key)
            print(f"   {line(rp)}")
            if first:
                children(rp, "      ", seen)


def _year_filter(value: str | None) -> int | tuple[int | None, int | None] | None:
    if not value:
        return None
    try:
        if "-" in value:
            lo, hi = value.split("-", 1)
            years = (_year(lo) if lo.strip() else None, _year(hi) if hi.strip() else None)
            if years[0] is not None and years[1] is not None and years[0] > years[1]:
                raise ValueError
            return years
        return _year(value)
    except ValueError as exc:
        raise InputError(f"--year takes YEAR or FROM-TO with years from 1 to 9999 (got {printable(value)!r})") from exc


def _year(text: str) -> int:
    year = int(text.strip(), 10)
    if not 1 <= year <= 9999:  # also keeps the number inside what SQLite can compare
        raise ValueError(text)
    return year


def _search(args: argparse.Namespace) -> int:
    # The library's papers (as the window's "All papers"); a search's own papers with --run, every paper
    # any search found with --all. Papers nobody kept are marked, so the two views never blur.
    with_selected = load_settings().library.selected_join
    library_only = not args.all and args.run is None
    with open_user_library() as lib:
        rows = lib.search(
            " ".join(args.query),
            tag=args.tag,
            collection=args.collection,
            year=_year_filter(args.year),
            run=args.run,
            selected=True if args.selected else None,
            library_only=library_only,
            with_selected=with_selected,
            limit=args.limit or None,
        )
        held = lib.in_library([r.id for r in rows], with_selected=with_selected) if not library_only else set()
    for row in rows:
        print(_paper_line(row) + ("" if library_only or row.id in held else "  [not kept: pasa library keep]"))
    where = "in the library" if library_only else "found" if args.run is None else f"found by search {args.run}"
    print(f"{len(rows)} paper(s) {where}" + ("; --all adds the papers searches found that nobody kept" * library_only))
    return 0


def _keep(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        lib.keep(args.papers, kept=not args.undo)
    n = len(set(args.papers))  # a paper named twice is kept once
    if args.undo:
        print(f"{n} paper(s) no longer marked kept (tagged, rated, accepted… papers stay in the library)")
    else:
        print(f"{n} paper(s) kept in the library")
    return 0


def _paper(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        p = lib.paper(args.paper)
        notes = lib.notes(p.id)
        files = lib.attachments(p.id)
        colls = {c.id: c.path for c in lib.collections()}
        in_colls = [colls[c] for c in lib.paper_collections(p.id) if c in colls]
    print(f"[{p.id}] {printable(p.title)}")
    authors = printable(", ".join(p.authors) or "unknown authors")
    print(f"  {authors} ({p.year or 'n.d.'}){' — ' + printable(p.venue) if p.venue else ''}")
    for label, value in (("arXiv", p.arxiv_id), ("DOI", p.doi), ("URL", p.url), ("citekey", p.citekey)):
        if value:
            print(f"  {label}: {printable(value)}")
    decision = {True: "accepted", False: "rejected", None: "undecided"}[p.decision]
    print(f"  {'read' if p.read else 'unread'}, {decision}, rating {p.rating or '-'}")
    if p.tags:
        print(f"  tags: {printable(', '.join(p.tags))}")
    if in_colls:
        print(f"  collections: {printable(', '.join(in_colls))}")
    if p.abstract:
        print(textwrap.indent(textwrap.fill(printable(p.abstract), 96), "  "))
    for n in notes:
        print(f"  note {n.id}: {printable(n.text, keep_newlines=True)}")
    for f in files:
        print(f"  file {f.id}: {printable(f.path)} ({f.size:,} bytes)")
    return 0


def _tag(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        for pid in args.papers:
            for tag in args.tag:
                (lib.remove_tag if args.remove else lib.add_tag)(pid, tag)
    return 0


def _tags(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        for t in lib.tags():
            print(f"{t.papers:>6}  {printable(t.name)}")
    return 0


def _note(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        note_id = lib.add_note(args.paper, " ".join(args.text))
    print(f"note {note_id} added")
    return 0


def _collection(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.path:
        raise InputError(f"pasa library collection {args.action} needs a collection path or id")
    if args.action in ("add", "remove") and not args.papers:
        raise InputError(f"pasa library collection {args.action} needs paper ids")
    with open_user_library() as lib:
        if args.action == "list":
            for c in lib.collections():
                print(f"{c.id:>5}  {c.papers:>6}  {printable(c.path)}")
        elif args.action == "create":
            print(f"collection {lib.ensure_collection_path(args.path)}: {args.path}")
        elif args.action == "delete":
            lib.delete_collection(args.path)
        elif args.action == "add":
            lib.add_to_collection(args.path, args.papers)
        elif args.action == "remove":
            lib.remove_from_collection(args.path, args.papers)
    return 0


def _attach(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        att = lib.attach(args.paper, Path(args.file))
        row = next(a for a in lib.attachments(args.paper) if a.id == att)
    print(f"attached {row.original_name} as {row.path}")
    return 0


def _fetch_pdf(args: argparse.Namespace) -> int:
    from pasa_desktop.library.open_access import fetch_open_access_pdf

    settings = load_settings()
    status = 0
    with open_user_library() as lib:
        for pid in args.papers:
            done = fetch_open_access_pdf(lib, settings, pid)
            print(f"[{pid}] {printable(done.message)}")
            if done.attachment_id is None:
                status = 1  # none found, or offline: a script can tell
    return status


def _mark(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        for pid in args.papers:
            if args.mark == "read":
                lib.set_read(pid, True)
            elif args.mark == "unread":
                lib.set_read(pid, False)
            elif args.mark == "accept":
                lib.set_decision(pid, True)
            elif args.mark == "reject":
                lib.set_decision(pid, False)
            elif args.mark == "undecide":
                lib.set_decision(pid, None)
    return 0


def _rate(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        lib.set_rating(args.paper, args.stars or None)
    return 0


def _duplicates(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        merges = lib.merges()
        if merges:
            print(f"{len(merges)} merge(s) (undo: pasa library unmerge RECORD):")
        for m in merges:
            print(f"  record {m.record_id} → paper {m.paper_id}: {_short(m.title, 60)}  [{_short(m.reason, 200)}]")
        pairs = lib.duplicates()
        dropped: set[int] = set()
        if pairs:
            print(f"{len(pairs)} possible duplicate pair(s), kept apart (join: pasa library merge KEEP DROP):")
        for pair in pairs:
            if {pair.keep, pair.drop} & dropped:  # `--merge` already merged one of them with an earlier pair
                continue
            a, b = lib.papers([pair.keep, pair.drop])
            print(f"  {pair.keep} ⟵ {pair.drop}: {_short(a.title, 60)} / {_short(b.title, 40)}")
            print(f"      {pair.reason}")
            if args.merge:
                record = lib.merge_papers(pair.keep, pair.drop)
                dropped.add(pair.drop)
                print(f"      merged (undo: pasa library unmerge {record})")
    if not merges and not pairs:
        print("No merged records and no possible duplicates.")
    elif args.merge and pairs:
        print(f"{len(dropped)} pair(s) merged")
    return 0


def _unmerge(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        new_id = lib.unmerge(args.record)
    print(f"record {args.record} is paper {new_id} again")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        removed = lib.delete_papers(args.papers)
    print(f"{removed} paper(s) removed from the library")
    return 0 if removed == len(set(args.papers)) else 1


def _merge(args: argparse.Namespace) -> int:
    with open_user_library() as lib:
        record = lib.merge_papers(args.keep, args.drop)
    print(f"paper {args.drop} merged into {args.keep} (undo: pasa library unmerge {record})")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("history", help="list past searches")
    p.add_argument("--limit", type=integer(1, what="--limit"), default=50, help="newest searches to list (1 or more)")
    p.set_defaults(handler=_history)

    p = sub.add_parser("show", help="show one search: its papers, scores and how each was found")
    p.add_argument("run", type=row_id, metavar="RUN")
    p.add_argument("--selected", action="store_true", help="only papers the Selector selected")
    p.add_argument("--limit", type=count, default=50, help="papers to list (0 = all)")
    p.add_argument("--queries", action="store_true", help="also list the search queries issued")
    p.add_argument("--reasons", action="store_true", help="also print the Selector's reasons")
    p.add_argument("--tree", action="store_true", help="print the crawl tree (queries → papers → citations)")
    p.set_defaults(handler=_show)

    lib = sub.add_parser("library", help="search and organise the paper library")
    cmds = lib.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    library_care.register(cmds)  # check, backup, restore
    library_complete.register(cmds)  # complete (metadata from online sources)

    p = cmds.add_parser(
        "search", aliases=["list"], help="the library's papers; full-text search (titles, abstracts, notes, PDF text)"
    )
    p.add_argument("query", nargs="*", help='words, "a phrase", or pre* (empty: newest papers)')
    p.add_argument("--tag")
    p.add_argument("--collection", help="id or path like Thesis/Chapter 2 (includes sub-collections)")
    p.add_argument("--year", help="YEAR or FROM-TO")
    p.add_argument("--run", type=row_id, help="the papers this search found (kept or not)")
    p.add_argument("--selected", action="store_true", help="only papers the Selector selected (in --run)")
    p.add_argument("--all", action="store_true", help="also papers searches found that nobody kept")
    p.add_argument("--limit", type=count, default=50, help="0 = all")
    p.set_defaults(handler=_search)

    p = cmds.add_parser("keep", help="keep papers a search found in the library (All papers)")
    p.add_argument("papers", type=row_id, nargs="+", metavar="PAPER")
    p.add_argument("--undo", action="store_true", help="take the keep mark back")
    p.set_defaults(handler=_keep)

    p = cmds.add_parser("show", help="one paper with its notes, tags and files")
    p.add_argument("paper", type=row_id)
    p.set_defaults(handler=_paper)

    p = cmds.add_parser("tag", help="add (or --remove) tags")
    p.add_argument("papers", type=row_id, nargs="+", metavar="PAPER")
    p.add_argument("--tag", "-t", action="append", required=True, help="repeatable")
    p.add_argument("--remove", action="store_true")
    p.set_defaults(handler=_tag)

    p = cmds.add_parser("tags", help="list tags")
    p.set_defaults(handler=_tags)

    p = cmds.add_parser("note", help="add a note to a paper (searchable)")
    p.add_argument("paper", type=row_id)
    p.add_argument("text", nargs="+")
    p.set_defaults(handler=_note)

    p = cmds.add_parser("collection", help="list, create, delete, add to, remove from collections")
    p.add_argument("action", choices=["list", "create", "delete", "add", "remove"])
    p.add_argument("path", nargs="?", default="", help="collection id or path (Parent/Child)")
    p.add_argument("papers", type=row_id, nargs="*", metavar="PAPER")
    p.set_defaults(handler=_collection)

    p = cmds.add_parser("attach", help="copy a PDF into the library and index its text")
    p.add_argument("paper", type=row_id)
    p.add_argument("file")
    p.set_defaults(handler=_attach)

    p = cmds.add_parser(
        "fetch-pdf", help="download the open-access PDF (arXiv, Semantic Scholar, OpenAlex), attach and index it"
    )
    p.add_argument("papers", type=row_id, nargs="+", metavar="PAPER")
    p.set_defaults(handler=_fetch_pdf)

    for mark in ("read", "unread", "accept", "reject", "undecide"):
        p = cmds.add_parser(mark, help=f"mark papers {mark}")
        p.add_argument("papers", type=row_id, nargs="+", metavar="PAPER")
        p.set_defaults(handler=_mark, mark=mark)

    p = cmds.add_parser("rate", help="rate a paper 1-5 (0 clears)")
    p.add_argument("paper", type=row_id)
    p.add_argument("stars", type=integer(0, 5, what="stars"))
    p.set_defaults(handler=_rate)

    p = cmds.add_parser(
        "duplicates", help="list merges (an import's, with why, and yours) and same-title papers kept apart (with why)"
    )
    p.add_argument("--merge", action="store_true", help="merge each possible duplicate pair into the older paper")
    p.set_defaults(handler=_duplicates)

    p = cmds.add_parser(
        "unmerge",
        help="undo a merge: the RECORD (see duplicates) is its own paper again (a paper you merged: with its"
        " notes, tags, collections, files and run links)",
    )
    p.add_argument("record", type=row_id, metavar="RECORD")
    p.set_defaults(handler=_unmerge)

    p = cmds.add_parser("delete", help="remove papers (with their notes, tags, run links and files)")
    p.add_argument("papers", type=row_id, nargs="+", metavar="PAPER")
    p.set_defaults(handler=_delete)

    p = cmds.add_parser(
        "merge", help="merge paper DROP into KEEP (runs, notes, tags, files move over; undo: library unmerge)"
    )
    p.add_argument("keep", type=row_id)
    p.add_argument("drop", type=row_id)
    p.set_defaults(handler=_merge)
