"""OpenAlex works API: search, title match, look-up by DOI, and `referenced_works` as references."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from engine.errors import SourceError
from engine.papers import Paper, find_arxiv_id, find_doi
from engine.sources.base import CitedReference
from engine.sources.http import HttpFetcher
from engine.sources.keys import KeyLookup, no_keys
from engine.sources.title_match import title_similarity

API_URL = "https://api.openalex.org"
SELECT = (
    "id,doi,title,display_name,publication_year,publication_date,authorships,primary_location,"
    "locations,abstract_inverted_index,referenced_works,ids"
)
_WORK_ID = re.compile(r"(W\d+)$")
# Characters OpenAlex's filter syntax gives meaning to (",", "|", ":") would break a title.search filter.
_FILTER_UNSAFE = re.compile(r"[,|:!<>()\"]+")


def abstract_from_inverted_index(index: Any) -> str:
    """OpenAlex stores abstracts as {word: [positions]}; rebuild the text."""
    if not isinstance(index, dict):
        return ""
    slots: dict[int, str] = {}
    for word, positions in index.items():
        if isinstance(positions, list):
            for pos in positions:
                if isinstance(pos, int):
                    slots[pos] = str(word)
    return " ".join(slots[i] for i in sorted(slots))


def work_id(value: str) -> str | None:
    match = _WORK_ID.search(value.strip())
    return match.group(1) if match else None


def paper_from_work(work: dict[str, Any]) -> Paper | None:
    title = str(work.get("display_name") or work.get("title") or "").strip()
    wid = work_id(str(work.get("id") or ""))
    if not title or not wid:
        return None
    doi = find_doi(str(work.get("doi") or ""))
    arxiv_id = None
    if doi and doi.startswith("10.48550/arxiv."):
        arxiv_id = find_arxiv_id(doi)
    for loc in work.get("locations") or []:
        if arxiv_id or not isinstance(loc, dict):
            continue
        url = str(loc.get("landing_page_url") or "") + " " + str(loc.get("pdf_url") or "")
        if "arxiv.org" in url:
            arxiv_id = find_arxiv_id(url)
    authors = tuple(
        str(a["author"]["display_name"])
        for a in (work.get("authorships") or [])
        if isinstance(a, dict) and isinstance(a.get("author"), dict) and a["author"].get("display_name")
    )
    venue = None
    primary = work.get("primary_location")
    if isinstance(primary, dict) and isinstance(primary.get("source"), dict):
        venue = str(primary["source"].get("display_name") or "") or None
    year = work.get("publication_year")
    external = {"openalex": wid}
    if work.get("publication_date"):
        external["published"] = str(work["publication_date"])
    return Paper(
        id=f"openalex:{wid}",
        title=title,
        abstract=abstract_from_inverted_index(work.get("abstract_inverted_index")),
        authors=authors,
        year=int(year) if isinstance(year, int) else None,
        venue=venue,
        arxiv_id=arxiv_id,
        doi=doi,
        url=f"https://openalex.org/{wid}",
        source="openalex",
        external_ids=external,
    )


def _results(payload: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("results", []), list):
        raise SourceError(source, "unexpected response shape (expected {'results': [...]})")
    return [r for r in payload.get("results", []) if isinstance(r, dict)]


class OpenAlexSource:
    """PaperSource + TitleMatcher + ReferenceSource over api.openalex.org (a key is required since 2026)."""

    name = "openalex"

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

    async def get_json(self, path: str, params: dict[str, Any], *, missing_ok: bool = False) -> Any:
        """GET `path` as JSON; with `missing_ok` a 404 is None (an unknown DOI or id), not an error."""
        key = self.keys("openalex")
        if key:  # never part of the cache key or an error message (see http.SECRET_PARAMS)
            params = {**params, "api_key": key}
        get = self.fetcher.lookup_json if missing_ok else self.fetcher.get_json
        return await get(
            self.name, f"{self.api_url}{path}", params=params, cache_ns="openalex", cache_ttl_s=self.cache_ttl_s
        )

    async def _works(self, params: dict[str, Any]) -> list[Paper]:
        payload = await self.get_json("/works", {"select": SELECT, **params})
        papers = [paper_from_work(w) for w in _results(payload, self.name)]
        return [p for p in papers if p is not None]

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        params: dict[str, Any] = {"search": query, "per_page": max(1, min(limit, 200))}
        if before is not None:
            params["filter"] = f"to_publication_date:{before.isoformat()}"
        return await self._works(params)

    async def match_title(self, title: str) -> Paper | None:
        clean = _FILTER_UNSAFE.sub(" ", title).strip()
        if len(clean) < 8:
            return None
        found = await self._works({"filter": f"title.search:{clean}", "per_page": 5})
        best = max(found, key=lambda p: title_similarity(title, p.title), default=None)
        if best is None or title_similarity(title, best.title) < 0.9:
            return None
        return best

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]:
        # arXiv papers carry DataCite DOIs 10.48550/arXiv.<id>, which OpenAlex indexes.
        all_dois = [d.lower() for d in dois] + [f"10.48550/arxiv.{a}" for a in arxiv_ids]
        papers: list[Paper] = []
        for start in range(0, len(all_dois), 50):
            chunk = all_dois[start : start + 50]
            papers += await self._works({"filter": "doi:" + "|".join(chunk), "per_page": 50})
        return papers

    async def _work_for(self, paper: Paper) -> dict[str, Any] | None:
        if paper.external_ids.get("openalex"):
            path = f"/works/{paper.external_ids['openalex']}"
        elif paper.doi:
            path = f"/works/doi:{paper.doi}"
        elif paper.arxiv_id:
            path = f"/works/doi:10.48550/arxiv.{paper.arxiv_id}"
        else:
            return None
        payload = await self.get_json(path, {"select": SELECT}, missing_ok=True)
        return payload if isinstance(payload, dict) else None

    async def references(self, paper: Paper) -> list[CitedReference]:
        work = await self._work_for(paper)
        if work is None:
            return []
        ids = [w for w in (work_id(str(r)) for r in (work.get("referenced_works") or [])) if w]
        out: list[CitedReference] = []
        for start in range(0, len(ids), 50):
            chunk = ids[start : start + 50]
            papers = await self._works({"filter": "openalex:" + "|".join(chunk), "per_page": 50})
            out += [CitedReference(paper=p) for p in papers]
        return out
