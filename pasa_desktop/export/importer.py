"""Bibliography files → the library, with a report of what was added, merged and skipped (and why).

The whole file goes in one transaction: a file that fails halfway leaves the library untouched.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InputError
from pasa_desktop.export import bibtex, csljson, ris
from pasa_desktop.export.record import Parsed, Skipped
from pasa_desktop.library import Library, NewEntry

MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Merged:
    """An entry folded into a paper already in the library (or earlier in the same file), and why."""

    paper_id: int
    title: str
    basis: str  # "arxiv", "doi", "isbn", "citekey", "record": an identifier; "title": metadata only
    reason: str

    @property
    def by_identifier(self) -> bool:
        return self.basis != "title"


@dataclass
class ImportReport:
    path: Path
    format: str
    encoding: str
    added: list[tuple[int, str]] = field(default_factory=list)  # (paper id, title)
    merged: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    merges: list[Merged] = field(default_factory=list)  # `merged` with the reason for each

    def summary(self) -> str:
        return (
            f"{self.path.name}: {len(self.added)} added, {len(self.merged)} merged with papers already in the "
            f"library, {len(self.skipped)} skipped"
        )

    @property
    def unbacked_merges(self) -> list[Merged]:
        """Merges no identifier supports (same title, year and first author only): `--strict` refuses them."""
        return [m for m in self.merges if not m.by_identifier]


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Text, the encoding used, and warnings. UTF-8 (with or without BOM) and UTF-16 with a BOM are
    exact; anything else is read as Windows-1252 (Latin-1 superset) and said so."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig", []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16", []
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        warning = f"not valid UTF-8 (byte {exc.start}); read as Windows-1252 — check accented names"
        try:
            return data.decode("cp1252"), "cp1252", [warning]
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1", [warning.replace("Windows-1252", "Latin-1")]


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".bib", ".bibtex"):
        return "bibtex"
    if suffix in (".ris", ".txt") and "TY  -" in text[:10_000]:
        return "ris"
    if suffix == ".ris":
        return "ris"
    if suffix in (".json", ".csljson"):
        return "csljson"
    head = text.lstrip()[:1]
    if head in ("[", "{") and suffix != ".bib":
        return "csljson"
    if "TY  -" in text[:10_000]:
        return "ris"
    if "@" in text:
        return "bibtex"
    raise InputError(f"Cannot tell the format of {path} (use .bib, .ris or .json, or pass --format)")


PARSERS = {"bibtex": bibtex.loads, "ris": ris.loads, "csljson": csljson.loads}


def parse_file(path: Path, fmt: str | None = None) -> tuple[Parsed, str, str]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No such file: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it first")
    text, encoding, warnings = decode_bytes(path.read_bytes())
    fmt = fmt or detect_format(path, text)
    if fmt not in PARSERS:
        raise InputError(f"Unknown import format {fmt!r} (choose from {', '.join(PARSERS)})")
    parsed = PARSERS[fmt](text)
    parsed.warnings[:0] = warnings
    return parsed, fmt, encoding


def import_file(library: Library, path: Path, fmt: str | None = None) -> ImportReport:
    parsed, fmt, encoding = parse_file(path, fmt)
    report = ImportReport(Path(path), fmt, encoding, skipped=list(parsed.skipped), warnings=list(parsed.warnings))
    source = f"import:{Path(path).name}"
    entries = [
        NewEntry(paper=r.to_paper(source), citekey=r.citekey or None, tags=r.tags, notes=r.notes)
        for r in parsed.records
    ]
    results = library.add_entries(entries)
    for record, result in zip(parsed.records, results, strict=True):
        if result.created:
            report.added.append((result.paper_id, record.title))
        else:
            report.merged.append((result.paper_id, record.title))
            report.merges.append(Merged(result.paper_id, record.title, result.basis or "", result.reason))
    return report
