"""Semantic Scholar Graph API: search, title match, references with citing contexts, batch look-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from engine.errors import SourceError
from engine.papers import Paper, find_arxiv_id
from engine.sources.base import CitedReference
from engine.sources.http import HttpFetcher
from engine.sources.keys import KeyLookup, no_keys
from engine.sources.title_match import title_similarity

API_URL = "https://api.semanticscholar.org/graph/v1"
PAPER_FIELDS = "title,abstract,authors,year,venue,externalIds,publicationDate,url"
REFERENCE_FIELDS = "contexts,intents,isInfluential,title,abstract,authors,year,venue,externalIds"
BATCH_LIMIT = 500


def paper_from_s2(data: dict[str, Any]) -> Paper | None:
    """A Paper from a Semantic Scholar paper object; None when it has no title (S2 returns such stubs)."""
    title = str(data.get("title") or "").strip()
    if not title:
        return None
    ext = data.get("externalIds") or {}
    if not isinstance(ext, dict):
        ext = {}
    arxiv_id = find_arxiv_id(str(ext.get("ArXiv") or "")) if ext.get("ArXiv") else None
    doi = str(ext.get("DOI") or "").lower() or None
    s2_id = str(data.get("paperId") or "")
    authors = tuple(
        str(a.get("name")) for a in (data.get("authors") or []) if isinstance(a, dict) and a.get("name")
    )
    year = data.get("year")
    external = {"s2": s2_id} if s2_id else {}
    if data.get("publicationDate"):
        external["published"] = str(data["publicationDate"])
    return Paper(
        id=f"s2:{s2_id}" if s2_id else f"s2title:{title}",
        title=title,
        abstract=str(data.get("abstract") or ""),
        authors=authors,
        year=int(year) if isinstance(year, int) else None,
        venue=str(data.get("venue") or "") or None,
        arxiv_id=arxiv_id,
        doi=doi,
        url=str(data.get("url") or "") or None,
        source="semantic_scholar",
        external_ids=external,
    )


def s2_paper_id(paper: Paper) -> str | None:
    """The id Semantic Scholar accepts for a paper: its own id, else ARXIV:, else DOI:."""
    if paper.external_ids.get("s2"):
        return paper.external_ids["s2"]
    if paper.arxiv_id:
        return f"ARXIV:{find_arxiv_id(paper.arxiv_id) or paper.arxiv_id}"
    if paper.doi:
        return f"DOI:{paper.doi}"
    return None


def _data_list(payload: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(payload, dict):
        raise SourceError(source, "unexpected response shape (expected an object)")
    data = payload.get("data") or []
    if not isinstance(data, list):
        raise SourceError(source, "unexpected response shape ('data' is not a list)")
    return [d for d in data if isinstance(d, dict)]


class SemanticScholarSource:
    """PaperSource + TitleMatcher + ReferenceSource over the Semantic Scholar Graph API."""

    name = "semantic_scholar"

    def __init__(
        self,
        fetcher: HttpFetcher,
        *,
        keys: KeyLookup = no_keys,
        api_url: str = API_URL,
        cache_ttl_s: float = 7 * 86400,
    ) -> None:
        self.fetcher = fetcher
        self.keys = keys
        self.api_url = api_url.rstrip("/")
        self.cache_ttl_s = cache_ttl_s

    def _headers(self) -> dict[str, str]:
        key = self.keys("semantic_scholar")
        return {"x-api-key": key} if key else {}

    async def get_json(self, path: str, params: dict[str, Any], *, missing_ok: bool = False) -> Any:
        """GET `path` as JSON; with `missing_ok` a 404 is None (no match, an unknown paper), not an error."""
        get = self.fetcher.lookup_json if missing_ok else self.fetcher.get_json
        return await get(
            self.name,
            f"{self.api_url}{path}",
            params=params,
            headers=self._headers(),
            cache_ns="semantic_scholar",
            cache_ttl_s=self.cache_ttl_s,
        )

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        params: dict[str, Any] = {"query": query, "limit": max(1, min(limit, 100)), "fields": PAPER_FIELDS}
        if before is not None:
            params["publicationDateOrYear"] = f":{before.isoformat()}"
        payload = await self.get_json("/paper/search", params)
        papers = [paper_from_s2(d) for d in _data_list(payload, self.name)]
        return [p for p in papers if p is not None]

    async def match_title(self, title: str) -> Paper | None:
        # 404 means "Title match not found": an answer, not an error.
        payload = await self.get_json(
            "/paper/search/match", {"query": title, "fields": PAPER_FIELDS}, missing_ok=True
        )
        if payload is None:
            return None
        for item in _data_list(payload, self.name):
            paper = paper_from_s2(item)
            # The endpoint always returns its best guess; only accept a guess whose title really matches.
            if paper is not None and title_similarity(title, paper.title) >= 0.9:
                return paper
        return None

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]:
        ids = [f"ARXIV:{a}" for a in arxiv_ids] + [f"DOI:{d}" for d in dois]
        papers: list[Paper] = []
        for start in range(0, len(ids), BATCH_LIMIT):
            chunk = ids[start : start + BATCH_LIMIT]
            response = await self.fetcher.post_json(
                self.name,
                f"{self.api_url}/paper/batch",
                {"ids": chunk},
                params={"fields": PAPER_FIELDS},
                headers=self._headers(),
                cache_ns="semantic_scholar",
                cache_ttl_s=self.cache_ttl_s,
            )
            if not isinstance(response, list):
                raise SourceError(self.name, "unexpected batch response shape (expected a list)")
            papers += [
                p for p in (paper_from_s2(d) for d in response if isinstance(d, dict)) if p is not None
            ]
        return papers

    async def references(self, paper: Paper) -> list[CitedReference]:
        paper_id = s2_paper_id(paper)
        if paper_id is None:
            return []
        out: list[CitedReference] = []
        offset = 0
        while True:
            payload = await self.get_json(
                f"/paper/{paper_id}/references",
                {"fields": REFERENCE_FIELDS, "limit": 1000, "offset": offset},
                missing_ok=True,
            )
            if payload is None:
                return out
            items = _data_list(payload, self.name)
            for item in items:
                cited = item.get("citedPaper")
                ref = paper_from_s2(cited) if isinstance(cited, dict) else None
                if ref is None:
                    continue
                contexts = tuple(str(c) for c in (item.get("contexts") or []) if c)
                out.append(CitedReference(paper=ref, contexts=contexts))
            next_offset = payload.get("next") if isinstance(payload, dict) else None
            if not isinstance(next_offset, int) or next_offset <= offset or not items:
                return out
            offset = next_offset
