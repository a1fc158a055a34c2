"""unarXive full texts (JSON lines, one paper per line): sections, citations and bibliography, offline.

Format (IllDepence/unarXive): `paper_id`, `metadata.title`, `abstract.text`, `body_text[]` paragraphs with
`section`, `sec_number`, `sec_type` ("section" / "subsection" / "subsubsection" / "") and `cite_spans[]`
(`ref_id` -> key of `bib_entries`), and `bib_entries{key: {bib_entry_raw, contained_arXiv_ids, ids}}`.
`ids` are unarXive's own links (OpenAlex, DOI, arXiv); they are kept in `BibEntry.ids` under `linked_*`
names so a resolver can choose to trust them or to measure itself without them.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.errors import FullTextError
from engine.fulltext.bibliography import parse_bib_entry
from engine.fulltext.model import BibEntry, FullText, Section
from engine.papers import Paper, find_arxiv_id

_MARKER = re.compile(r"\{\{(formula|cite|figure|table):([^}]*)\}\}")
_SPACES = re.compile(r"[ \t]+")


def _label(number: str, name: str) -> str:
    number, name = number.strip(), _SPACES.sub(" ", name).strip()
    name = _MARKER.sub("", name).strip()
    if number in ("", "-1"):
        return name
    return f"{number} {name}".strip()


def _depth(paragraph: dict[str, Any]) -> int:
    """1 for a section, 2 for a subsection, 3+ for anything deeper."""
    kind = str(paragraph.get("sec_type") or "")
    number = str(paragraph.get("sec_number") or "")
    if kind == "section":
        return 1
    if kind == "subsection":
        return 2
    if kind == "subsubsection":
        return 3
    if number and number != "-1":
        return min(3, number.count(".") + 1) if not re.fullmatch(r"\d+(?:\.0)+\.\d+", number) else 3
    return 1


class _SectionBuilder:
    """Collects paragraphs under PaSa's two-level names, merging anything deeper into its subsection."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.texts: dict[str, list[str]] = {}
        self.cites: dict[str, list[str]] = {}
        self.top_label = ""
        self.top_number = ""
        self.current = ""

    def name_for(self, paragraph: dict[str, Any]) -> str:
        name = str(paragraph.get("section") or "")
        number = str(paragraph.get("sec_number") or "")
        depth = _depth(paragraph)
        # "3.1" right after section 1: section 3 had no text of its own, so the subsection has no known
        # parent name; it stands alone rather than under the wrong section.
        orphan = depth == 2 and "." in number and number.split(".")[0] != self.top_number
        if depth == 1 or not self.top_label or orphan:
            label = _label(number, name) or "Main text"
            self.top_label, self.top_number = label, number if number not in ("", "-1") else ""
            self.current = label
        elif depth == 2:
            # Some sources number subsections relative to their section ("1" under "3"): make it "3.1".
            if number.isdigit() and self.top_number.isdigit():
                number = f"{self.top_number}.{number}"
            self.current = f"{self.top_label} {_label(number, name)}".strip()
        return self.current

    def add(self, name: str, text: str, cites: list[str]) -> None:
        if name not in self.texts:
            self.order.append(name)
            self.texts[name] = []
            self.cites[name] = []
        self.texts[name].append(text)
        for c in cites:
            if c not in self.cites[name]:
                self.cites[name].append(c)

    def sections(self) -> tuple[Section, ...]:
        return tuple(
            Section(name=n, text="\n\n".join(self.texts[n]).strip(), cites=tuple(self.cites[n])) for n in self.order
        )


