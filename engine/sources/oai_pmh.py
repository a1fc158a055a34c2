"""Harvesting arXiv's OAI-PMH interface: what was published, revised or withdrawn since a date.

`pasa index update` uses it to keep the offline index current without rebuilding it. One harvest is
`ListRecords` with `metadataPrefix=arXiv` (arXiv's own format: the id, `created` date of the first
version, structured authors, categories, DOI, journal reference and abstract; `oai_dc` lacks the
categories' structure and the first-version date, `arXivRaw` carries every version, which an index
does not need), `from` a date, optionally one request sequence per OAI set ("cs", "math",
"physics:hep-th"...) derived from the category patterns, and `resumptionToken` paging until the token
comes back empty. Records whose header says `status="deleted"` are withdrawn papers.

arXiv answers a harvester that goes too fast with HTTP 503 and a `Retry-After` header: the
`HttpFetcher` waits that long and retries, a bounded number of times. Every page is parsed before any
is applied, so a malformed page (or a failure half-way) stops the update with nothing changed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from engine.errors import SourceError
from engine.papers import Paper, strip_arxiv_version
from engine.sources.http import DEFAULT_POLICIES, HostPolicy, HttpFetcher, Notify, Sleep
from engine.sources.local_index import row_to_paper
from engine.sources.snapshot import CategoryFilter

# arXiv's OAI-PMH endpoint (export.arxiv.org/oai2 redirects to it).
DEFAULT_ENDPOINT = "https://oaipmh.arxiv.org/oai"
METADATA_PREFIX = "arXiv"
SOURCE = "arxiv_oai"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
# arXiv's politeness rule (one request every three seconds, one connection) for its OAI hosts too.
OAI_POLICIES = {
    **DEFAULT_POLICIES,
    "oaipmh.arxiv.org": HostPolicy(3.0, 1),
}
# arXiv asks for waits of seconds to minutes; a harvest is not interactive, so it waits up to this.
MAX_RETRY_AFTER_S = 600.0

# The OAI sets of arXiv's archives: physics archives are sets below "physics".
_TOP_SETS = frozenset({"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"})
_PHYSICS = frozenset(
    {
        "astro-ph",
        "cond-mat",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math-ph",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "physics",
        "quant-ph",
    }
)


def oai_sets(patterns: Sequence[str]) -> list[str | None]:
    """The OAI sets that hold every category the patterns can match ([None]: no set, the whole archive).
    "cs.*" and "cs.LG" -> "cs"; "hep-th" -> "physics:hep-th"; a pattern whose archive has a wildcard
    needs the whole archive. The patterns still filter the records (a set is only a coarse cut)."""
    if not patterns:
        return [None]
    sets: list[str | None] = []
    for pattern in patterns:
        archive = pattern.split(".", 1)[0]
        if archive in _TOP_SETS:
            name = archive
        elif archive in _PHYSICS:
            name = f"physics:{archive}"
        else:
            return [None]
        if name not in sets:
            sets.append(name)
    return sets


@dataclass(frozen=True, slots=True)
class Page:
    papers: list[tuple[Paper, tuple[str, ...]]]  # with each paper's categories
    deleted: list[str]  # arXiv ids of withdrawn records
    token: str | None  # the resumption token; None (or empty) on the last page
    response_date: str
    complete_list_size: int | None


def _text(node: ET.Element | None, tag: str) -> str:
    found = node.find(tag) if node is not None else None
    return re.sub(r"\s+", " ", found.text or "").strip() if found is not None else ""


def _paper(meta: ET.Element) -> tuple[Paper, tuple[str, ...]] | None:
    arxiv_id = _text(meta, f"{ARXIV}id")
    authors = []
    for author in meta.iterfind(f"{ARXIV}authors/{ARXIV}author"):
        parts = [_text(author, f"{ARXIV}forenames"), _text(author, f"{ARXIV}keyname"), _text(author, f"{ARXIV}suffix")]
        name = " ".join(p for p in parts if p)
        if name:
            authors.append(name)
    categories = tuple(_text(meta, f"{ARXIV}categories").split())
    created = _text(meta, f"{ARXIV}created")
    row: dict[str, Any] = {
        "id": arxiv_id,
        "title": _text(meta, f"{ARXIV}title"),
        "abstract": _text(meta, f"{ARXIV}abstract"),
        "authors": authors,
        "categories": " ".join(categories),
        "update_date": _text(meta, f"{ARXIV}updated") or created,
        "versions": [{"created": created}] if created else [],
        "doi": _text(meta, f"{ARXIV}doi") or None,
        "journal-ref": _text(meta, f"{ARXIV}journal-ref") or None,
    }
    paper = row_to_paper(row) if arxiv_id else None
    return (paper, categories) if paper is not None else None


def parse_page(body: bytes) -> Page:
    """One ListRecords reply. SourceError for anything that is not a well-formed OAI-PMH reply (an
    OAI `error` other than noRecordsMatch included)."""
    if b"<!DOCTYPE" in body[:2048] or b"<!ENTITY" in body:
        raise SourceError(SOURCE, "the OAI-PMH reply declares a DOCTYPE or entities; refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SourceError(SOURCE, f"malformed OAI-PMH page ({exc}); nothing was applied", retriable=True) from exc
    if root.tag != f"{OAI}OAI-PMH":
        raise SourceError(SOURCE, f"not an OAI-PMH reply (root element {root.tag!r}); nothing was applied")
    response_date = _text(root, f"{OAI}responseDate")
    error = root.find(f"{OAI}error")
    if error is not None:
        code = error.get("code", "")
        if code == "noRecordsMatch":  # nothing changed since the date: an empty, final page
            return Page([], [], None, response_date, 0)
        raise SourceError(SOURCE, f"OAI-PMH error {code}: {(error.text or '').strip()}")
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise SourceError(SOURCE, "the OAI-PMH reply has no ListRecords; nothing was applied")
    papers: list[tuple[Paper, tuple[str, ...]]] = []
    deleted: list[str] = []
    for record in listing.iterfind(f"{OAI}record"):
        header = record.find(f"{OAI}header")
        identifier = _text(header, f"{OAI}identifier")
        if header is None or not identifier.startswith("oai:arXiv.org:"):
            raise SourceError(SOURCE, f"an OAI-PMH record without an arXiv identifier ({identifier!r})")
        arxiv_id = strip_arxiv_version(identifier.removeprefix("oai:arXiv.org:"))
        if header.get("status") == "deleted":
            deleted.append(arxiv_id)
            continue
        meta = record.find(f"{OAI}metadata/{ARXIV}arXiv")
        if meta is None:
            raise SourceError(SOURCE, f"record {arxiv_id} has no arXiv metadata (metadataPrefix={METADATA_PREFIX})")
        found = _paper(meta)
        if found is not None:
            papers.append(found)
    token_node = listing.find(f"{OAI}resumptionToken")
    token = (token_node.text or "").strip() if token_node is not None else ""
    size = token_node.get("completeListSize") if token_node is not None else None
    return Page(papers, deleted, token or None, response_date, int(size) if size and size.isdigit() else None)


@dataclass(slots=True)
class Harvest:
    """Everything a harvest found, not yet applied: the papers to add or change, the ids to remove."""

    papers: list[Paper] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    outside: int = 0  # records outside the categories asked for (removed if the index holds them)
    pages: int = 0
    response_date: str = ""  # the server's clock at the first page: where the next harvest starts

    @property
    def harvested_until(self) -> str:
        return self.response_date[:10]


PageProgress = Callable[[int, int, int | None], None]  # pages, records so far, complete list size


async def harvest(
    fetcher: HttpFetcher,
    since: date,
    *,
    categories: CategoryFilter | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
    until: date | None = None,
    progress: PageProgress | None = None,
    max_pages: int = 100_000,
) -> Harvest:
    """Every record arXiv changed from `since` on (in the categories' sets), paged by resumption token."""
    categories = categories or CategoryFilter()
    out = Harvest()
    records = 0
    for oai_set in oai_sets(categories.patterns):
        params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": METADATA_PREFIX, "from": since.isoformat()}
        if until is not None:
            params["until"] = until.isoformat()
        if oai_set is not None:
            params["set"] = oai_set
        for _ in range(max_pages):
            reply = await fetcher.fetch(SOURCE, "GET", endpoint, params=params)
            page = parse_page(reply.content)
            out.pages += 1
            out.response_date = out.response_date or page.response_date
            for paper, cats in page.papers:
                if categories.matches(cats):
                    out.papers.append(paper)
                else:
                    out.outside += 1
                    if paper.arxiv_id:
                        out.deleted.append(paper.arxiv_id)
            out.deleted.extend(page.deleted)
            records += len(page.papers) + len(page.deleted)
            if progress is not None:
                progress(out.pages, records, page.complete_list_size)
            if page.token is None:
                break
            # A resumption request carries the verb and the token only (OAI-PMH 2.0, §3.5).
            params = {"verb": "ListRecords", "resumptionToken": page.token}
        else:
            raise SourceError(SOURCE, f"more than {max_pages} pages; stopped (is the server repeating a token?)")
    return out


def fetcher(client: httpx.AsyncClient, *, notify: Notify | None = None, sleep: Sleep | None = None) -> HttpFetcher:
    """An HttpFetcher for harvesting: arXiv's pacing, patient with Retry-After, no cache."""
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    return HttpFetcher(
        client,
        max_retries=5,
        timeout_s=120.0,
        max_retry_after_s=MAX_RETRY_AFTER_S,
        policies=dict(OAI_POLICIES),
        notify=notify,
        **kwargs,
    )
