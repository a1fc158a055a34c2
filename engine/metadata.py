"""Metadata worth citing: complete a paper's authors, DOI, URL, venue, year and pages from online sources.

A paper from the offline index knows its arXiv id and title but not its authors; a conference paper has
no DOI or URL. `complete_papers` asks arXiv, Semantic Scholar, OpenAlex and Crossref for each paper —
by identifier first (arXiv id, DOI), by title only when there is none — and merges what they say:

- a record found by title is used only when its title verifies (`title_match`: same words, not just
  similar letters), its year agrees (±1: a preprint and its proceedings straddle a new year), and, when
  both list authors, they share a surname; a record found by identifier whose title is plainly another
  paper's is refused too (a wrong id in the user's data);
- blanks are filled; a filled field is replaced only by clearly better data (a preprint venue by the
  published one, an arXiv DOI by the publisher's, "et al." by the full list) and never when the caller
  marks the field as the user's own (`protected`);
- venues are normalised (engine.venues: NeurIPS from 2018, NIPS before, ICML for "Proceedings of the
  37th International Conference on Machine Learning");
- every change is reported as (field, old, new, source), and every source that failed as a message:
  a failing source never stops the others, and with all of them failing the paper stays as it was.

Pure engine code: no Qt, no database. Details a Paper has no field for (volume, issue, pages,
publisher) travel in `Paper.external_ids`, as the library stores them.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import SourceError
from engine.papers import Paper, find_arxiv_id, find_doi
from engine.sources.arxiv import ArxivSource
from engine.sources.crossref import CrossrefSource
from engine.sources.openalex import SELECT as OPENALEX_SELECT
from engine.sources.openalex import OpenAlexSource, paper_from_work
from engine.sources.semantic_scholar import SemanticScholarSource, paper_from_s2
from engine.sources.title_match import same_words, title_similarity
from engine.venues import is_preprint_venue, normalise_venue, venues_conflict

DETAILS = ("volume", "issue", "pages", "publisher")
FIELDS = ("authors", "year", "venue", "doi", "url", "arxiv_id", *DETAILS)
ARXIV_DOI_PREFIX = "10.48550/arxiv."
S2_FIELDS = "title,authors,year,venue,externalIds,url,journal,publicationVenue"
# Which source is believed first, per field: Crossref holds what publishers deposited; arXiv holds what
# the authors wrote on their preprint (the best author list for it); S2 and OpenAlex are aggregators.
_ORDER: dict[str, tuple[str, ...]] = {
    "authors": ("arxiv", "crossref", "semantic_scholar", "openalex"),
    "year": ("crossref", "arxiv", "semantic_scholar", "openalex"),
    "venue": ("crossref", "semantic_scholar", "openalex", "arxiv"),
    "doi": ("crossref", "arxiv", "semantic_scholar", "openalex"),
    "arxiv_id": ("arxiv", "semantic_scholar", "openalex", "crossref"),
    "details": ("crossref", "openalex", "semantic_scholar", "arxiv"),
}
# Below this title similarity a record found by identifier is another paper's (a typo in an id).
ID_TITLE_MIN = 0.7
TITLE_MATCH_MIN = 0.9
_ET_AL = re.compile(r"^(et\.? al\.?|others|and others)$", re.IGNORECASE)
_DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-"})


@dataclass(frozen=True, slots=True)
class Found:
    """One record a source holds for the paper, and how it was matched."""

    paper: Paper
    source: str  # arxiv, semantic_scholar, openalex, crossref
    basis: str  # "arXiv id 1706.03762", "DOI 10.1145/…", "verified title"
    details: dict[str, str] = field(default_factory=dict)
    landing_url: str | None = None  # the publisher's page, when the source names one
    kind: str = ""  # "journal", "conference", "repository" when the source says


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: str
    new: str
    source: str  # the source the new value came from, or "venue names" for a normalisation

    def describe(self) -> str:
        old = repr(self.old) if self.old else "(none)"
        return f"{self.field}: {old} -> {self.new!r} ({self.source})"


@dataclass(frozen=True, slots=True)
class Completion:
    """What completing one paper found and changed. `paper` is the completed record (details in
    `external_ids`); with no changes it equals the input."""

    original: Paper
    paper: Paper
    changes: tuple[FieldChange, ...] = ()
    matches: tuple[str, ...] = ()  # "crossref: DOI 10.18653/v1/n19-1423"
    messages: tuple[str, ...] = ()  # sources that failed, candidates refused

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class MetadataSources:
    """The sources to consult (None: not used). Built around one shared HttpFetcher by the caller."""

    arxiv: ArxivSource | None = None
    semantic_scholar: SemanticScholarSource | None = None
    openalex: OpenAlexSource | None = None
    crossref: CrossrefSource | None = None

    @property
    def any(self) -> bool:
        return any((self.arxiv, self.semantic_scholar, self.openalex, self.crossref))


# -- reading each source's record -------------------------------------------------------------------


def _pages(value: str) -> str:
    text = " ".join(value.translate(_DASHES).split()).replace(" - ", "-")
    while "--" in text:
        text = text.replace("--", "-")
    return text


def _s2_found(data: dict[str, Any], basis: str) -> Found | None:
    paper = paper_from_s2(data)
    if paper is None:
        return None
    details: dict[str, str] = {}
    journal = data.get("journal")
    venue = paper.venue
    # S2 files a preprint under a journal named "ArXiv" with volume "abs/<id>": not a publication.
    if isinstance(journal, dict) and not is_preprint_venue(str(journal.get("name") or "")):
        if journal.get("volume"):
            details["volume"] = str(journal["volume"]).strip()
        if journal.get("pages"):
            details["pages"] = _pages(str(journal["pages"]))
        if not venue and journal.get("name"):
            venue = str(journal["name"]).strip() or None
    pub = data.get("publicationVenue")
    if not venue and isinstance(pub, dict) and pub.get("name"):
        venue = str(pub["name"]).strip() or None
    kind = str(pub.get("type") or "") if isinstance(pub, dict) else ""
    # S2's `url` is its own page: a link, but not where the paper is published.
    return Found(paper.with_updates(venue=venue), "semantic_scholar", basis, details, kind=kind)


def _openalex_found(work: dict[str, Any], basis: str) -> Found | None:
    paper = paper_from_work(work)
    if paper is None:
        return None
    details: dict[str, str] = {}
    biblio = work.get("biblio")
    if isinstance(biblio, dict):
        for key in ("volume", "issue"):
            if biblio.get(key):
                details[key] = str(biblio[key]).strip()
        first, last = str(biblio.get("first_page") or "").strip(), str(biblio.get("last_page") or "").strip()
        if first:
            details["pages"] = f"{first}-{last}" if last and last != first else first
    landing = None
    primary = work.get("primary_location")
    source = primary.get("source") if isinstance(primary, dict) else None
    if isinstance(source, dict) and (source.get("type") == "repository" or is_preprint_venue(paper.venue)):
        # The preprint's record: its "publisher" is the repository's host (Cornell for arXiv).
        return Found(paper, "openalex", basis, {}, kind="repository")
    if isinstance(primary, dict):
        landing = str(primary.get("landing_page_url") or "") or None
        source = primary.get("source")
        if isinstance(source, dict) and source.get("host_organization_name") and "publisher" not in details:
            details["publisher"] = str(source["host_organization_name"]).strip()
    kind = str(source.get("type") or "") if isinstance(source, dict) else ""
    return Found(paper, "openalex", basis, details, landing_url=landing, kind=kind)


async def _s2_paper(source: SemanticScholarSource, paper_id: str, basis: str) -> Found | None:
    data = await source.get_json(f"/paper/{paper_id}", {"fields": S2_FIELDS}, missing_ok=True)
    record = _record(data, source.name, "a paper object")
    return None if record is None else _s2_found(record, basis)


def _record(data: Any, source: str, what: str) -> dict[str, Any] | None:
    """A record looked up by id: None when the service does not know it (404), else a JSON object."""
    if data is not None and not isinstance(data, dict):
        raise SourceError(source, f"unexpected response shape (expected {what})")
    return data


async def _s2_title(source: SemanticScholarSource, title: str) -> list[Found]:
    # 404: "Title match not found", an answer
    payload = await source.get_json("/paper/search/match", {"query": title, "fields": S2_FIELDS}, missing_ok=True)
    if payload is None:
        return []
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise SourceError(source.name, "unexpected response shape (expected {'data': [...]})")
    found = [_s2_found(d, "title") for d in items if isinstance(d, dict)]
    return [f for f in found if f is not None]


async def _openalex_get(source: OpenAlexSource, path: str, params: dict[str, Any]) -> Any:
    return await source.get_json(path, {"select": OPENALEX_SELECT + ",biblio,type", **params}, missing_ok=True)


async def _openalex_doi(source: OpenAlexSource, doi: str, basis: str) -> Found | None:
    work = _record(await _openalex_get(source, f"/works/doi:{doi}", {}), source.name, "a work object")
    return None if work is None else _openalex_found(work, basis)


async def _openalex_title(source: OpenAlexSource, title: str) -> list[Found]:
    clean = " ".join(re.sub(r"[,|:!<>()\"]+", " ", title).split())
    if len(clean) < 8:
        return []
    payload = await _openalex_get(source, "/works", {"filter": f"title.search:{clean}", "per_page": 5})
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise SourceError(source.name, "unexpected response shape (expected {'results': [...]})")
    found = [_openalex_found(w, "title") for w in results if isinstance(w, dict)]
    return [f for f in found if f is not None]


async def _crossref_title(source: CrossrefSource, title: str) -> list[Found]:
    works = await source.search_title(title)
    return [Found(w.paper, "crossref", "title", dict(w.details), kind=_crossref_kind(w.kind)) for w in works]


# -- deciding which records describe the paper -------------------------------------------------------


def _surnames(authors: Iterable[str]) -> set[str]:
    out = set()
    for name in authors:
        name = name.strip()
        last = name.split(",", 1)[0] if "," in name else (name.split() or [""])[-1]
        folded = unicodedata.normalize("NFKD", last).encode("ascii", "ignore").decode("ascii").lower()
        letters = re.sub(r"[^a-z]", "", folded)
        if letters and not _ET_AL.match(name):
            out.add(letters)
    return out


def _crossref_kind(kind: str) -> str:
    return {"journal-article": "journal", "proceedings-article": "conference", "posted-content": "repository"}.get(
        kind, ""
    )


def title_verified(paper: Paper, candidate: Paper, kind: str = "") -> str | None:
    """None when `candidate`, found by title, is this paper; otherwise why it is not. `kind` is where the
    candidate was published ("journal", "conference"), when its source says."""
    if title_similarity(paper.title, candidate.title) < TITLE_MATCH_MIN or not same_words(paper.title, candidate.title):
        return f"title {candidate.title!r} is another paper's"
    if paper.year is not None and candidate.year is not None and abs(paper.year - candidate.year) > 1:
        return f"{candidate.title!r} is from {candidate.year}, not {paper.year}"
    mine, theirs = _surnames(paper.authors), _surnames(candidate.authors)
    if mine and theirs and not mine & theirs:
        return f"{candidate.title!r} has other authors"
    if paper.arxiv_id and candidate.arxiv_id and find_arxiv_id(paper.arxiv_id) != find_arxiv_id(candidate.arxiv_id):
        return f"{candidate.title!r} is arXiv {candidate.arxiv_id}, not {paper.arxiv_id}"
    mine_doi, their_doi = find_doi(paper.doi or ""), find_doi(candidate.doi or "")
    if mine_doi and their_doi and mine_doi != their_doi and not (_is_arxiv_doi(mine_doi) or _is_arxiv_doi(their_doi)):
        return f"{candidate.title!r} has DOI {their_doi}, not {mine_doi}"
    if venues_conflict(paper.venue, candidate.venue, kind):
        return f"{candidate.title!r} was published in {candidate.venue!r}, not {paper.venue!r}"
    return None


def _identifier_verified(paper: Paper, candidate: Paper) -> str | None:
    if paper.title and candidate.title and title_similarity(paper.title, candidate.title) < ID_TITLE_MIN:
        return f"the record found is titled {candidate.title!r}, not this paper's title"
    return None


# -- merging -------------------------------------------------------------------------------------


def _is_arxiv_doi(doi: str | None) -> bool:
    return bool(doi) and (doi or "").lower().startswith(ARXIV_DOI_PREFIX)


def _ordered(found: Sequence[Found], kind: str) -> list[Found]:
    rank = {name: i for i, name in enumerate(_ORDER[kind])}
    return sorted(found, key=lambda f: rank.get(f.source, len(rank)))


def _truncated(current: Sequence[str], better: Sequence[str]) -> bool:
    """True when `better` is the full list `current` abbreviates ("A, B, et al." or its first names)."""
    if not current or not better or len(better) <= len(current):
        return False
    if _ET_AL.match(current[-1].strip()):
        return True
    mine = [next(iter(_surnames([a])), "") for a in current]
    theirs = [next(iter(_surnames([a])), "") for a in better[: len(current)]]
    return mine == theirs


def _shown(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def merge(paper: Paper, found: Sequence[Found], *, protected: frozenset[str] = frozenset()) -> Completion:
    """The paper completed from verified records (see the module docstring for the rules)."""
    updates: dict[str, Any] = {}
    changes: list[FieldChange] = []

    def change(name: str, old: object, new: object, source: str) -> None:
        updates[name] = new
        changes.append(FieldChange(name, _shown(old), _shown(new), source))

    # Authors: blanks filled; an abbreviated list ("… et al.") replaced by the full one.
    for f in _ordered(found, "authors"):
        if f.paper.authors and (
            not paper.authors or ("authors" not in protected and _truncated(paper.authors, f.paper.authors))
        ):
            change("authors", paper.authors, f.paper.authors, f.source)
            break
    year = paper.year
    if year is None:
        for f in _ordered(found, "year"):
            if f.paper.year is not None:
                change("year", None, f.paper.year, f.source)
                year = f.paper.year
                break
    if not paper.arxiv_id:
        for f in _ordered(found, "arxiv_id"):
            arxiv = find_arxiv_id(f.paper.arxiv_id or "")
            if arxiv:
                change("arxiv_id", None, arxiv, f.source)
                break
    arxiv_id = updates.get("arxiv_id", paper.arxiv_id)
    # DOI: the publisher's before arXiv's own (DataCite) DOI; an arXiv DOI gives way to the publisher's.
    dois = [(find_doi(f.paper.doi or ""), f.source) for f in _ordered(found, "doi")]
    published = next(((d, s) for d, s in dois if d and not _is_arxiv_doi(d)), None)
    any_doi = published or next(((d, s) for d, s in dois if d), None)
    doi = paper.doi
    if not paper.doi and any_doi:
        change("doi", None, any_doi[0], any_doi[1])
        doi = any_doi[0]
    elif "doi" not in protected and _is_arxiv_doi(paper.doi) and published:
        change("doi", paper.doi, published[0], published[1])
        doi = published[0]
    # Venue: a published venue over a preprint server; every venue in its usual name.
    candidate = next(
        (f for f in _ordered(found, "venue") if f.paper.venue and not is_preprint_venue(f.paper.venue)), None
    )
    current = paper.venue
    if not current or ("venue" not in protected and is_preprint_venue(current)):
        if candidate is not None:
            change("venue", current, normalise_venue(candidate.paper.venue, year), candidate.source)
    elif "venue" not in protected:
        named = normalise_venue(current, year)
        if named and named != current:
            change("venue", current, named, "venue names")
    # URL: only where there is none; a DOI link for a published paper, else the arXiv page.
    if not paper.url and found:  # with nothing found, nothing is said to have changed
        landing = next((f for f in found if f.landing_url and "arxiv.org" not in f.landing_url), None)
        if doi and not _is_arxiv_doi(doi):
            change("url", None, f"https://doi.org/{doi}", "DOI")
        elif arxiv_id:
            change("url", None, f"https://arxiv.org/abs/{arxiv_id}", "arXiv id")
        elif landing is not None:
            change("url", None, landing.landing_url, landing.source)
        elif doi:
            change("url", None, f"https://doi.org/{doi}", "DOI")
    # Volume, issue, pages, publisher: blanks only, and only from a record of the published version
    # (a preprint has none of its own; taking the journal's pages for a different DOI would mislead).
    ext = dict(paper.external_ids)
    for f in _ordered(found, "details"):
        if _is_arxiv_doi(f.paper.doi) or (doi and f.paper.doi and f.paper.doi != doi):
            continue
        for key in DETAILS:
            value = f.details.get(key, "").strip()
            if value and not ext.get(key):
                ext[key] = value
                changes.append(FieldChange(key, "", value, f.source))
    if ext != paper.external_ids:
        updates["external_ids"] = ext
    completed = paper.with_updates(**updates) if updates else paper
    return Completion(paper, completed, tuple(changes))


# -- asking the sources --------------------------------------------------------------------------


def _needs_more(paper: Paper, found: Sequence[Found]) -> bool:
    """Whether another source could still add something a citation needs."""
    done = merge(paper, found).paper
    published_doi = bool(done.doi) and not _is_arxiv_doi(done.doi)
    # A published paper's pages are worth one more request (Crossref has them when anyone does).
    return not (done.authors and done.year and done.venue and published_doi and done.url) or not (
        done.external_ids.get("pages")
    )


async def complete_paper(
    paper: Paper,
    sources: MetadataSources,
    *,
    protected: frozenset[str] = frozenset(),
    arxiv_records: Mapping[str, Paper] | None = None,
) -> Completion:
    """Complete one paper. `arxiv_records` holds arXiv records already fetched in a batch (by id)."""
    found: list[Found] = []
    matches: list[str] = []
    messages: list[str] = []
    asked: set[tuple[str, str]] = set()

    def accept(f: Found | None, by_title: bool) -> bool:
        if f is None:
            return False
        why = title_verified(paper, f.paper, f.kind) if by_title else _identifier_verified(paper, f.paper)
        if why is not None:
            messages.append(f"{f.source}: refused the match by {f.basis}: {why}")
            return False
        found.append(f)
        matches.append(f"{f.source}: {f.basis}")
        return True

    async def ask(name: str, what: str, call: Callable[[], Any]) -> Any:
        if (name, what) in asked:
            return None
        asked.add((name, what))
        try:
            return await call()
        except SourceError as exc:
            messages.append(str(exc) if str(exc).startswith(f"{name}:") else f"{name}: {exc}")
            return None

    def known_doi() -> str | None:
        dois = [paper.doi or ""] + [f.paper.doi or "" for f in found]
        published = [d for d in dois if d and not _is_arxiv_doi(d)]
        return find_doi(published[0]) if published else None

    def known_arxiv() -> str | None:
        ids = [paper.arxiv_id or ""] + [f.paper.arxiv_id or "" for f in found]
        return next((a for a in (find_arxiv_id(i) for i in ids if i) if a), None)

    arxiv_id = find_arxiv_id(paper.arxiv_id or "") if paper.arxiv_id else None
    if arxiv_id is None and _is_arxiv_doi(paper.doi):
        arxiv_id = find_arxiv_id((paper.doi or "")[len(ARXIV_DOI_PREFIX) :])
    # 1. arXiv, by id (usually fetched in one batch for many papers beforehand).
    arxiv_source = sources.arxiv
    if arxiv_id and arxiv_source is not None:
        if arxiv_records is not None:
            record = arxiv_records.get(arxiv_id)  # the batch asked already; absent: arXiv has no such id
        else:
            got = await ask("arxiv", arxiv_id, lambda: arxiv_source.by_ids([arxiv_id]))
            record = next((p for p in got or [] if p.arxiv_id == arxiv_id), None)
        if record is not None:
            accept(Found(record, "arxiv", f"arXiv id {arxiv_id}"), by_title=False)
    # 2. Crossref, by the publisher's DOI.
    crossref = sources.crossref
    first_doi = known_doi()
    if first_doi and crossref is not None:
        work = await ask("crossref", first_doi, lambda: crossref.work(first_doi))
        if work is not None:
            accept(
                Found(work.paper, "crossref", f"DOI {first_doi}", dict(work.details), kind=_crossref_kind(work.kind)),
                by_title=False,
            )
    doi = first_doi
    # 3. Semantic Scholar, by arXiv id or DOI, else by title.
    s2 = sources.semantic_scholar
    if s2 is not None and _needs_more(paper, found):
        ident = f"ARXIV:{arxiv_id}" if arxiv_id else (f"DOI:{doi}" if doi else None)
        if ident is not None:
            basis = f"arXiv id {arxiv_id}" if arxiv_id else f"DOI {doi}"
            accept(await ask("semantic_scholar", ident, lambda: _s2_paper(s2, ident, basis)), by_title=False)
        elif paper.title:
            for cand in await ask("semantic_scholar", "title", lambda: _s2_title(s2, paper.title)) or []:
                if accept(cand, by_title=True):
                    break
    # 4. OpenAlex, by DOI (arXiv's DataCite DOI for a preprint), else by title.
    oa = sources.openalex
    if oa is not None and _needs_more(paper, found):
        doi, arxiv_now = known_doi(), known_arxiv()
        oa_doi = doi or (f"{ARXIV_DOI_PREFIX}{arxiv_now}" if arxiv_now else None)
        if oa_doi is not None:
            basis = f"DOI {oa_doi}"
            accept(await ask("openalex", oa_doi, lambda: _openalex_doi(oa, oa_doi, basis)), by_title=False)
        elif paper.title:
            for cand in await ask("openalex", "title", lambda: _openalex_title(oa, paper.title)) or []:
                if accept(cand, by_title=True):
                    break
    # 5. Crossref again: by a DOI another source found (the publisher's own record: container, pages,
    #    publisher), else by title while something is still missing.
    if crossref is not None:
        later_doi = known_doi()
        if later_doi is not None:
            doi = later_doi
            work = await ask("crossref", later_doi, lambda: crossref.work(later_doi))
            if work is not None:
                accept(
                    Found(work.paper, "crossref", f"DOI {doi}", dict(work.details), kind=_crossref_kind(work.kind)),
                    by_title=False,
                )
        elif paper.title and _needs_more(paper, found):
            for cand in await ask("crossref", "title", lambda: _crossref_title(crossref, paper.title)) or []:
                if accept(cand, by_title=True):
                    break
    done = merge(paper, found, protected=protected)
    return Completion(paper, done.paper, done.changes, tuple(matches), tuple(messages))


Progress = Callable[[int, int], None]


async def complete_papers(
    papers: Sequence[Paper],
    sources: MetadataSources,
    *,
    protected: Mapping[str, frozenset[str]] | None = None,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> list[Completion]:
    """Complete many papers (results in input order). arXiv records come in batches of 100 first, so
    arXiv's one-request-per-3-s rule costs seconds, not minutes; the fetcher paces every other host."""
    arxiv_records: dict[str, Paper] | None = None
    batch_messages: list[str] = []
    if sources.arxiv is not None:
        ids = sorted({a for a in (find_arxiv_id(p.arxiv_id or "") for p in papers if p.arxiv_id) if a})
        if ids:
            arxiv_records = {}
            try:
                for record in await sources.arxiv.by_ids(ids):
                    if record.arxiv_id:
                        arxiv_records[record.arxiv_id] = record
            except SourceError as exc:
                batch_messages.append(str(exc))
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(paper: Paper) -> Completion:
        nonlocal done
        async with gate:
            result = await complete_paper(
                paper, sources, protected=(protected or {}).get(paper.id, frozenset()), arxiv_records=arxiv_records
            )
        done += 1
        if progress is not None:
            progress(done, len(papers))
        if batch_messages and paper.arxiv_id:
            return Completion(
                result.original, result.paper, result.changes, result.matches, (*batch_messages, *result.messages)
            )
        return result

    return list(await asyncio.gather(*(one(p) for p in papers)))


def offline_completion(paper: Paper, *, protected: frozenset[str] = frozenset()) -> Completion:
    """What can be done without a network: venue names normalised."""
    return merge(paper, [], protected=protected)


__all__ = [
    "DETAILS",
    "FIELDS",
    "Completion",
    "FieldChange",
    "Found",
    "MetadataSources",
    "complete_paper",
    "complete_papers",
    "merge",
    "offline_completion",
    "title_verified",
]
