"""Full texts fetched online: arXiv HTML (LaTeXML) → ar5iv → the PDF, parsed once and cached on disk.

`ChainedFullTexts` tries several providers in order (e.g. the offline unarXive data first, then online).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from engine.errors import FullTextError, SourceError, SourceOffline
from engine.fulltext.html import fulltext_from_html
from engine.fulltext.model import BibEntry, FullText, FullTextProvider, Section
from engine.fulltext.pdf import fulltext_from_pdf
from engine.papers import Paper, find_arxiv_id
from engine.sources.cache import DiskCache
from engine.sources.http import HttpFetcher

HTML_URL = "https://arxiv.org/html/{id}"
AR5IV_URL = "https://ar5iv.labs.arxiv.org/html/{id}"
PDF_URL = "https://arxiv.org/pdf/{id}"
CACHE_NS = "fulltext"
MISSING_TTL_S = 86400.0  # "no full text" is remembered for a day, then asked again


def fulltext_to_dict(ft: FullText) -> dict[str, Any]:
    return {
        "paper_id": ft.paper_id,
        "title": ft.title,
        "abstract": ft.abstract,
        "origin": ft.origin,
        "sections": [{"name": s.name, "text": s.text, "cites": list(s.cites)} for s in ft.sections],
        "bibliography": [
            {
                "id": b.id,
                "raw": b.raw,
                "title": b.title,
                "arxiv_id": b.arxiv_id,
                "doi": b.doi,
                "year": b.year,
                "authors": list(b.authors),
                "ids": dict(b.ids),
            }
            for b in ft.bibliography.values()
        ],
    }


def fulltext_from_dict(data: dict[str, Any]) -> FullText:
    bibliography = {
        str(b["id"]): BibEntry(
            id=str(b["id"]),
            raw=str(b["raw"]),
            title=b.get("title"),
            arxiv_id=b.get("arxiv_id"),
            doi=b.get("doi"),
            year=b.get("year"),
            authors=tuple(b.get("authors") or ()),
            ids={str(k): str(v) for k, v in (b.get("ids") or {}).items()},
        )
        for b in data.get("bibliography", [])
    }
    return FullText(
        paper_id=str(data["paper_id"]),
        title=str(data.get("title") or ""),
        abstract=str(data.get("abstract") or ""),
        sections=tuple(
            Section(name=str(s["name"]), text=str(s.get("text") or ""), cites=tuple(s.get("cites") or ()))
            for s in data.get("sections", [])
        ),
        bibliography=bibliography,
        origin=str(data.get("origin") or ""),
    )


class OnlineFullTexts:
    """FullTextProvider for arXiv papers: LaTeXML HTML from arxiv.org, then ar5iv, then the PDF."""

    def __init__(
        self,
        fetcher: HttpFetcher,
        *,
        cache: DiskCache | None = None,
        html_url: str = HTML_URL,
        ar5iv_url: str = AR5IV_URL,
        pdf_url: str = PDF_URL,
        max_pdf_pages: int = 80,
        max_pdf_seconds: float = 20.0,
    ) -> None:
        self.fetcher = fetcher
        self.cache = cache if cache is not None else fetcher.cache
        self.html_url = html_url
        self.ar5iv_url = ar5iv_url
        self.pdf_url = pdf_url
        self.max_pdf_pages = max_pdf_pages
        self.max_pdf_seconds = max_pdf_seconds
        self.attempts: list[str] = []  # what the last call tried, for `pasa paper` and tests

    async def _get(self, url: str) -> tuple[int, bytes, str] | None:
        try:
            response = await self.fetcher.fetch("arxiv", "GET", url, accept=frozenset({200, 404, 410}))
        except SourceOffline:
            raise
        except SourceError as exc:
            self.attempts.append(f"{url}: {exc}")
            return None
        return response.status, response.content, response.url

    async def fulltext(self, paper: Paper) -> FullText | None:
        arxiv_id = find_arxiv_id(paper.arxiv_id or "") or find_arxiv_id(paper.id)
        if not arxiv_id:
            return None
        self.attempts = []
        if self.cache is not None:
            cached = self.cache.get_json(CACHE_NS, arxiv_id)
            if isinstance(cached, dict) and cached.get("missing"):
                fresh = self.cache.get_json(CACHE_NS, arxiv_id, max_age_s=MISSING_TTL_S)
                if fresh is not None:
                    return None
            elif isinstance(cached, dict):
                try:
                    return fulltext_from_dict(cached)
                except (KeyError, TypeError, ValueError):
                    self.cache.delete(CACHE_NS, arxiv_id)
        paper_id = f"arxiv:{arxiv_id}"
        found: FullText | None = None
        for origin, template in (("arxiv-html", self.html_url), ("ar5iv", self.ar5iv_url)):
            got = await self._get(template.format(id=arxiv_id))
            if got is None:
                continue
            status, content, final_url = got
            if status != 200:
                self.attempts.append(f"{origin}: HTTP {status}")
                continue
            if origin == "ar5iv" and "/abs/" in final_url:
                self.attempts.append("ar5iv: redirected to the abstract page (no HTML version)")
                continue
            try:
                found = await asyncio.to_thread(
                    fulltext_from_html, content.decode("utf-8", errors="replace"), paper_id=paper_id, origin=origin
                )
                break
            except FullTextError as exc:
                self.attempts.append(f"{origin}: {exc}")
        if found is None:
            got = await self._get(self.pdf_url.format(id=arxiv_id))
            if got is not None and got[0] == 200:
                try:
                    found = await asyncio.to_thread(
                        fulltext_from_pdf,
                        got[1],
                        paper_id=paper_id,
                        title=paper.title,
                        max_pages=self.max_pdf_pages,
                        max_seconds=self.max_pdf_seconds,
                    )
                except FullTextError as exc:
                    self.attempts.append(f"pdf: {exc}")
            elif got is not None:
                self.attempts.append(f"pdf: HTTP {got[0]}")
        if self.cache is not None:
            if found is not None:
                self.cache.put_json(CACHE_NS, arxiv_id, fulltext_to_dict(found))
            else:
                self.cache.put_json(CACHE_NS, arxiv_id, {"missing": True, "attempts": self.attempts})
        return found


class ChainedFullTexts:
    """The first provider that has the paper wins (e.g. offline unarXive data, then online)."""

    def __init__(self, providers: Sequence[FullTextProvider]) -> None:
        self.providers = list(providers)

    async def fulltext(self, paper: Paper) -> FullText | None:
        last_error: FullTextError | SourceError | None = None
        for provider in self.providers:
            try:
                found = await provider.fulltext(paper)
            except (FullTextError, SourceError) as exc:
                last_error = exc
                continue
            if found is not None:
                return found
        if last_error is not None:
            raise last_error
        return None
