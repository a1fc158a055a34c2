"""Plain, typed rows the library hands out (CLI tables, Qt models). No ORM objects leak out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.events import FoundBy
from engine.papers import Paper


@dataclass(frozen=True, slots=True)
class PaperRow:
    id: int
    title: str
    authors: tuple[str, ...]
    year: int | None
    venue: str | None
    arxiv_id: str | None
    doi: str | None
    url: str | None
    abstract: str
    source: str
    citekey: str
    read: bool
    rating: int | None
    decision: bool | None  # True accepted, False rejected, None undecided
    added: str
    tags: tuple[str, ...] = ()

    def to_paper(self) -> Paper:
        """The engine's view of this library paper (for export, Zotero, re-scoring)."""
        return Paper(
            id=f"library:{self.id}",
            title=self.title,
            abstract=self.abstract,
            authors=self.authors,
            year=self.year,
            venue=self.venue,
            arxiv_id=self.arxiv_id,
            doi=self.doi,
            url=self.url,
            source=self.source,
        )


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: int
    query: str
    status: str  # "running" or an engine SearchStatus value
    started: str
    finished: str | None
    seconds: float
    message: str
    queries: int
    found: int
    scored: int
    selected: int
    expanded: int


@dataclass(frozen=True, slots=True)
class RunPaperRow:
    paper: PaperRow
    key: str  # engine Paper.key inside the run
    score: float | None
    selected: bool | None
    found_by: tuple[FoundBy, ...]
    reason: str
    rank_score: float | None
    sections_chosen: tuple[str, ...]
    sections_expanded: tuple[str, ...] | None  # None until the paper was expanded

    @property
    def found_by_label(self) -> str:
        return "; ".join(f.label() for f in self.found_by)


@dataclass(frozen=True, slots=True)
class RunQueryRow:
    query: str
    origin: str
    hits: int | None  # None while the query has not finished


@dataclass(frozen=True, slots=True)
class NoteRow:
    id: int
    paper_id: int
    text: str
    created: str
    updated: str


@dataclass(frozen=True, slots=True)
class TagRow:
    name: str
    papers: int


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: int
    name: str
    parent_id: int | None
    path: str  # "Parent/Child"
    papers: int


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    id: int
    paper_id: int
    path: Path  # absolute path inside the library's files folder
    original_name: str
    sha256: str
    size: int
    mime: str
    added: str


@dataclass(frozen=True, slots=True)
class UpsertResult:
    paper_id: int
    created: bool  # False: merged into an existing paper
    basis: str | None = None  # for a merge: "arxiv", "doi", "isbn", "citekey", "record" or "title"
    reason: str = ""  # for a merge: why, in words ("same DOI 10.1/x")


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A paper arriving with what a user attached to it elsewhere (an imported bibliography)."""

    paper: Paper
    citekey: str | None = None
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MergeRow:
    """A record an import folded into an existing paper, or a paper you merged into another (basis
    "manual"); undo: `Library.unmerge(record_id)`."""

    record_id: int
    paper_id: int  # the paper it was folded into
    title: str  # the record's own title
    basis: str  # "arxiv", "doi", "isbn", "citekey", "title" (no shared identifier) or "manual" (by you)
    reason: str
    at: str


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """Two papers with the same title that were kept apart, and why (`Library.merge_papers` joins them)."""

    keep: int
    drop: int
    reason: str
