"""RIS out and in (`TY  - GEN`/`JOUR`/`CPAPER` … `ER  - `), the format reference managers all read.

Fields are single lines: line breaks inside titles, abstracts and notes become spaces on export.
The reader is forgiving about spacing and continuation lines, strict about record boundaries:
a record without its `ER` line (a truncated file) is reported, never half-imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.papers import find_arxiv_id, find_doi
from pasa_desktop.export.record import MAX_FIELD_CHARS, Parsed, Record, Skipped, arxiv_url, is_conference

_LINE = re.compile(r"^([A-Z][A-Z0-9])  ?-(?: (.*))?$")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def ris_type(record: Record) -> str:
    if record.venue and not record.venue.lower().startswith("arxiv"):
        return "CPAPER" if is_conference(record.venue) else "JOUR"
    return "GEN"


def author_to_ris(name: str) -> str:
    """ "Ashish Vaswani" → "Vaswani, Ashish" (RIS wants family name first)."""
    if "," in name or " " not in name:
        return name
    given, family = name.rsplit(" ", 1)
    return f"{family}, {given}"


def author_from_ris(value: str) -> str:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 2 and parts[0] and parts[1]:
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and all(parts):  # Family, Given, Suffix
        return f"{parts[1]} {parts[0]} {parts[2]}"
    return _one_line(value)


def dumps(records: Iterable[Record]) -> str:
    out: list[str] = []
    for r in records:
        lines = [("TY", ris_type(r)), ("ID", r.citekey), ("TI", _one_line(r.title))]
        lines += [("AU", author_to_ris(a)) for a in r.authors]
        if r.year:
            lines.append(("PY", str(r.year)))
        if r.venue:
            lines.append(("T2", _one_line(r.venue)))
        if r.abstract:
            lines.append(("AB", _one_line(r.abstract)))
        if r.doi:
            lines.append(("DO", r.doi))
        if r.arxiv_id:
            lines.append(("AN", f"arXiv:{r.arxiv_id}"))
            if r.primary_class:
                lines.append(("M3", r.primary_class))
        url = r.url or (arxiv_url(r.arxiv_id) if r.arxiv_id else None)
        if url:
            lines.append(("UR", url))
        lines += [("KW", _one_line(t)) for t in r.tags]
        lines += [("N1", _one_line(n)) for n in r.notes if n.strip()]
        out.extend(f"{tag}  - {value}" for tag, value in lines)
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
    if url and arxiv and url == arxiv_url(arxiv):
        url = None
    doi_raw = first.get("DO", "")
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
    )


def loads(text: str) -> Parsed:
    parsed = Parsed()
    fields: list[tuple[str, str]] | None = None
    start = 0
    count = 0
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
                parsed.warnings.append(f"line {number}: {tag} outside a record (ignored)")
            else:
                fields.append((tag, value))
        elif line.strip():
            if fields is not None and fields:
                tag, value = fields[-1]
                fields[-1] = (tag, f"{value} {line.strip()}")  # a wrapped long line
            else:
                parsed.warnings.append(f"line {number}: not RIS (ignored)")
    if fields is not None:
        parsed.skipped.append(Skipped(f"record {count} (line {start})", "file ends before the record's ER line"))
    return parsed
