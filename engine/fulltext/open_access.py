"""Find and download a paper's open-access PDF: arXiv first, then where Semantic Scholar and OpenAlex say.

- an arXiv id gives `https://arxiv.org/pdf/<id>` directly (no lookup);
- Semantic Scholar's paper record names `openAccessPdf.url`; OpenAlex's work names
  `best_oa_location.pdf_url` and `open_access.oa_url` (either may be a landing page, not a PDF);
- each candidate is downloaded through the shared `HttpFetcher` (rate limits, retries, offline
  detection) and kept only when it is a PDF (its bytes start with `%PDF-`, tolerating the few bytes of
  junk readers accept) no larger than `max_bytes` (checked once downloaded: the fetcher reads whole
  answers) — a landing page or a login wall is skipped, not stored.

The answer says what was tried and why each failed, and whether nothing could be reached at all
(`offline`), so the caller can say "none found" and "offline" apart. Pure engine code: no Qt, no
database; the library attaches the bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import SourceError, SourceOffline
from engine.papers import Paper, find_doi, strip_arxiv_version
from engine.sources.http import HttpFetcher
from engine.sources.openalex import OpenAlexSource
from engine.sources.semantic_scholar import SemanticScholarSource

ARXIV_PDF_URL = "https://arxiv.org/pdf"
ARXIV_DOI_PREFIX = "10.48550/arxiv."
MAX_PDF_BYTES = 60 * 1024 * 1024  # larger than any paper PDF; a bigger answer is not the paper
PDF_MAGIC = b"%PDF-"
_MAGIC_WINDOW = 1024  # PDF readers accept a few bytes before the header (a BOM, a stray line)
SOURCE = "open_access"


@dataclass(frozen=True, slots=True)
class PdfLocation:
    url: str
    source: str  # "arxiv", "semantic_scholar", "openalex"


@dataclass(frozen=True, slots=True)
class OpenAccessResult:
    content: bytes | None = None
    location: PdfLocation | None = None
    tried: tuple[str, ...] = ()  # one line per source or URL that gave nothing, and why
    offline: bool = False  # nothing answered: no network, or every service unreachable

    @property
    def found(self) -> bool:
        return self.content is not None

    def message(self) -> str:
        if self.location is not None and self.content is not None:
            return f"Found the open-access PDF via {_NAMES[self.location.source]} ({len(self.content):,} bytes)"
        if self.offline:
            return "Offline: could not reach arXiv, Semantic Scholar or OpenAlex to look for an open-access PDF"
        why = "; ".join(self.tried) if self.tried else "no source knows one"
        return f"No open-access PDF found ({why})"


_NAMES = {"arxiv": "arXiv", "semantic_scholar": "Semantic Scholar", "openalex": "OpenAlex"}


def is_pdf(content: bytes) -> bool:
    return PDF_MAGIC in content[:_MAGIC_WINDOW]


def s2_locations(record: Any) -> list[PdfLocation]:
    """The PDF a Semantic Scholar paper record names (`fields=openAccessPdf`)."""
    pdf = record.get("openAccessPdf") if isinstance(record, dict) else None
    url = str(pdf.get("url") or "").strip() if isinstance(pdf, dict) else ""
    return [PdfLocation(url, "semantic_scholar")] if url.startswith(("http://", "https://")) else []


def openalex_locations(work: Any) -> list[PdfLocation]:
    """The PDFs an OpenAlex work names: its best open-access location's PDF, then its open-access URL."""
    if not isinstance(work, dict):
        return []
    urls: list[str] = []
    best = work.get("best_oa_location")
    if isinstance(best, dict) and best.get("pdf_url"):
        urls.append(str(best["pdf_url"]))
    access = work.get("open_access")
    if isinstance(access, dict) and access.get("oa_url"):
        urls.append(str(access["oa_url"]))
    clean = [u.strip() for u in urls if u.strip().startswith(("http://", "https://"))]
    return [PdfLocation(u, "openalex") for u in dict.fromkeys(clean)]


