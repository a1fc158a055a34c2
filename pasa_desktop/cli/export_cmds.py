"""`pasa export` and `pasa import`: bibliographies out of and into the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pasa_desktop.cli.library_cmds import open_user_library
from pasa_desktop.cli.library_complete import complete_before_export
from pasa_desktop.cli.main import row_id
from pasa_desktop.cli.terminal import printable
from pasa_desktop.export import FORMATS, Selection, export, import_file
from pasa_desktop.export.exporter import select_papers
from pasa_desktop.settings import load_settings


def _export(args: argparse.Namespace) -> int:
    selection = Selection(
        run=args.run, selected_only=args.selected, collection=args.collection, tag=args.tag, paper_ids=tuple(args.paper),
        include_unkept=args.all, with_selected=load_settings().library.selected_join,
    )
    with open_user_library() as lib:
        # Citable entries first (authors, DOI, venue…) when the user let the app go online (#17).
        complete_before_export(lib, [r.id for r in select_papers(lib, selection)], force=args.complete)
        text, count = export(lib, args.format, selection, Path(args.output) if args.output != "-" else None)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        print(f"{count} entr{'y' if count == 1 else 'ies'} written to {args.output}", file=sys.stderr)
    return 0


_MERGES_SHOWN = 20


def _import(args: argparse.Namespace) -> int:
    code = 0
    with open_user_library() as lib:
        for name in args.files:
            report = import_file(lib, Path(name), args.format)
            ids = [pid for pid, _ in report.added + report.merged]
            for tag in args.tag:
                for pid in ids:
                    lib.add_tag(pid, tag)
            if args.collection and ids:
                lib.add_to_collection(lib.ensure_collection_path(args.collection), ids)
            print(printable(report.summary()))
            if report.encoding not in ("utf-8", "utf-8-sig"):
                print(f"  read as {report.encoding}")
            for warning in report.warnings:
                print(f"  warning: {printable(warning)}")
            for skipped in report.skipped:
                print(f"  skipped {printable(skipped.where)}: {printable(skipped.reason)}")
            # Every merge says why; a long list is cut here and kept whole by `pasa library duplicates`.
            shown = report.merges if args.verbose else report.merges[:_MERGES_SHOWN]
            for m in shown:
                print(f"  merged into [{m.paper_id}] {printable(m.title)}  ({m.reason})")
            if len(shown) < len(report.merges):
                print(f"  … {len(report.merges) - len(shown)} more merges (--verbose, or pasa library duplicates)")
            if args.verbose:
                for pid, title in report.added:
                    print(f"  added [{pid}] {printable(title)}")
            unbacked = report.unbacked_merges
            if args.strict and (report.skipped or unbacked):
                why = []
                if report.skipped:
                    why.append(f"{len(report.skipped)} skipped")
                if unbacked:
                    why.append(f"{len(unbacked)} merged without a shared identifier")
                print(f"  --strict: {', '.join(why)} (undo merges with pasa library unmerge)", file=sys.stderr)
                code = 1
    return code


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="write papers as BibTeX, RIS or CSL-JSON")
    p.add_argument("--format", "-f", choices=sorted(FORMATS), default="bibtex")
    p.add_argument("--run", type=row_id, help="papers of this search (best first)")
    p.add_argument("--selected", action="store_true", help="with --run: only papers the Selector selected")
    p.add_argument("--collection", help="collection id or path (includes sub-collections)")
    p.add_argument("--tag")
    p.add_argument("--paper", type=row_id, action="append", default=[], help="a paper id (repeatable)")
    p.add_argument("--all", action="store_true", help="without --run: also papers searches found that nobody kept")
    p.add_argument("--output", "-o", required=True, help="file to write, or - for standard output")
    p.add_argument(
        "--complete",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="complete metadata online first (default: when an online source is enabled in Settings)",
    )
    p.set_defaults(handler=_export)

    p = sub.add_parser("import", help="bring a .bib, .ris or CSL .json file into the library (merged, deduplicated)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=sorted(FORMATS), help="override detection by extension/content")
    p.add_argument("--verbose", "-v", action="store_true", help="list every paper added or merged")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any entry was skipped or merged without a shared identifier (DOI, arXiv id, ISBN, key)",
    )
    p.add_argument("--tag", "-t", action="append", default=[], help="tag every imported paper (repeatable)")
    p.add_argument("--collection", help="put every imported paper in this collection (created if missing)")
    p.set_defaults(handler=_import)
