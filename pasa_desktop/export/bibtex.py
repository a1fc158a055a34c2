"""BibTeX out (arXiv's own form for preprints, @article/@inproceedings with a venue) and in.

Writing and reading go through bibtexparser 2.x; field text is escaped and decoded by `latex`.
Imports report every entry they could not use (syntax errors, duplicate keys or fields, no title,
oversized fields) instead of failing the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bibtexparser import parse_string, write_string  # type: ignore[attr-defined]
from bibtexparser.library import Library as BibLibrary
from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    Field,
    ParsingFailedBlock,
)
from bibtexparser.writer import BibtexFormat

from engine.papers import find_arxiv_id, find_doi
from pasa_desktop.export import latex
from pasa_desktop.export.record import MAX_FIELD_CHARS, Parsed, Record, Skipped, arxiv_url, is_conference

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_:.+\-/]+$")


def entry_type(record: Record) -> str:
    if record.venue and not record.venue.lower().startswith("arxiv"):
        return "inproceedings" if is_conference(record.venue) else "article"
    return "misc"


def _name(author: str) -> str:
    # " and " or a comma inside one name would split it: a braced group keeps it whole.
    if " and " in f" {author.lower()} " or "," in author:
        return "{" + latex.escape(author) + "}"
    return latex.escape(author)


def to_entry(record: Record) -> Entry:
    fields: list[tuple[str, str]] = [("title", latex.encode(record.title, protect_capitals=True))]
    if record.authors:
        fields.append(("author", " and ".join(_name(a) for a in record.authors)))
    kind = entry_type(record)
    if kind == "inproceedings":
        fields.append(("booktitle", latex.encode(record.venue or "", protect_capitals=True)))
    elif kind == "article":
        fields.append(("journal", latex.encode(record.venue or "", protect_capitals=True)))
    if record.year:
        fields.append(("year", str(record.year)))
    if record.arxiv_id:
        fields += [("eprint", latex.escape(record.arxiv_id)), ("archivePrefix", "arXiv")]
        if record.primary_class:
            fields.append(("primaryClass", latex.escape(record.primary_class)))
    if record.doi:
        fields.append(("doi", latex.escape(record.doi)))
    url = record.url or (arxiv_url(record.arxiv_id) if record.arxiv_id else None)
    if url:
        # URLs are verbatim in biblatex/hyperref: only braces and backslashes would break the field.
        fields.append(("url", url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")))
    if record.abstract:
        fields.append(("abstract", latex.encode(record.abstract)))
    if record.tags:
        fields.append(("keywords", latex.escape(", ".join(record.tags))))
    if record.notes:
        fields.append(("annote", latex.encode("\n\n".join(record.notes))))
    return Entry(kind, record.citekey, [Field(k, "{" + v + "}") for k, v in fields])


def dumps(records: Iterable[Record]) -> str:
    library = BibLibrary([to_entry(r) for r in records])
    fmt = BibtexFormat()  # type: ignore[no-untyped-call]
    fmt.indent = "  "
    fmt.block_separator = "\n\n"
    text: str = write_string(library, unparse_stack=[], bibtex_format=fmt)
    return text.strip() + "\n" if text.strip() else ""


_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COMMA = re.compile(",")


def _split_top_level(value: str, separator: re.Pattern[str]) -> list[str]:
    """Split where `separator` matches outside braces (escaped braces `\\{` do not count)."""
    parts: list[str] = []
    depth = start = i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            m = separator.match(value, i)
            if m:
                parts.append(value[start:i])
                i = start = m.end()
                continue
        i += 1
    parts.append(value[start:])
    return parts


def _split_authors(value: str) -> list[str]:
    """Split on " and " outside braces; "Last, First" becomes "First Last"."""
    out = []
    for raw in _split_top_level(value, _AND):
        raw = raw.strip()
        if not raw:
            continue
        # Commas inside braces ("{Smith, Jr.}") belong to the name.
        parts = [p.strip() for p in _split_top_level(raw, _COMMA)]
        if len(parts) == 2:  # Last, First
            raw = f"{parts[1]} {parts[0]}"
        elif len(parts) == 3:  # Last, Jr, First
            raw = f"{parts[2]} {parts[0]} {parts[1]}"
        out.append(" ".join(latex.decode(raw).split()))
    return [n for n in out if n and n.lower() != "others"]


def _year(value: str) -> int | None:
    m = re.search(r"\b(1[5-9]\d\d|2\d\d\d)\b", value)
    return int(m.group(1)) if m else None


def from_entry(entry: Entry) -> Record | str:
    """A Record, or the reason this entry cannot be imported."""
    fields = {f.key.lower(): f.value for f in entry.fields}
    for key, value in fields.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return f"field {key!r} is too large ({len(value):,} characters)"
    raw = {k: v if isinstance(v, str) else str(v) for k, v in fields.items()}
    title = " ".join(latex.decode(raw.get("title", "")).split())
    if not title:
        return "no title"
    prefix = raw.get("archiveprefix", raw.get("eprinttype", "")).lower()
    arxiv = None
    if raw.get("eprint") and (prefix in ("arxiv", "") or "arxiv" in prefix):
        arxiv = find_arxiv_id(latex.decode(raw["eprint"]))
    venue_raw = raw.get("journal") or raw.get("booktitle") or raw.get("journaltitle") or ""
    venue = " ".join(latex.decode(venue_raw).split()) or None
    if arxiv is None:
        arxiv = (
            find_arxiv_id(" ".join([venue or "", raw.get("url", ""), raw.get("note", "")]))
            if ("arxiv" in (venue or "").lower() or "arxiv" in raw.get("url", "").lower())
            else None
        )
    doi_raw = latex.decode(raw.get("doi", ""))
    doi = find_doi(doi_raw) or (doi_raw.strip().lower() or None)
    year = _year(raw.get("year", "") or raw.get("date", ""))
    url = raw.get("url", "").strip() or None
    if url and arxiv and url == arxiv_url(arxiv):
        url = None  # written by us from the id; not a separate fact
    keywords = latex.decode(raw.get("keywords", ""))
    tags = tuple(t.strip() for t in re.split(r"[,;]", keywords) if t.strip())
    notes_text = latex.decode(raw.get("annote", "") or raw.get("annotation", ""))
    notes = tuple(n for n in notes_text.split("\n\n") if n.strip())
    return Record(
        citekey=entry.key if _SAFE_KEY.match(entry.key or "") else "",
        title=title,
        authors=tuple(_split_authors(raw.get("author", ""))),
        year=year,
        venue=venue if venue and not (arxiv and venue.lower().startswith("arxiv")) else None,
        arxiv_id=arxiv,
        doi=doi,
        url=url,
        abstract=latex.decode(raw.get("abstract", "")).strip(),
        tags=tags,
        notes=notes,
        primary_class=latex.decode(raw["primaryclass"]) if raw.get("primaryclass") else None,
    )


def loads(text: str) -> Parsed:
    library = parse_string(text)
    parsed = Parsed()
    for block in library.failed_blocks:
        line = (getattr(block, "start_line", 0) or 0) + 1
        if isinstance(block, DuplicateBlockKeyBlock):
            parsed.skipped.append(Skipped(f"entry {block.key!r} (line {line})", "duplicate citation key"))
        elif isinstance(block, DuplicateFieldKeyBlock):
            key = getattr(block.ignore_error_block, "key", "?")
            fields = ", ".join(sorted(getattr(block, "_duplicate_keys", ()) or ())) or "?"
            parsed.skipped.append(Skipped(f"entry {key!r} (line {line})", f"duplicate field: {fields}"))
        elif isinstance(block, ParsingFailedBlock):
            reason = "syntax error (unbalanced braces or quotes, or a missing comma)"
            parsed.skipped.append(Skipped(f"block at line {line}", reason))
    for entry in library.entries:
        result = from_entry(entry)
        where = f"entry {entry.key!r} (line {(entry.start_line or 0) + 1})"
        if isinstance(result, str):
            parsed.skipped.append(Skipped(where, result))
        else:
            parsed.records.append(result)
    return parsed