@dataclass
class OpenAccessFinder:
    """Looks up and downloads open-access PDFs around one shared fetcher (sources None: not asked)."""

    fetcher: HttpFetcher
    semantic_scholar: SemanticScholarSource | None = None
    openalex: OpenAlexSource | None = None
    arxiv_pdf_url: str = ARXIV_PDF_URL
    max_bytes: int = MAX_PDF_BYTES
    _problems: list[str] = field(default_factory=list, init=False, repr=False)
    _answered: int = field(default=0, init=False, repr=False)
    _offline: int = field(default=0, init=False, repr=False)

    async def find(self, paper: Paper) -> OpenAccessResult:
        """The first candidate that really is a PDF; else what was tried and why it failed."""
        self._problems, self._answered, self._offline = [], 0, 0
        arxiv = strip_arxiv_version(paper.arxiv_id) if paper.arxiv_id else None
        doi = find_doi(paper.doi) if paper.doi else None
        if arxiv:
            location = PdfLocation(f"{self.arxiv_pdf_url.rstrip('/')}/{arxiv}", "arxiv")
            content = await self._download(location)
            if content is not None:
                return OpenAccessResult(content, location)
        if not arxiv and not doi:
            return OpenAccessResult(tried=("it has no arXiv id or DOI to look it up by; complete its metadata first",))
        # Asked together; what they said is reported in a fixed order (S2, then OpenAlex).
        s2_notes: list[str] = []
        openalex_notes: list[str] = []
        looked_up = await asyncio.gather(self._s2(arxiv, doi, s2_notes), self._openalex(arxiv, doi, openalex_notes))
        self._problems += s2_notes + openalex_notes
        seen = {f"{self.arxiv_pdf_url.rstrip('/')}/{arxiv}"} if arxiv else set()
        for location in [loc for found in looked_up for loc in found]:
            if location.url in seen:
                continue
            seen.add(location.url)
            content = await self._download(location)
            if content is not None:
                return OpenAccessResult(content, location, tuple(self._problems))
        return OpenAccessResult(
            tried=tuple(self._problems), offline=self._answered == 0 and self._offline > 0
        )

    async def _s2(self, arxiv: str | None, doi: str | None, notes: list[str]) -> list[PdfLocation]:
        if self.semantic_scholar is None:
            return []
        paper_id = f"ARXIV:{arxiv}" if arxiv else f"DOI:{doi}"
        # The source's own request (its API key, cache and rate limit); an unknown paper is None.
        request = self.semantic_scholar.get_json(
            f"/paper/{paper_id}", {"fields": "openAccessPdf,externalIds"}, missing_ok=True)
        return await self._lookup("semantic_scholar", request, s2_locations, notes)

    async def _openalex(self, arxiv: str | None, doi: str | None, notes: list[str]) -> list[PdfLocation]:
        if self.openalex is None:
            return []
        # OpenAlex files arXiv preprints under arXiv's DataCite DOI.
        key = doi or f"{ARXIV_DOI_PREFIX}{arxiv}"
        request = self.openalex.get_json(
            f"/works/doi:{key}", {"select": "id,doi,best_oa_location,open_access"}, missing_ok=True)
        return await self._lookup("openalex", request, openalex_locations, notes)

    async def _lookup(
        self, name: str, request: Any, read: Callable[[Any], list[PdfLocation]], notes: list[str]
    ) -> list[PdfLocation]:
        answer = await self._ask(name, request, notes)
        found = read(answer)
        if answer is not None and not found:
            notes.append(f"{_NAMES[name]} lists no open-access PDF")
        return found

    async def _ask(self, name: str, request: Any, notes: list[str]) -> Any:
        try:
            answer = await request
        except SourceOffline:
            self._offline += 1
            notes.append(f"{_NAMES[name]} unreachable")
            return None
        except SourceError as exc:
            self._answered += 1  # it answered, with an error
            notes.append(f"{_NAMES[name]}: {exc}")
            return None
        self._answered += 1
        if answer is None:
            notes.append(f"{_NAMES[name]} does not know the paper")
        return answer

    async def _download(self, location: PdfLocation) -> bytes | None:
        name = _NAMES[location.source]
        try:
            response = await self.fetcher.fetch(location.source, "GET", location.url, accept=frozenset({200}))
        except SourceOffline:
            self._offline += 1
            self._problems.append(f"{name}'s PDF unreachable")
            return None
        except SourceError as exc:
            self._answered += 1
            self._problems.append(f"{name}'s PDF link failed ({exc})")
            return None
        self._answered += 1
        content = response.content
        if len(content) > self.max_bytes:
            self._problems.append(f"{name}'s link gave {len(content):,} bytes, over the {self.max_bytes:,} limit")
            return None
        if not is_pdf(content):
            self._problems.append(f"{name}'s link gave a web page, not a PDF")
            return None
        return content
