"""Google search through serper.dev, restricted to arXiv (`site:arxiv.org`) and a date (`before:`).

Google's snippets are not abstracts, so when an arXiv source is given the hits are completed with the
arXiv API's records (one batched `id_list` request), as PaSa's own pipeline does.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from engine.errors import SourceError
from engine.papers import Paper
from engine.sources.base import TitleMatcher
from engine.sources.http import HttpFetcher
from engine.sources.keys import KeyLookup, no_keys

API_URL = "https://google.serper.dev/search"
_ARXIV_LINK = re.compile(r"arxiv\.org/(?:abs|pdf|html)/(\d{4}\.\d{4,5})")
_TITLE_NOISE = re.compile(r"^\s*\[\d{4}\.\d{4,5}(?:v\d+)?\]\s*|\s*[-|]\s*arXiv(?:\.org)?\s*$", re.IGNORECASE)


def google_query(query: str, before: date | None) -> str:
    q = f"{query} site:arxiv.org"
    return f"{q} before:{before.isoformat()}" if before is not None else q


def papers_from_serper(payload: Any, source: str = "serper") -> list[Paper]:
    if not isinstance(payload, dict) or not isinstance(payload.get("organic", []), list):
        raise SourceError(source, "unexpected response shape (expected {'organic': [...]})")
    papers: list[Paper] = []
    seen: set[str] = set()
    for hit in payload.get("organic", []):
        if not isinstance(hit, dict):
            continue
        match = _ARXIV_LINK.search(str(hit.get("link") or ""))
        if not match or match.group(1) in seen:
            continue
        arxiv_id = match.group(1)
        seen.add(arxiv_id)
        title = _TITLE_NOISE.sub("", str(hit.get("title") or "")).strip()
        papers.append(
            Paper(
                id=f"arxiv:{arxiv_id}",
                title=title or arxiv_id,
                abstract=str(hit.get("snippet") or ""),
                arxiv_id=arxiv_id,
                url=f"https://arxiv.org/abs/{arxiv_id}",
                source="serper",
            )
        )
    return papers


class SerperSource:
    """PaperSource: Google results on arxiv.org, optionally completed by an arXiv look-up."""

    name = "serper"

    def __init__(
        self,
        fetcher: HttpFetcher,
        *,
        keys: KeyLookup = no_keys,
        enrich: TitleMatcher | None = None,
        api_url: str = API_URL,
        cache_ttl_s: float = 7 * 86400,
    ) -> None:
        self.fetcher = fetcher
        self.keys = keys
        self.enrich = enrich
        self.api_url = api_url
        self.cache_ttl_s = cache_ttl_s

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        key = self.keys("serper")
        if not key:
            raise SourceError(
                self.name,
                "no API key",
                hint="set SERPER_API_KEY or store it in the OS keyring (pasa-desktop/serper)",
            )
        payload = await self.fetcher.post_json(
            self.name,
            self.api_url,
            {"q": google_query(query, before), "num": max(1, min(limit, 100))},
            headers={"X-API-KEY": key},
            cache_ns="serper",
            cache_ttl_s=self.cache_ttl_s,
        )
        papers = papers_from_serper(payload, self.name)[:limit]
        if self.enrich is None or not papers:
            return papers
        try:
            full = {
                p.arxiv_id: p for p in await self.enrich.by_ids([p.arxiv_id for p in papers if p.arxiv_id])
            }
        except SourceError:
            return papers  # snippets are still useful hits when arXiv cannot be reached
        return [full[p.arxiv_id].with_updates(source=self.name) if p.arxiv_id in full else p for p in papers]
