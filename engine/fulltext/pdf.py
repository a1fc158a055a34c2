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


def _read_lines(data: bytes, *, max_pages: int, max_seconds: float) -> tuple[list[str], list[str], str, int]:
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
        lines: list[str] = []
        read = 0
        for number in _page_numbers(doc.page_count, max_pages):
            if time.monotonic() > deadline:
                break
            try:
                text = doc.load_page(number).get_text("text")
            except Exception:  # a damaged page loses that page only
                continue
            lines += [ln.strip() for ln in str(text).splitlines() if ln.strip()]
            read += 1
        return lines, toc, title, read
    finally:
        doc.close()


def _split_parts(lines: list[str], toc: list[str]) -> tuple[list[_Part], list[str]]:
    """Body parts under their headings, and the lines after the References heading."""
    toc_keys = {re.sub(r"\W+", "", t.lower()): t for t in toc}
    parts: list[_Part] = [_Part("Front matter", 1)]
    references: list[str] = []
    in_refs = False
    for line in lines:
        if _REFERENCES.match(line):
            in_refs = True
            continue
        key = re.sub(r"\W+", "", line.lower())
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
    out: dict[str, BibEntry] = {}
    for key, parts in entries.items():
        raw = re.sub(r"-\s+(?=[a-z])", "", " ".join(parts)).strip()  # join words hyphenated across lines
        out[key] = parse_bib_entry(key, raw)
    return out


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
            sections.append(Section(name=name, text=text, cites=_cites(text, bibliography)))
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
