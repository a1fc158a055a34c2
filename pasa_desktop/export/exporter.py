"""Library papers → BibTeX / RIS / CSL-JSON text, for a run, a collection, a tag, or chosen papers."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from pasa_desktop.export import bibtex, csljson, ris
from pasa_desktop.export.record import DETAILS, Record
from pasa_desktop.library import Library, PaperRow

FORMATS = {"bibtex": bibtex.dumps, "ris": ris.dumps, "csljson": csljson.dumps}
EXTENSIONS = {"bibtex": ".bib", "ris": ".ris", "csljson": ".json"}


@dataclass(frozen=True, slots=True)
class Selection:
    """Which papers to export; with nothing set, what the library holds (`Library.count_library`)."""

    run: int | None = None
    selected_only: bool = False  # only papers the Selector selected (in `run`, or in any run)
    collection: int | str | None = None
    tag: str | None = None
    paper_ids: tuple[int, ...] = ()
    # Without a run or ids: also the papers searches found that nobody kept (`library list --all`).
    include_unkept: bool = False
    with_selected: bool = True  # the setting library.selected_join


def to_record(
    row: PaperRow,
    notes: Sequence[str] = (),
    details: Mapping[str, str] | None = None,
    aliases: Sequence[str] = (),
) -> Record:
    extra = {k: str(v) for k, v in (details or {}).items() if k in DETAILS and v}
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
        aliases=tuple(a for a in aliases if a != row.citekey),
        **extra,
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
        library_only=not selection.include_unkept,
        with_selected=selection.with_selected,
        limit=None,
    )
    return sorted(rows, key=lambda r: r.id)


def records(library: Library, selection: Selection) -> list[Record]:
    rows = select_papers(library, selection)
    ids = [r.id for r in rows]
    notes = library.notes_by_paper(ids)
    details = library.details_by_paper(ids)
    aliases = library.citekey_aliases(ids)
    return [to_record(r, notes.get(r.id, ()), details.get(r.id), aliases.get(r.id, ())) for r in rows]


def render(fmt: str, recs: Sequence[Record]) -> str:
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    return FORMATS[fmt](recs)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def write_text(path: Path, text: str) -> None:
    """Write atomically: a reader (LaTeX, Zotero) never sees half a file.

    The file is written beside its final place and renamed over it. A symlink is written through (its
    target gets the new text, the link stays); an existing file keeps its permissions; a directory, a
    device, a pipe or a socket is refused with InputError, as is any path the system will not let us
    write (the message says why). No temporary file is left behind, whatever fails.
    """
    shown = Path(path)
    target = Path(os.path.realpath(shown))  # through every symlink, to the file the user means
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"Cannot write {shown}: {exc.strerror or exc}") from exc
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise InputError(f"Cannot write {shown}: it is {_kind(info.st_mode)}, not a file", hint="choose a file name")
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if info is not None:
            os.chmod(tmp, stat.S_IMODE(info.st_mode))
            with contextlib.suppress(OSError):  # only root may give a file away; others keep their own
                os.chown(tmp, info.st_uid, info.st_gid)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # what a plain open() would have made (mkstemp makes 0600)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise InputError(f"Cannot write {shown}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def export(library: Library, fmt: str, selection: Selection, output: Path | None = None) -> tuple[str, int]:
    """Render the selection; write it to `output` when given. Returns (text, number of entries)."""
    recs = records(library, selection)
    text = render(fmt, recs)
    if output is not None:
        write_text(output, text)
    return text, len(recs)
