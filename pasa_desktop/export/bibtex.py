"""BibTeX out (arXiv's own form for preprints, @article/@inproceedings with a venue) and in.

Writing and reading go through bibtexparser 2.x; field text is escaped and decoded by `latex`, names
split into BibTeX's four parts by `names`. What is written is what bibtex and biber accept (the test
suite compiles fuzzed libraries through both): braces always balance, DOIs and URLs are verbatim.
Imports expand `@string` macros and `#` concatenation, repair a field closed by stray `}` (instead of
silently losing the fields after it), and report every entry they could not use (syntax errors,
duplicate keys or fields, no title, oversized fields) instead of failing the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bibtexparser import parse_string, write_string  # type: ignore[attr-defined]  # bibtexparser re-exports these without __all__
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
from pasa_desktop.export import latex, names
from pasa_desktop.export.record import MAX_FIELD_CHARS, Parsed, Record, Skipped, kind, link, own_url, pages, visible

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_:.+\-/]+$")


_TYPES = {"conference": "inproceedings", "journal": "article", "preprint": "misc"}


def entry_type(record: Record) -> str:
    return _TYPES[kind(record)]


def _name_part(text: str) -> str:
    # A word "and" inside a name would split the author list: braced, it is a word of the name.
    words = [latex.escape(w) for w in text.split()]
    return " ".join("{" + w + "}" if w.lower() == "and" else w for w in words)


def _name(author: str) -> str:
    """ "von Last, Jr, First" — the form BibTeX and biber read unambiguously."""
    n = names.parse(visible(author))
    family = " ".join(p for p in (_name_part(n.von), _name_part(n.last)) if p)
    first, jr = _name_part(n.first), _name_part(n.jr)
    if not first and not jr and len(family.split()) > 1:
        return "{" + family + "}"  # one name of several words ("Barnes and Noble"): kept as one unit
    if jr:
        # BibTeX refuses a name ending in a comma: an empty group stands for a missing given name.
        return f"{family}, {jr}, {first or '{}'}"
    return f"{family}, {first}" if first else family


def _verbatim(value: str) -> str:
    # URLs and DOIs are verbatim fields in biblatex and \url in BibTeX styles: written as they are, with
    # only what would break the .bib file (braces, backslashes) and control characters percent-encoded.
    out = []
    for ch in value:
        if ch in "{}\\" or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def to_entry(record: Record) -> Entry:
    def text(value: str, *, protect: bool = False) -> str:
        return latex.encode(visible(value, keep_newlines=True), protect_capitals=protect)

    fields: list[tuple[str, str]] = [("title", text(record.title, protect=True))]
    if record.authors:
        fields.append(("author", " and ".join(_name(a) for a in record.authors)))
    kind = entry_type(record)
    if kind == "inproceedings":
        fields.append(("booktitle", text(record.venue or "", protect=True)))
    elif kind == "article":
        fields.append(("journal", text(record.venue or "", protect=True)))
    if record.year:
        fields.append(("year", str(record.year)))
    for key, value in (("volume", record.volume), ("number", record.issue), ("publisher", record.publisher)):
        if value:
            fields.append((key, text(value)))
    if record.pages:
        fields.append(("pages", text(record.pages).replace("-", "--")))
    if record.isbn:
        fields.append(("isbn", text(record.isbn)))
    if record.arxiv_id:
        fields += [("eprint", latex.escape(record.arxiv_id)), ("archivePrefix", "arXiv")]
        if record.primary_class:
            fields.append(("primaryClass", text(record.primary_class)))
    if record.doi:
        fields.append(("doi", _verbatim(record.doi)))
    url = link(record)
    if url:
        fields.append(("url", _verbatim(url)))
    aliases = [a for a in record.aliases if _SAFE_KEY.match(a)]
    if aliases:
        # biblatex/biber: \cite{alias} finds this entry (the key a merged record had in its own file).
        fields.append(("ids", ",".join(aliases)))
    if record.abstract:
        fields.append(("abstract", text(record.abstract)))
    if record.tags:
        fields.append(("keywords", text(", ".join(record.tags))))
    if record.notes:
        fields.append(("annote", text("\n\n".join(record.notes))))
    return Entry(kind, record.citekey, [Field(k, "{" + v + "}") for k, v in fields])


def dumps(records: Iterable[Record]) -> str:
    library = BibLibrary([to_entry(r) for r in records])
    fmt = BibtexFormat()  # type: ignore[no-untyped-call]  # bibtexparser leaves BibtexFormat() unannotated
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
    """Split on " and " outside braces; each name into BibTeX's parts, stored as `names.stored` says."""
    out = []
    for raw in _split_top_level(value, _AND):
        raw = " ".join(raw.split())
        if not raw or raw.lower() == "others":
            continue
        parts = names.parse_bibtex(raw)
        decoded = names.Name(
            *(" ".join(latex.decode(p).split()) for p in (parts.first, parts.von, parts.last, parts.jr))
        )
        name = names.stored(decoded)
        if name:
            out.append(name)
    return out


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
    url = own_url(raw.get("url", "").strip(), arxiv)

    def text(key: str) -> str | None:
        return " ".join(latex.decode(raw.get(key, "")).split()) or None

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
        volume=text("volume"),
        issue=text("number") or text("issue"),
        pages=pages(latex.decode(raw.get("pages", ""))),
        publisher=text("publisher"),
        isbn=text("isbn"),
    )