def fulltext_from_unarxive(record: dict[str, Any]) -> FullText:
    """One unarXive record to a FullText (sections with two-level names, cites per section, bibliography)."""
    paper_id = str(record.get("paper_id") or "")
    if not paper_id:
        raise FullTextError("unarXive record without paper_id")
    raw_bib = record.get("bib_entries") or {}
    bibliography: dict[str, BibEntry] = {}
    numbers: dict[str, int] = {}
    for key, item in raw_bib.items() if isinstance(raw_bib, dict) else ():
        if not isinstance(item, dict):
            continue
        raw = str(item.get("bib_entry_raw") or "").strip()
        links = item.get("ids") if isinstance(item.get("ids"), dict) else {}
        ids = {f"linked_{k}": str(v) for k, v in (links or {}).items() if v}
        bibliography[str(key)] = parse_bib_entry(str(key), raw, ids=ids)
        numbers[str(key)] = len(numbers) + 1

    builder = _SectionBuilder()
    for paragraph in record.get("body_text") or []:
        if not isinstance(paragraph, dict):
            continue
        name = builder.name_for(paragraph)
        cites = [
            str(span.get("ref_id"))
            for span in paragraph.get("cite_spans") or []
            if isinstance(span, dict) and str(span.get("ref_id")) in bibliography
        ]

        def marker(match: re.Match[str]) -> str:
            kind, ref = match.group(1), match.group(2)
            if kind == "cite":
                return f"[{numbers[ref]}]" if ref in numbers else "[?]"
            return f"[{kind}]"

        builder.add(name, _MARKER.sub(marker, str(paragraph.get("text") or "")).strip(), cites)

    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    abstract = record.get("abstract") if isinstance(record.get("abstract"), dict) else {}
    return FullText(
        paper_id=f"arxiv:{paper_id}",
        title=_SPACES.sub(" ", str((metadata or {}).get("title") or "").replace("\n", " ")).strip(),
        abstract=_SPACES.sub(" ", str((abstract or {}).get("text") or "").replace("\n", " ")).strip(),
        sections=builder.sections(),
        bibliography=bibliography,
        origin="unarxive",
    )


def paper_from_unarxive(record: dict[str, Any]) -> Paper:
    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    metadata = metadata or {}
    paper_id = str(record.get("paper_id") or "")
    authors = tuple(
        a.strip() for a in str(metadata.get("authors") or "").replace(" and ", ", ").split(",") if a.strip()
    )
    abstract = record.get("abstract") if isinstance(record.get("abstract"), dict) else {}
    return Paper(
        id=f"arxiv:{paper_id}",
        title=_SPACES.sub(" ", str(metadata.get("title") or "").replace("\n", " ")).strip(),
        abstract=_SPACES.sub(" ", str((abstract or {}).get("text") or "").replace("\n", " ")).strip(),
        authors=authors,
        arxiv_id=paper_id,
        doi=str(metadata.get("doi") or "").lower() or None,
        url=f"https://arxiv.org/abs/{paper_id}",
        source="unarxive",
    )


def _iter_lines(path: Path) -> Iterator[str]:
    if path.is_dir():
        for file in sorted(path.glob("*.jsonl")):
            yield from file.read_text(encoding="utf-8").splitlines()
        return
    if path.name.endswith((".tar.gz", ".tgz", ".tar")):
        try:
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    if member.isfile() and member.name.endswith(".jsonl"):
                        handle = tar.extractfile(member)
                        if handle is not None:
                            yield from io.TextIOWrapper(handle, encoding="utf-8")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise FullTextError(f"cannot read unarXive archive {path}: {exc}") from exc
        return
    yield from path.read_text(encoding="utf-8").splitlines()


class UnarxiveFullTexts:
    """FullTextProvider over unarXive JSON lines (a .jsonl file, a folder of them, or the sample .tar.gz)."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FullTextError(f"unarXive data not found: {path}")
        self.path = path
        self._records: dict[str, dict[str, Any]] | None = None
        self._parsed: dict[str, FullText] = {}
        self._lock = threading.Lock()
        self.skipped_lines = 0

    def _load(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._records is None:
                records: dict[str, dict[str, Any]] = {}
                for line in _iter_lines(self.path):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        self.skipped_lines += 1  # a broken line loses that paper only
                        continue
                    if isinstance(record, dict) and record.get("paper_id"):
                        records[str(record["paper_id"])] = record
                self._records = records
            return self._records

    def ids(self) -> list[str]:
        return list(self._load())

    def paper(self, arxiv_id: str) -> Paper | None:
        record = self._load().get(arxiv_id)
        return paper_from_unarxive(record) if record else None

    def fulltext_sync(self, arxiv_id: str) -> FullText | None:
        if arxiv_id in self._parsed:
            return self._parsed[arxiv_id]
        record = self._load().get(arxiv_id)
        if record is None:
            return None
        parsed = fulltext_from_unarxive(record)
        self._parsed[arxiv_id] = parsed
        return parsed

    async def fulltext(self, paper: Paper) -> FullText | None:
        arxiv_id = find_arxiv_id(paper.arxiv_id or "") or find_arxiv_id(paper.id)
        if not arxiv_id:
            return None
        return await asyncio.to_thread(self.fulltext_sync, arxiv_id)
