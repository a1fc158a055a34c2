"""Crossref REST API: a work by DOI, and a bibliographic title search, with what a citation needs.

Crossref is where publishers deposit their metadata, so it is the best place for a published paper's
authors, container (journal or proceedings), volume, issue and pages. `api.crossref.org/works/{doi}`
answers `{"status": "ok", "message": {...}}`; `/works?query.bibliographic=` answers a `work-list` whose
best guess is always returned, so every title result must be verified by the caller (see title_match).
A `mailto` puts requests in Crossref's "polite" pool; it is a query parameter the fetcher never logs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any
from urllib.parse import quote

from engine.errors import SourceError
from engine.papers import Paper, find_doi
from engine.sources.http import HostPolicy, HttpFetcher
from engine.sources.title_match import same_words, title_similarity

API_URL = "https://api.crossref.org"
# Only fields Crossref's `select` has long accepted (an unknown one is a 400 for the whole query);
# `issued` carries the year, `container-title` the journal or proceedings.
SELECT = "DOI,title,author,container-title,issued,page,volume,issue,publisher,URL,type"
# Crossref's public pool asks for a few requests a second at most; stay well under it.
POLICY = HostPolicy(min_interval_s=0.25, max_concurrency=2)
_TAGS = re.compile(r"<[^>]+>")  # JATS markup (<i>, <sub>) inside titles


@dataclass(frozen=True, slots=True)
class CrossrefWork:
    """One Crossref work: the engine's Paper plus the details a Paper has no field for."""

    paper: Paper
    details: dict[str, str] = field(default_factory=dict)  # volume, issue, pages, publisher
    kind: str = ""  # Crossref `type`: journal-article, proceedings-article, posted-content…


def _first(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return " ".join(_TAGS.sub("", str(value or "")).split())


def _year(message: dict[str, Any]) -> int | None:
    for key in ("published", "issued", "published-print", "published-online"):
        parts = message.get(key)
        if isinstance(parts, dict):
            dates = parts.get("date-parts")
            if isinstance(dates, list) and dates and isinstance(dates[0], list) and dates[0]:
                first = dates[0][0]
                if isinstance(first, int):
                    return first
    return None


def _author(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    given, family = str(item.get("given") or "").strip(), str(item.get("family") or "").strip()
    if family:
        return f"{given} {family}".strip()
    return str(item.get("name") or "").strip()  # consortia ("The ATLAS Collaboration")


def work_from_message(message: dict[str, Any]) -> CrossrefWork | None:
    """A CrossrefWork from one `message` (or one item of a work-list); None without a title or a DOI."""
    title = _first(message.get("title"))
    doi = find_doi(str(message.get("DOI") or ""))
    if not title or not doi:
        return None
    authors = tuple(a for a in (_author(x) for x in message.get("author") or []) if a)
    venue = _first(message.get("container-title"))
    event = message.get("event")
    if not venue and isinstance(event, dict):
        venue = " ".join(str(event.get("name") or "").split())
    details = {
        "volume": str(message.get("volume") or "").strip(),
        "issue": str(message.get("issue") or "").strip(),
        "pages": str(message.get("page") or "").strip(),
        "publisher": " ".join(str(message.get("publisher") or "").split()),
    }
    paper = Paper(
        id=f"crossref:{doi}",
        title=title,
        authors=authors,
        year=_year(message),
        venue=venue or None,
        doi=doi,
        url=f"https://doi.org/{doi}",
        source="crossref",
        external_ids={"crossref": doi},
    )
    return CrossrefWork(paper, {k: v for k, v in details.items() if v}, str(message.get("type") or ""))


def _message(payload: Any, source: str) -> dict[str, Any]:
    if not isinstance(payload, dict) or payload.get("status") != "ok" or not isinstance(payload.get("message"), dict):
        raise SourceError(source, "unexpected response shape (expected {'status': 'ok', 'message': {...}})")
    message: dict[str, Any] = payload["message"]
    return message


@dataclass(eq=False)  # compared by identity, like the other sources
class CrossrefSource:
    """Works by DOI and verified title matches over api.crossref.org (TitleMatcher)."""

    name = "crossref"

    fetcher: HttpFetcher
    _: KW_ONLY
    api_url: str = API_URL
    mailto: str | None = None
    cache_ttl_s: float = 30 * 86400

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")
        self.fetcher.policies.setdefault("api.crossref.org", POLICY)

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        """GET `path` as JSON; a 404 (a DataCite DOI, a typo) is None, not an error."""
        if self.mailto:
            params = {**params, "mailto": self.mailto}  # never part of the cache key or a message
        return await self.fetcher.lookup_json(
            self.name, f"{self.api_url}{path}", params=params, cache_ns="crossref", cache_ttl_s=self.cache_ttl_s
        )

    async def work(self, doi: str) -> CrossrefWork | None:
        """The work with this DOI; None when Crossref does not know it (a DataCite DOI, a typo)."""
        clean = find_doi(doi)
        if clean is None:
            return None
        payload = await self._get(f"/works/{quote(clean, safe='/:;()')}", {})
        if payload is None:
            return None
        return work_from_message(_message(payload, self.name))

    async def search_title(self, title: str, *, rows: int = 5) -> list[CrossrefWork]:
        """Crossref's best guesses for a title, unverified (the caller checks each one)."""
        payload = await self._get("/works", {"query.bibliographic": title, "rows": rows, "select": SELECT})
        if payload is None:
            return []
        items = _message(payload, self.name).get("items") or []
        if not isinstance(items, list):
            raise SourceError(self.name, "unexpected response shape ('items' is not a list)")
        works = [work_from_message(i) for i in items if isinstance(i, dict)]
        return [w for w in works if w is not None]

    async def match_title(self, title: str) -> Paper | None:
        for found in await self.search_title(title):
            if title_similarity(title, found.paper.title) >= 0.9 and same_words(title, found.paper.title):
                return found.paper
        return None

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]:
        del arxiv_ids  # Crossref does not index arXiv preprints (their DOIs are DataCite's)
        out: list[Paper] = []
        for doi in dois:
            found = await self.work(doi)
            if found is not None:
                out.append(found.paper)
        return out
