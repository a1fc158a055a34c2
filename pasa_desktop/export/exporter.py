"""Library papers → BibTeX / RIS / CSL-JSON text, for a run, a collection, a tag, or chosen papers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from pasa_desktop.export import bibtex, csljson, ris
from pasa_desktop.export.record import Record
from pasa_desktop.library import Library, PaperRow

FORMATS = {"bibtex": bibtex.dumps, "ris": ris.dumps, "csljson": csljson.dumps}
EXTENSIONS = {"bibtex": ".bib", "ris": ".ris", "csljson": ".json"}


@dataclass(frozen=True, slots=True)
class Selection:
    """Which papers to export; with nothing set, the whole library."""

    run: int | None = None
    selected_only: bool = False  # only papers the Selector selected (in `run`, or in any run)
    collection: int | str | None = None
    tag: str | None = None
    paper_ids: tuple[int, ...] = ()


def to_record(row: PaperRow, notes: Sequence[str] = ()) -> Record:
    return Record(
        citekey=row.citekey,
        title=row.title,
        authors=row.authors,
        year=row.year,
        venue=row.venue,
        arxiv_id=row.arxiv_id,
        doi=row.doi,
        url=row.url,
        abstract=row.abstract,
        tags=row.tags,
        notes=tuple(notes),
    )


def select_papers(library: Library, selection: Selection) -> list[PaperRow]:
    if selection.paper_ids:
        return library.papers(list(selection.paper_ids))
    if selection.run is not None:
        rows = [r.paper for r in library.run_papers(selection.run, selected_only=selection.selected_only)]
        if selection.collection is not None or selection.tag is not None:
            keep = {
                p.id
                for p in library.search(
                    "", run=selection.run, collection=selection.collection, tag=selection.tag, limit=None
                )
            }
            rows = [r for r in rows if r.id in keep]
        return rows
    rows = library.search(
        "",
        collection=selection.collection,
        tag=selection.tag,
        selected=True if selection.selected_only else None,  # selected in any search
        limit=None,
    )
    return sorted(rows, key=lambda r: r.id)


def records(library: Library, selection: Selection) -> list[Record]:
    rows = select_papers(library, selection)
    notes = library.notes_by_paper([r.id for r in rows])
    return [to_record(r, notes.get(r.id, ())) for r in rows]


def render(fmt: str, recs: Sequence[Record]) -> str:
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    return FORMATS[fmt](recs)


def write_text(path: Path, text: str) -> None:
    """Write atomically: a reader (LaTeX, Zotero) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def export(library: Library, fmt: str, selection: Selection, output: Path | None = None) -> tuple[str, int]:
    """Render the selection; write it to `output` when given. Returns (text, number of entries)."""
    recs = records(library, selection)
    text = render(fmt, recs)
    if output is not None:
        write_text(output, text)
    return text, len(recs)