_ENTRY_START = re.compile(r"@\s*([A-Za-z]+)\s*\{")
_NEXT_FIELD = re.compile(r"\s*,\s*[A-Za-z][\w\-:.]*\s*=")


def repair_stray_braces(text: str) -> tuple[str, list[str]]:
    """Drop a `}` that would close an entry while a `, field =` follows it.

    `title = {Ends badly}}}, author = {…}` closes the entry after the title for every parser, and the
    author and year that follow are lost without a word. The extra braces belong to the title's text:
    dropping them keeps the entry whole, and the warning names it.
    """
    out: list[str] = []
    warnings: list[str] = []
    pos = 0
    for match in _ENTRY_START.finditer(text):
        if match.start() < pos or match.group(1).lower() in ("comment", "preamble"):
            continue
        depth, i, dropped = 1, match.end(), 0
        while i < len(text) and depth > 0:
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                run_end = i
                while depth == 0 and run_end < len(text) and text[run_end] == "}":
                    run_end += 1
                if depth == 0 and _NEXT_FIELD.match(text, run_end):
                    depth, dropped = 1, dropped + run_end - i
                    out.append(text[pos:i])
                    pos = i = run_end
                    continue
            elif ch == "@" and depth == 1 and text[i - 1] in "\n\r":
                break  # a new entry begins: this one was never closed (the parser reports it)
            i += 1
        if dropped:
            line = text.count("\n", 0, match.start()) + 1
            warnings.append(f"line {line}: {dropped} unbalanced '}}' dropped so the entry keeps its fields")
    out.append(text[pos:])
    return "".join(out), warnings


_MONTHS = {m: str(i) for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


def _concat_pieces(value: str) -> list[str]:
    return [p.strip() for p in _split_top_level(value, re.compile(r"#")) if p.strip()]


def expand(value: str, macros: dict[str, str]) -> tuple[str, list[str]]:
    """A raw BibTeX value (`{…}`, `"…"`, a number, a macro, or `a # "b"`) → its text, and unknown macro names."""
    out: list[str] = []
    unknown: list[str] = []
    for piece in _concat_pieces(value):
        if piece[0] == "{" and piece[-1] == "}":
            out.append(piece[1:-1])
        elif piece[0] == '"' and piece[-1] == '"' and len(piece) > 1:
            out.append(piece[1:-1])
        elif piece.isdigit():
            out.append(piece)
        elif piece.lower() in macros:
            out.append(macros[piece.lower()])
        elif piece.lower() in _MONTHS:
            out.append(_MONTHS[piece.lower()])
        else:
            unknown.append(piece)
            out.append(piece)
    return "".join(out), unknown


def loads(text: str) -> Parsed:
    text, repaired = repair_stray_braces(text)
    # No middleware: values come raw (with their braces or quotes), so macros and `#` are expanded here.
    library = parse_string(text, parse_stack=[])
    parsed = Parsed(warnings=repaired)
    macros: dict[str, str] = {}
    for string in library.strings:
        macros[string.key.lower()] = expand(str(string.value), macros)[0]
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
        where = f"entry {entry.key!r} (line {(entry.start_line or 0) + 1})"
        for f in entry.fields:
            value, unknown = expand(str(f.value), macros)
            if unknown:
                parsed.warnings.append(
                    f"{where}: undefined @string macro {', '.join(unknown)} in {f.key} (kept as text)"
                )
            f.value = value
        result = from_entry(entry)
        if isinstance(result, str):
            parsed.skipped.append(Skipped(where, result))
        else:
            parsed.records.append(result)
    return parsed
