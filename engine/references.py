"""Resolving bibliography entries to papers, with a confidence score.

The protocol lives here so the agent can depend on it; `CitationResolver` follows the order DESIGN.md
asks for:
1. structured sources (Semantic Scholar references, OpenAlex referenced_works) matched to the entries by
   identifier or by their known title occurring in the raw string;
2. arXiv ids and DOIs inside the entry (exact), and identifiers the full text's source linked
   (unarXive's `linked_*`, optional so benchmarks can measure the rest honestly);
3. the parsed title, fuzzily matched against the local index, then the sources' title-match endpoints;
4. any sentence or comma piece of the raw string that is exactly a known title (parser-independent).
Every title-based candidate is verified against the raw string; below the threshold the entry stays
unresolved ("none") rather than guessed.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine.errors import SourceError
from engine.events import Notice
from engine.fulltext.model import BibEntry
from engine.papers import Paper, find_arxiv_id, normalise_title
from engine.sources.base import CitedReference, ReferenceSource, TitleMatcher
from engine.sources.http import Notify
from engine.sources.local_index import LocalIndex
from engine.sources.title_lookup import IndexTitleMatcher
from engine.sources.title_match import containment, same_words, title_similarity


@dataclass(frozen=True, slots=True)
class Resolution:
    entry: BibEntry
    paper: Paper | None  # None = unresolved (never a guess below the confidence threshold)
    confidence: float  # 0..1
    # "arxiv-id" | "doi" | "s2-references" | "openalex" | "entry-link" | "title-local" | "title-match"
    # | "segment-local" | "none"
    method: str


@runtime_checkable
class ReferenceResolver(Protocol):
    async def resolve(self, citing: Paper, entries: Sequence[BibEntry]) -> list[Resolution]: ...


MIN_TITLE_LETTERS = 12  # shorter titles ("Deep learning") are too generic to match on their own
SEGMENT_MIN_LETTERS = 25
_MATCHER_ORDER = {"semantic_scholar": 1, "openalex": 2, "arxiv": 9}


def candidate_segments(raw: str) -> list[str]:
    """Pieces of a raw reference between sentence/comma/quote boundaries that could be a whole title."""
    text = re.sub(r"\{\{[a-z]+:[^}]*\}\}", " ", raw)
    pieces = re.split(r"(?<!\b[A-Z])[.?!]\s+|[,;“”\"]\s*|\s+(?:In|in):?\s+(?=[A-Z])", text)
    out: list[str] = []
    for piece in pieces:
        piece = piece.strip(" .:")
        if len(piece.split()) >= 4 and len(normalise_title(piece)) >= SEGMENT_MIN_LETTERS and piece not in out:
            out.append(piece)
    return out


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.findall(r"[a-z0-9]+", folded)


def occurs_as_segment(title: str, raw: str) -> bool:
    """True when the title's words occur contiguously in `raw`, not inside a longer run of title words.

    "Deep learning" occurs in "Deep learning for X" but not as a segment: the next word continues it.
    A segment ends at punctuation or the end of the string.
    """
    words = _words(title)
    if not words:
        return False
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii").lower()
    pattern = r"(?:^|[^a-z0-9\s]\s*|\b(?:in|and)\s)" + r"[^a-z0-9]+".join(map(re.escape, words))
    return re.search(pattern + r"\s*(?:[^a-z0-9\s]|$)", folded) is not None


class CitationResolver:
    """ReferenceResolver combining structured sources, identifiers and verified title matching."""

    def __init__(
        self,
        *,
        local: TitleMatcher | None = None,
        matchers: Sequence[TitleMatcher] = (),
        reference_sources: Sequence[ReferenceSource] = (),
        use_entry_links: bool = True,
        threshold: float = 0.85,
        concurrency: int = 8,
        max_online_lookups: int = 25,
        notify: Notify | None = None,
    ) -> None:
        # The index's own match_title ranks an OR query (about a second per miss): use the fast look-up.
        self.local = IndexTitleMatcher(local) if isinstance(local, LocalIndex) else local
        # Title-match endpoints by usefulness: Semantic Scholar's match endpoint first, arXiv (1 request / 3 s) last.
        self.matchers = sorted(matchers, key=lambda m: _MATCHER_ORDER.get(m.name, 5))
        self.reference_sources = list(reference_sources)
        self.use_entry_links = use_entry_links
        self.threshold = threshold
        self.notify = notify
        self._sem = asyncio.Semaphore(max(1, concurrency))
        self._failed: set[str] = set()
        # Title-match requests to online sources per resolve() call (Semantic Scholar allows ~1 per second).
        self.max_online_lookups = max_online_lookups
        self._online_budget = max_online_lookups

    # -- helpers --

    def _source_failed(self, name: str, exc: SourceError) -> None:
        if name not in self._failed:
            self._failed.add(name)
            if self.notify is not None:
                self.notify(Notice(level="warning", source=name, message=f"reference resolution: {exc}"))

    def _lookups(self) -> list[TitleMatcher]:
        found = [self.local] if self.local is not None else []
        return found + [m for m in self.matchers if m.name not in self._failed]

    async def _structured(self, citing: Paper) -> list[tuple[CitedReference, str]]:
        out: list[tuple[CitedReference, str]] = []
        for source in self.reference_sources:
            if source.name in self._failed:
                continue
            method = "s2-references" if source.name == "semantic_scholar" else source.name
            try:
                out += [(ref, method) for ref in await source.references(citing)]
            except SourceError as exc:
                self._source_failed(source.name, exc)
        return out

    @staticmethod
    def _match_structured(entry: BibEntry, refs: list[tuple[CitedReference, str]]) -> Resolution | None:
        best: tuple[float, Paper, str] | None = None
        for ref, method in refs:
            paper = ref.paper
            if entry.arxiv_id and paper.arxiv_id and find_arxiv_id(paper.arxiv_id) == entry.arxiv_id:
                return Resolution(entry, paper, 1.0, method)
            if entry.doi and paper.doi and paper.doi.lower() == entry.doi:
                return Resolution(entry, paper, 1.0, method)
            if len(paper.title_key) < MIN_TITLE_LETTERS:
                continue
            score = containment(paper.title, entry.raw)
            if score >= 0.95 and (best is None or len(paper.title_key) > len(best[1].title_key)):
                best = (score, paper, method)
        if best is None:
            return None
        return Resolution(entry, best[1], 0.95 * best[0], best[2])

    @staticmethod
    def _match_by_authors(entry: BibEntry, refs: list[tuple[CitedReference, str]]) -> Resolution | None:
        """Entries without a title ("J. P. Perdew, K. Burke, and M. Ernzerhof, PRL 77, 3865 (1996)"): the one
        structured reference whose first authors' surnames all occur in the raw string and whose year fits."""
        if entry.year is None:
            return None
        raw_words = set(_words(entry.raw))
        found: list[tuple[Paper, str]] = []
        for ref, method in refs:
            paper = ref.paper
            if paper.year is None or abs(paper.year - entry.year) > 1 or not paper.authors:
                continue
            surnames = [w for a in paper.authors[:3] if (w := (_words(a) or [""])[-1]) and len(w) > 1]
            if len(surnames) < min(2, len(paper.authors)):
                continue
            if all(name in raw_words for name in surnames):
                found.append((paper, method))
        if len({p.key for p, _ in found}) != 1:
            return None  # none, or ambiguous (same authors, same year): unresolved rather than a guess
        return Resolution(entry, found[0][0], 0.9, found[0][1])

    async def _by_ids(self, arxiv_ids: list[str], dois: list[str]) -> tuple[dict[str, Paper], dict[str, Paper]]:
        by_arxiv: dict[str, Paper] = {}
        by_doi: dict[str, Paper] = {}
        for matcher in self._lookups():
            want_a = [a for a in arxiv_ids if a not in by_arxiv]
            want_d = [d for d in dois if d not in by_doi]
            if not want_a and not want_d:
                break
            try:
                papers = await matcher.by_ids(want_a, want_d)
            except SourceError as exc:
                self._source_failed(matcher.name, exc)
                continue
            for paper in papers:
                if paper.arxiv_id:
                    by_arxiv.setdefault(find_arxiv_id(paper.arxiv_id) or paper.arxiv_id, paper)
                if paper.doi:
                    by_doi.setdefault(paper.doi.lower(), paper)
        return by_arxiv, by_doi

    def _verify(self, entry: BibEntry, title: str, candidate: Paper) -> float:
        """Confidence that `candidate` is the entry's paper: its title must match the parsed one and occur in the raw."""
        if len(candidate.title_key) < MIN_TITLE_LETTERS:
            return 0.0
        similarity = title_similarity(title, candidate.title)
        inside = containment(candidate.title, entry.raw)
        if inside < 0.9 or similarity < 0.8 or not same_words(title, candidate.title):
            return 0.0
        score = min(similarity, inside)
        short = len(_words(candidate.title)) < 5
        if entry.year and candidate.year and abs(entry.year - candidate.year) > 2:
            # A later journal version keeps the title; a different paper with a short generic title does not.
            score *= 0.8 if short else 0.95
        if short and not occurs_as_segment(candidate.title, entry.raw):
            score *= 0.8
        return score

    async def _by_title(self, entry: BibEntry) -> Resolution | None:
        title = entry.title
        if not title or len(normalise_title(title)) < MIN_TITLE_LETTERS:
            return None
        for matcher in self._lookups():
            if matcher is not self.local:
                if self._online_budget <= 0:
                    continue  # bounded time per expanded paper: the rest stay unresolved
                self._online_budget -= 1
            try:
                async with self._sem:
                    candidate = await matcher.match_title(title)
            except SourceError as exc:
                self._source_failed(matcher.name, exc)
                continue
            if candidate is None:
                continue
            score = self._verify(entry, title, candidate)
            if score >= self.threshold:
                method = "title-local" if matcher is self.local else "title-match"
                return Resolution(
                    entry, candidate, round(score * (0.98 if method == "title-local" else 0.95), 4), method
                )
        return None

    async def _by_segments(self, entry: BibEntry) -> Resolution | None:
        """Parser-independent: every sentence or comma piece of the raw string looked up as an exact title.

        Catches entries the parser could not read (missing commas between authors, odd styles); only
        whole titles of at least four words count, so a generic short title never matches by accident.
        """
        if not isinstance(self.local, IndexTitleMatcher):
            return None
        segments = candidate_segments(entry.raw)
        if not segments:
            return None
        papers = await asyncio.to_thread(self.local.exact_titles_sync, segments)
        for paper in papers:
            if paper is None or len(paper.title_key) < SEGMENT_MIN_LETTERS or len(_words(paper.title)) < 4:
                continue
            if entry.year and paper.year and abs(entry.year - paper.year) > 3:
                continue
            return Resolution(entry, paper, 0.9, "segment-local")
        return None

    # -- the protocol --

    async def resolve(self, citing: Paper, entries: Sequence[BibEntry]) -> list[Resolution]:
        resolved: dict[int, Resolution] = {}
        self._online_budget = self.max_online_lookups
        refs = await self._structured(citing) if self.reference_sources else []
        for i, entry in enumerate(entries):
            hit = self._match_structured(entry, refs) if refs else None
            if hit is None and refs and not entry.title and not entry.arxiv_id and not entry.doi:
                hit = self._match_by_authors(entry, refs)
            if hit is not None:
                resolved[i] = hit

        # Identifiers inside the entry, then the ones the full text's source linked.
        id_of: dict[int, tuple[str | None, str | None, str]] = {}
        for i, entry in enumerate(entries):
            if i in resolved:
                continue
            if entry.arxiv_id or entry.doi:
                id_of[i] = (entry.arxiv_id, entry.doi, "arxiv-id" if entry.arxiv_id else "doi")
            elif self.use_entry_links and (entry.ids.get("linked_arxiv_id") or entry.ids.get("linked_doi")):
                linked_arxiv = find_arxiv_id(entry.ids.get("linked_arxiv_id", ""))
                linked_doi = entry.ids.get("linked_doi", "").lower() or None
                id_of[i] = (linked_arxiv, linked_doi, "entry-link")
        arxiv_ids = sorted({a for a, _, _ in id_of.values() if a})
        dois = sorted({d for a, d, _ in id_of.values() if d and not a})
        by_arxiv, by_doi = await self._by_ids(arxiv_ids, dois) if id_of else ({}, {})
        for i, (arxiv_id, doi, method) in id_of.items():
            entry = entries[i]
            paper = (by_arxiv.get(arxiv_id) if arxiv_id else None) or (by_doi.get(doi) if doi else None)
            if paper is None:
                # The identifier is exact even when no source knows the paper: keep it with the parsed title.
                key = f"arxiv:{arxiv_id}" if arxiv_id else f"doi:{doi}"
                paper = Paper(
                    id=key,
                    # No parsed title: the raw reference is what a reader (and the Selector) can judge.
                    title=entry.title or re.sub(r"\{\{[a-z]+:[^}]*\}\}", "", entry.raw).strip()[:300],
                    arxiv_id=arxiv_id,
                    doi=None if arxiv_id else doi,
                    url=f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else f"https://doi.org/{doi}",
                    year=entry.year,
                    source="bibliography",
                )
            resolved[i] = Resolution(entry, paper, 1.0 if method != "entry-link" else 0.97, method)

        async def by_text(i: int, entry: BibEntry) -> None:
            hit = await self._by_title(entry)
            if hit is None:
                hit = await self._by_segments(entry)
            if hit is not None:
                resolved[i] = hit

        async def enrich(i: int, stub: Resolution) -> None:
            """An identifier no source knew: a verified title match of the same work adds title and abstract."""
            hit = await self._by_title(stub.entry)
            if hit is None or hit.paper is None or stub.paper is None:
                return
            found, known = hit.paper, stub.paper
            if (found.arxiv_id and found.arxiv_id != known.arxiv_id) or (
                found.doi and known.doi and found.doi != known.doi
            ):
                return  # another identifier: a different record, keep the exact one
            resolved[i] = Resolution(stub.entry, found.merged_with(known), stub.confidence, stub.method)

        stubs = [(i, r) for i, r in resolved.items() if r.paper is not None and r.paper.source == "bibliography"]
        await asyncio.gather(
            *(by_text(i, e) for i, e in enumerate(entries) if i not in resolved), *(enrich(i, r) for i, r in stubs)
        )
        return [resolved.get(i) or Resolution(e, None, 0.0, "none") for i, e in enumerate(entries)]


class LocalReferenceResolver(CitationResolver):
    """Offline resolution: identifiers, unarXive links and verified title matching against the local index."""

    def __init__(self, local: TitleMatcher, *, use_entry_links: bool = True, threshold: float = 0.85) -> None:
        super().__init__(local=local, use_entry_links=use_entry_links, threshold=threshold)
