"""RIS out and in (`TY  - GEN`/`JOUR`/`CPAPER` … `ER  - `), the format reference managers all read.

Fields are single lines: line breaks inside titles, abstracts and notes become spaces on export.
The reader is forgiving about spacing and continuation lines, strict about record boundaries:
a record without its `ER` line (a truncated file) is reported, never half-imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.papers import find_arxiv_id, find_doi
from pasa_desktop.export import names
from pasa_desktop.export.record import MAX_FIELD_CHARS, Parsed, Record, Skipped, kind, link, own_url, pages, visible

_LINE = re.compile(r"^([A-Z][A-Z0-9])  ?-(?: (.*))?$")


def _one_line(text: str) -> str:
    return visible(" ".join(text.split()))


_TYPES = {"conference": "CPAPER", "journal": "JOUR", "preprint": "GEN"}


def ris_type(record: Record) -> str:
    return _TYPES[kind(record)]


def author_to_ris(name: str) -> str:
    """ "Jan van der Berg" → "van der Berg, Jan"; "Smith, Jr., John" → "Smith, John, Jr." (RIS: family name
    with its particle, given names, suffix)."""
    n = names.parse(name)
    if not n.first and not n.jr:
        return name if name.endswith(",") else n.family
    return ", ".join(p for p in (n.family, n.first, n.jr) if p) if n.first else f"{n.family}, , {n.jr}"


def author_from_ris(value: str) -> str:
    parts = [" ".join(p.split()) for p in value.split(",")]
    if len(parts) == 1:
        return names.stored(names.parse(parts[0]))
    family = names.parse(f"{parts[0]}, x") if parts[0] else names.Name()
    jr = ", ".join(p for p in parts[2:] if p)
    return names.stored(names.Name(parts[1], family.von, family.last, jr))


def dumps(records: Iterable[Record]) -> str:
    out: list[str] = []
    for r in records:
        lines = [("TY", ris_type(r)), ("ID", _one_line(r.citekey)), ("TI", _one_line(r.title))]
        lines += [("AU", _one_line(author_to_ris(a))) for a in r.authors]
        if r.year:
            lines.append(("PY", str(r.year)))
        if r.venue:
            lines.append(("T2", _one_line(r.venue)))
        for tag, value in (("VL", r.volume), ("IS", r.issue), ("PB", r.publisher), ("SN", r.isbn)):
            if value:
                lines.append((tag, _one_line(value)))
        if r.pages:
            start, _, end = r.pages.partition("-")
            lines.append(("SP", _one_line(start if end else r.pages)))
            if end:
                lines.append(("EP", _one_line(end)))
        if r.abstract:
            lines.append(("AB", _one_line(r.abstract)))
        if r.doi:
            lines.append(("DO", _one_line(r.doi)))
        if r.arxiv_id:
            lines.append(("AN", f"arXiv:{r.arxiv_id}"))
            if r.primary_class:
                lines.append(("M3", r.primary_class))
        url = link(r)
        if url:
            lines.append(("UR", _one_line(url)))
        lines += [("KW", _one_line(t)) for t in r.tags]
        lines += [("N1", _one_line(n)) for n in r.notes if n.strip()]
        out.extend(f"{tag}  - {value}" for tag, value in lines)  # ID, AU, KW and N1 values went through visible()
        out.append("ER  - ")
        out.append("")
    return "\n".join(out)


def _record(fields: list[tuple[str, str]]) -> Record | str:
    for tag, value in fields:
        if len(value) > MAX_FIELD_CHARS:
            return f"field {tag} is too large ({len(value):,} characters)"
    first: dict[str, str] = {}
    for tag, value in fields:
        first.setdefault(tag, value)
    title = _one_line(first.get("TI") or first.get("T1") or first.get("CT") or "")
    if not title:
        return "no title (TI)"
    authors = tuple(author_from_ris(v) for t, v in fields if t in ("AU", "A1") and v.strip())
    year = None
    m = re.search(r"\b(1[5-9]\d\d|2\d\d\d)\b", first.get("PY") or first.get("Y1") or first.get("DA") or "")
    if m:
        year = int(m.group(1))
    venue = _one_line(first.get("T2") or first.get("JO") or first.get("JF") or first.get("BT") or first.get("J2") or "")
    url = first.get("UR", "").strip() or None
    arxiv = find_arxiv_id(first.get("AN", "")) if "arxiv" in first.get("AN", "").lower() else None
    if arxiv is None and url and "arxiv.org" in url:
        arxiv = find_arxiv_id(url)
    url = own_url(url, arxiv)
    doi_raw = first.get("DO", "")
    start, end = first.get("SP", "").strip(), first.get("EP", "").strip()
    page_text = f"{start}-{end}" if start and end else start or end

    def text(*tags: str) -> str | None:
        return next((_one_line(first[t]) for t in tags if first.get(t, "").strip()), None)

    return Record(
        citekey=first.get("ID", "").strip(),
        title=title,
        authors=authors,
        year=year,
        venue=venue or None,
        arxiv_id=arxiv,
        doi=find_doi(doi_raw) or (doi_raw.strip().lower() or None),
        url=url,
        abstract=_one_line(first.get("AB") or first.get("N2") or ""),
        tags=tuple(_one_line(v) for t, v in fields if t == "KW" and v.strip()),
        notes=tuple(_one_line(v) for t, v in fields if t == "N1" and v.strip()),
        primary_class=first.get("M3", "").strip() or None if arxiv else None,
        volume=text("VL"),
        issue=text("IS", "CP"),
        pages=pages(page_text),
        publisher=text("PB"),
        isbn=text("SN") if _looks_like_isbn(first.get("SN", "")) else None,
    )


def _looks_like_isbn(value: str) -> bool:
    # RIS's SN holds an ISSN for journals and an ISBN for books; only the latter names one work.
    digits = re.sub(r"[^0-9Xx]", "", value)
    return len(digits) in (10, 13)


def loads(text: str) -> Parsed:
    parsed = Parsed()
    fields: list[tuple[str, str]] | None = None
    start = 0
    count = 0
    # Lines outside any record: counted, reported once (a binary file would be thousands of warnings).
    stray: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n").lstrip("\ufeff")
        m = _LINE.match(line)
        if m:
            tag, value = m.group(1), (m.group(2) or "").strip()
            if tag == "TY":
                if fields is not None:
                    parsed.skipped.append(Skipped(f"record {count} (line {start})", "no ER line before the next TY"))
                fields, start = [("TY", value)], number
                count += 1
            elif tag == "ER":
                if fields is None:
                    parsed.warnings.append(f"line {number}: ER without a TY")
                    continue
                result = _record(fields)
                if isinstance(result, str):
                    parsed.skipped.append(Skipped(f"record {count} (line {start})", result))
                else:
                    parsed.records.append(result)
                fields = None
            elif fields is None:
                stray.append(number)
            else:
                fields.append((tag, value))
        elif line.strip():
            if fields is not None and fields:
                tag, value = fields[-1]
                fields[-1] = (tag, f"{value} {line.strip()}")  # a wrapped long line
            else:
                stray.append(number)
    if fields is not None:
        parsed.skipped.append(Skipped(f"record {count} (line {start})", "file ends before the record's ER line"))
    if count == 0 and text.strip():
        parsed.skipped.append(Skipped("whole file", "not RIS: no record starts with a 'TY  - ' line"))
    elif stray:
        parsed.warnings.append(f"{len(stray):,} line(s) outside any record ignored (first at line {stray[0]})")
    return parsed
