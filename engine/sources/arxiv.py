"""arXiv API source (Atom feed): keyword search, look-up by ids, and title matching.

`export.arxiv.org/api/query` allows one request every 3 s on one connection; the shared `HttpFetcher`
enforces that for the host, so many concurrent callers queue politely.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date

from engine.errors import SourceError
from engine.papers import Paper, find_arxiv_id, normalise_title
from engine.sources.http import HttpFetcher
from engine.sources.title_match import title_similarity

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV_NS = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
API_URL = "https://export.arxiv.org/api/query"

# Words that only make an AND query stricter without adding meaning.
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the their this to using via "
    "with what which how do does papers paper study studies approach approaches method methods".split()
)
_WORD = re.compile(r"[A-Za-z0-9]+")  # hyphens split: "zero-shot" -> zero AND shot
_SPACES = re.compile(r"\s+")


def _text(node: ET.Element | None) -> str:
    return _SPACES.sub(" ", (node.text or "")).strip() if node is not None else ""


def parse_atom(content: bytes, *, source: str = "arxiv") -> list[Paper]:
    """Papers from an arXiv Atom feed. Malformed XML or an API error entry raises SourceError."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise SourceError(source, f"malformed Atom feed ({exc})") from exc
    if root.tag != f"{ATOM}feed":
        raise SourceError(source, f"not an Atom feed (root element {root.tag!r})")
    papers: list[Paper] = []
    for entry in root.findall(f"{ATOM}entry"):
        entry_id = _text(entry.find(f"{ATOM}id"))
        title = _text(entry.find(f"{ATOM}title"))
        if "api/errors" in entry_id or title == "Error":
            summary = _text(entry.find(f"{ATOM}summary"))
            raise SourceError(source, f"arXiv API error: {summary or 'unknown'}")
        arxiv_id = find_arxiv_id(entry_id)
        if not arxiv_id or not title:
            continue
        published = _text(entry.find(f"{ATOM}published"))
        year = int(published[:4]) if published[:4].isdigit() else None
        authors = tuple(_text(a.find(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author"))
        doi = _text(entry.find(f"{ARXIV_NS}doi")) or None
        venue = _text(entry.find(f"{ARXIV_NS}journal_ref")) or None
        papers.append(
            Paper(
                id=f"arxiv:{arxiv_id}",
                title=title,
                abstract=_text(entry.find(f"{ATOM}summary")),
                authors=tuple(a for a in authors if a),
                year=year,
                venue=venue,
                arxiv_id=arxiv_id,
                doi=doi.lower() if doi else None,
                url=f"https://arxiv.org/abs/{arxiv_id}",
                source="arxiv",
                external_ids={"arxiv": arxiv_id, "published": published[:10]},
            )
        )
    return papers


def keyword_query(query: str, before: date | None = None) -> str:
    """arXiv search syntax for free text: content words AND-ed over all fields, plus a date range."""
    words = [w for w in _WORD.findall(query) if w.lower() not in _STOPWORDS]
    if not words:
        words = _WORD.findall(query)
    if not words:
        raise SourceError("arxiv", "the query has no searchable words")
    clause = " AND ".join(f"all:{w}" for w in words[:12])
    if before is not None:
        clause = f"({clause}) AND submittedDate:[199101010000 TO {before:%Y%m%d}0000]"
    return clause


class ArxivSource:
    """PaperSource + TitleMatcher over the arXiv API."""

    name = "arxiv"

    def __init__(
        self, fetcher: HttpFetcher, *, api_url: str = API_URL, cache_ttl_s: float = 7 * 86400
    ) -> None:
        self.fetcher = fetcher
        self.api_url = api_url
        self.cache_ttl_s = cache_ttl_s

    async def _query(self, params: dict[str, str | int]) -> list[Paper]:
        response = await self.fetcher.fetch(
            self.name,
            "GET",
            self.api_url,
            params=params,
            cache_ns="arxiv",
            cache_ttl_s=self.cache_ttl_s,
            check=lambda r: parse_atom(r.content, source=self.name),
        )
        return parse_atom(response.content, source=self.name)

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        params: dict[str, str | int] = {
            "search_query": keyword_query(query, before),
            "start": 0,
            "max_results": max(1, min(limit, 200)),
            "sortBy": "relevance",
        }
        return await self._query(params)

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]:
        del dois  # the arXiv API cannot look up DOIs
        ids = sorted({i for i in (find_arxiv_id(x) for x in arxiv_ids) if i})
        papers: list[Paper] = []
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            papers += await self._query({"id_list": ",".join(chunk), "max_results": len(chunk)})
        return papers

    async def match_title(self, title: str) -> Paper | None:
        words = [w for w in _WORD.findall(title) if w.lower() not in _STOPWORDS]
        if len(words) < 2:
            return None
        query = " AND ".join(f"ti:{w}" for w in words[:12])
        found = await self._query({"search_query": query, "max_results": 5})
        best = max(found, key=lambda p: title_similarity(title, p.title), default=None)
        if best is None or title_similarity(title, best.title) < 0.9:
            return None
        return best if normalise_title(best.title) else None
