"""PDF full texts through pymupdf: sections from the outline or numbered headings, a numeric bibliography,
and `[n]` citations mapped to it.

Bounded work: at most `max_pages` pages are read (the first ones and the last ones, where the references
are) and reading stops at a deadline, so a 300-page thesis or a pathological file cannot stall a search.
Corrupt and password-protected files raise FullTextError. Blocking: call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from engine.errors import FullTextError
from engine.fulltext.bibliography import parse_bib_entry
from engine.fulltext.model import BibEntry, FullText, Section

_NUMBERED_HEADING = re.compile(r"^((?:\d{1,2}|[A-Z])(?:\.\d{1,2})?)\.?\s+([A-Z][^\n]{2,90})$")
_PLAIN_HEADING = re.compile(
    r"^(Abstract|Introduction|Related Work|Background|Conclusions?|Discussion|Acknowledge?ments?|"
    r"References|Bibliography|Appendix)\s*$",
    re.IGNORECASE,
)
_REFERENCES = re.compile(r"^(?:\d+\.?\s+)?(References|Bibliography|Literature Cited)\s*$", re.IGNORECASE)
_BIB_START = re.compile(r"^\[(\d{1,3})\]\s*(.*)$")
_CITE_GROUP = re.compile(r"\[(\d{1,3}(?:\s*[-–,]\s*\d{1,3})*)\]")


@dataclass
class _Part:
    label: str
    level: int
    lines: list[str] = field(default_factory=list)


def _page_numbers(count: int, max_pages: int) -> list[int]:
    if count <= max_pages:
        return list(range(count))
    tail = min(20, max_pages // 3)
    return list(range(max_pages - tail)) + list(range(count - tail, count))


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    size: float
    bold: bool


def _page_lines(page: Any) -> list[_Line]:
    out: list[_Line] = []
    for block in page.get_text("dict").get("blocks", []):
        for line in block.get("lines", []):
            spans = [sp for sp in line.get("spans", []) if str(sp.get("text", "")).strip()]
            if not spans:
                continue
            text = " ".join(str(sp["text"]).strip() for sp in spans)
            size = max(float(sp.get("size", 0.0)) for sp in spans)
            # pymupdf span flag 16 = bold; a bold font name also counts (flags are not always set)
            bold = all(int(sp.get("flags", 0)) & 16 or "bold" in str(sp.get("font", "")).lower() for sp in spans)
            out.append(_Line(re.sub(r"\s+", " ", text).strip(), size, bool(bold)))
    return out


def _read_lines(data: bytes, *, max_pages: int, max_seconds: float) -> tuple[list[_Line], list[str], str, int]:
    import pymupdf  # imported here: the engine must import without pymupdf's native library loaded

    opener: Any = pymupdf.open  # untyped library: keep the Any at this one boundary
    try:
        doc: Any = opener(stream=data, filetype="pdf")
    except Exception as exc:  # pymupdf raises several types (FileDataError, RuntimeError, ValueError)
        raise FullTextError(f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from exc
    try:
        if doc.needs_pass and not doc.authenticate(""):
            raise FullTextError("the PDF is password-protected")
        if doc.page_count == 0:
            raise FullTextError("the PDF has no pages")
        toc = [str(t[1]).strip() for t in doc.get_toc(simple=True) if int(t[0]) <= 2]
        title = str((doc.metadata or {}).get("title") or "").strip()
        deadline = time.monotonic() + max_seconds
        lines: list[_Line] = []
        read = 0
        for number in _page_numbers(doc.page_count, max_pages):
            if time.monotonic() > deadline:
                break
            try:
                lines += _page_lines(doc.load_page(number))
            except Exception:  # a damaged page loses that page only
                continue
            read += 1
        return lines, toc, title, read
    finally:
        doc.close()


def _body_size(lines: list[_Line]) -> float:
    """The font size most characters are set in."""
    weight: dict[float, int] = {}
    for line in lines:
        key = round(line.size, 1)
        weight[key] = weight.get(key, 0) + len(line.text)
    return max(weight, key=lambda k: weight[k]) if weight else 0.0


def _split_parts(styled: list[_Line], toc: list[str]) -> tuple[list[_Part], list[str]]:
    """Body parts under their headings, and the lines after the References heading.

    Headings come from the PDF outline when it has one; otherwise numbered or well-known heading lines,
    which must stand out (larger or bold) whenever the document sets anything apart from its body text.
    """
    toc_keys = {re.sub(r"\W+", "", t.lower()): t for t in toc}
    body = _body_size(styled)
    emphasised = [ln.bold or ln.size >= body * 1.08 for ln in styled]
    use_style = any(emphasised)
    parts: list[_Part] = [_Part("Front matter", 1)]
    references: list[str] = []
    in_refs = False
    for styled_line, stands_out in zip(styled, emphasised, strict=True):
        line = styled_line.text
        if _REFERENCES.match(line):
            in_refs = True
            continue
        if use_style and not stands_out and key_of(line) not in toc_keys:
            (references if in_refs else parts[-1].lines).append(line)
            continue
        key = key_of(line)
        numbered = _NUMBERED_HEADING.match(line)
        heading = None
        if key and key in toc_keys:
            heading = (toc_keys[key], 2 if re.match(r"^\d+\.\d+", toc_keys[key]) else 1)
        elif numbered and not toc and len(line.split()) <= 12 and not line.endswith("."):
            heading = (f"{numbered.group(1)} {numbered.group(2)}", 2 if "." in numbered.group(1) else 1)
        elif _PLAIN_HEADING.match(line) and not toc:
            heading = (line.strip(), 1)
        if heading is not None and not heading[0].lower().startswith(("references", "bibliography")):
            if in_refs and heading[1] == 1:
                in_refs = False  # an appendix after the references
            parts.append(_Part(heading[0], heading[1]))
            continue
        (references if in_refs else parts[-1].lines).append(line)
    return parts, references


def key_of(line: str) -> str:
    return re.sub(r"\W+", "", line.lower())


def _bibliography(lines: list[str]) -> dict[str, BibEntry]:
    entries: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        start = _BIB_START.match(line)
        if start:
            current = f"ref.{int(start.group(1))}"
            entries[current] = [start.group(2)]
        elif current is not None:
            entries[current].append(line)
    if not entries:
        entries = _author_year_entries(lines)
    out: dict[str, BibEntry] = {}
    for key, parts in entries.items():
        raw = re.sub(r"-\s+(?=[a-z])", "", " ".join(parts)).strip()  # join words hyphenated across lines
        out[key] = parse_bib_entry(key, raw)
    return out


_ENTRY_START = re.compile(r"^[A-Z][A-Za-z'’\-]+(?: [A-Z][A-Za-z'’\-]+)?,\s+(?:[A-Z]\.|[A-Z][a-z]+)")
_AUTHOR_YEAR = re.compile(
    r"([A-Z][A-Za-z'’\-]+)(?:\s+et\s+al\.?|\s+(?:and|&)\s+[A-Z][A-Za-z'’\-]+)?,?\s*\(?((?:19|20)\d{2})[a-z]?\b"
)


def _author_year_entries(lines: list[str]) -> dict[str, list[str]]:
    """Unnumbered reference lists: an entry starts with "Surname, I." after a line that ended a sentence."""
    entries: dict[str, list[str]] = {}
    previous = ""
    for line in lines:
        if _ENTRY_START.match(line) and (not entries or previous.rstrip().endswith((".", ")"))):
            entries[f"ref.{len(entries) + 1}"] = [line]
        elif entries:
            entries[f"ref.{len(entries)}"].append(line)
        previous = line
    return entries


def _author_year_cites(text: str, known: dict[str, BibEntry]) -> tuple[str, ...]:
    """(Smith et al., 2020) -> the one entry whose first author is Smith and whose year is 2020."""
    found: list[str] = []
    for match in _AUTHOR_YEAR.finditer(text):
        surname, year = match.group(1), match.group(2)
        hits = [k for k, e in known.items() if e.raw[:60].startswith(surname) and year in e.raw]
        if len(hits) == 1 and hits[0] not in found:
            found.append(hits[0])
    return tuple(found)


def _cites(text: str, known: dict[str, BibEntry]) -> tuple[str, ...]:
    found: list[str] = []
    for group in _CITE_GROUP.finditer(text):
        for piece in re.split(r"\s*,\s*", group.group(1)):
            bounds = re.split(r"\s*[-–]\s*", piece)
            numbers = [int(b) for b in bounds if b.isdigit()]
            if len(numbers) == 2 and 0 < numbers[1] - numbers[0] < 30:
                numbers = list(range(numbers[0], numbers[1] + 1))
            for n in numbers:
                key = f"ref.{n}"
                if key in known and key not in found:
                    found.append(key)
    return tuple(found)


def fulltext_from_pdf(
    data: bytes, *, paper_id: str, title: str = "", max_pages: int = 80, max_seconds: float = 20.0
) -> FullText:
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise FullTextError("not a PDF (no %PDF header)")
    lines, toc, pdf_title, _read = _read_lines(data, max_pages=max_pages, max_seconds=max_seconds)
    parts, reference_lines = _split_parts(lines, toc)
    bibliography = _bibliography(reference_lines)
    numeric = any(_BIB_START.match(line) for line in reference_lines)
    sections: list[Section] = []
    top = ""
    abstract = ""
    for part in parts:
        text = re.sub(r"-\s+(?=[a-z])", "", " ".join(part.lines)).strip()
        if part.label.lower() == "abstract":
            abstract = text
            continue
        if part.level == 1:
            top = part.label
            name = part.label
        else:
            name = f"{top} {part.label}".strip()
        if text or part.level == 1:
            cites = _cites(text, bibliography) if numeric else _author_year_cites(text, bibliography)
            sections.append(Section(name=name, text=text, cites=cites))
    # The front matter (title, authors) is worth keeping only when it cites something (short papers).
    sections = [s for s in sections if (s.text or s.cites) and (s.name != "Front matter" or s.cites)]
    if not sections:
        raise FullTextError("no text could be extracted from the PDF (scanned images?)")
    return FullText(
        paper_id=paper_id,
        title=title or pdf_title,
        abstract=abstract,
        sections=tuple(sections),
        bibliography=bibliography,
        origin="pdf",
    )
