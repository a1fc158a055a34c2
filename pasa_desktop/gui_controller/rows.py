"""Papers as the GUI's tables show them, and the library calls the GUI makes, in those terms."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from engine.errors import PasaError
from engine.papers import Paper

if TYPE_CHECKING:  # the library (SQLAlchemy) loads after the window is up, not at import time
    from pasa_desktop.library import CollectionRow, Library, RunSummary, TagRow
    from pasa_desktop.library import PaperRow as LibraryPaper

@dataclass(frozen=True, slots=True)
class ResultRow:
    """One paper as the results and library tables show it (from a live search or from the library)."""

    key: str
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    venue: str = ""
    abstract: str = ""
    arxiv_id: str = ""
    doi: str = ""
    url: str = ""
    score: float | None = None
    selected: bool = False
    found_by: str = ""
    reason: str = ""
    decision: str = ""  # "" | "accepted" | "rejected"
    tags: tuple[str, ...] = ()
    rating: int = 0
    pdf_path: str = ""
    library_id: int | None = None
    in_library: bool | None = None  # False: only the runs that found it hold it (one click from Keep); None: not looked up
    # False: a row of a library list (All papers, a collection, a tag), which belongs to no search, so it has
    # no score, selection or reason to show (those are the search's: run_rows).
    in_search: bool = True

    @classmethod
    def from_paper(cls, paper: Paper, **extra: Any) -> ResultRow:
        return cls(
            key=paper.key,
            title=paper.title,
            authors=paper.authors,
            year=paper.year,
            venue=paper.venue or "",
            abstract=paper.abstract,
            arxiv_id=paper.arxiv_id or "",
            doi=paper.doi or "",
            url=paper.url or "",
            **extra,
        )

    def with_updates(self, **changes: Any) -> ResultRow:
        return replace(self, **changes)


def _decision_text(decision: bool | None) -> str:
    return "" if decision is None else "accepted" if decision else "rejected"


class LibraryGateway:
    """What the GUI asks of the library, as `ResultRow`s; every write returns the row as now stored.

    Rows from a live search carry no library id yet: it is looked up by paper key in the run's papers
    (the search service records each paper as it is found).
    """

    def __init__(self, library: Library, *, selected_join: bool = True) -> None:
        self.library = library
        # settings.library.selected_join: papers the Selector selected are in the library by themselves.
        self.selected_join = selected_join
        self._ids: dict[tuple[int, str], int] = {}

    # -- reading ---------------------------------------------------------------------------------

    def runs(self) -> list[RunSummary]:
        return self.library.runs(limit=500)

    def run_rows(self, run_id: int) -> list[ResultRow]:
        """Everything the run found, kept in the library or not (`in_library` says which)."""
        papers = self.library.run_papers(run_id)
        held = self.library.in_library([rp.paper.id for rp in papers], with_selected=self.selected_join)
        rows = []
        for rp in papers:
            self._ids[(run_id, rp.key)] = rp.paper.id
            rows.append(self._row(rp.paper, key=rp.key, score=rp.score, selected=bool(rp.selected),
                                  found_by=rp.found_by_label, reason=rp.reason, in_library=rp.paper.id in held))
        return rows

    def search_rows(
        self, text: str = "", *, tag: str | None = None, collection: int | None = None, limit: int = 5000
    ) -> list[ResultRow]:
        """The library's papers (what `pasa library search` lists), not every paper a search found."""
        papers = self.library.search(text, tag=tag, collection=collection, limit=limit, library_only=True,
                                     with_selected=self.selected_join)
        return [self._row(p, key=f"library:{p.id}", in_library=True, in_search=False) for p in papers]

    def count_library(self) -> int:
        return self.library.count_library(with_selected=self.selected_join)

    def tags(self) -> list[TagRow]:
        return self.library.tags()

    def collections(self) -> list[CollectionRow]:
        return self.library.collections()

    def pdf_path(self, row: ResultRow) -> str:
        if row.library_id is None:
            return ""
        for att in self.library.attachments(row.library_id):
            if att.mime == "application/pdf" or att.path.suffix.lower() == ".pdf":
                return str(att.path)
        return ""

    def library_papers(self, rows: list[ResultRow], run_id: int | None) -> list[LibraryPaper]:
        ids = [self.library_id(r, run_id) for r in rows]
        return self.library.papers(ids)

    # -- writing ---------------------------------------------------------------------------------

    def library_id(self, row: ResultRow, run_id: int | None) -> int:
        if row.library_id is not None:
            return row.library_id
        if run_id is not None:
            if (run_id, row.key) not in self._ids:
                self.run_rows(run_id)
            found = self._ids.get((run_id, row.key))
            if found is not None:
                return found
        raise PasaError(f"“{row.title}” is not in the library yet", hint="wait for the search to record it")

    def set_decision(self, row: ResultRow, decision: str, run_id: int | None) -> ResultRow:
        pid = self.library_id(row, run_id)
        self.library.set_decision(pid, None if not decision else decision == "accepted")
        return self.refresh(row, pid)

    def set_rating(self, row: ResultRow, rating: int, run_id: int | None) -> ResultRow:
        pid = self.library_id(row, run_id)
        self.library.set_rating(pid, rating or None)
        return self.refresh(row, pid)

    def add_tag(self, row: ResultRow, tag: str, run_id: int | None) -> ResultRow:
        pid = self.library_id(row, run_id)
        self.library.add_tag(pid, tag)
        return self.refresh(row, pid)

    def add_to_collection(self, rows: list[ResultRow], path: str, run_id: int | None) -> int:
        cid = self.library.ensure_collection_path(path)
        self.library.add_to_collection(cid, [self.library_id(r, run_id) for r in rows])
        return cid

    def keep(self, rows: list[ResultRow], run_id: int | None) -> list[ResultRow]:
        """Keep these papers in the library; returns the rows as now stored."""
        ids = [self.library_id(r, run_id) for r in rows]
        self.library.keep(ids)
        return [self.refresh(r, pid) for r, pid in zip(rows, ids, strict=True)]

    def set_reason(self, row: ResultRow, reason: str, run_id: int | None) -> None:
        if run_id is not None:
            self.library.set_reason(run_id, row.key, reason)

    def refresh(self, row: ResultRow, paper_id: int | None = None) -> ResultRow:
        pid = paper_id if paper_id is not None else row.library_id
        if pid is None:
            return row
        paper = self.library.paper(pid)
        held = pid in self.library.in_library([pid], with_selected=self.selected_join)
        fresh = row.with_updates(decision=_decision_text(paper.decision), tags=paper.tags,
                                 rating=paper.rating or 0, library_id=pid, in_library=held)
        return fresh.with_updates(pdf_path=self.pdf_path(fresh))

    @staticmethod
    def _row(paper: LibraryPaper, *, key: str, **extra: Any) -> ResultRow:
        return ResultRow(
            key=key,
            title=paper.title,
            authors=paper.authors,
            year=paper.year,
            venue=paper.venue or "",
            abstract=paper.abstract,
            arxiv_id=paper.arxiv_id or "",
            doi=paper.doi or "",
            url=paper.url or "",
            decision=_decision_text(paper.decision),
            tags=paper.tags,
            rating=paper.rating or 0,
            library_id=paper.id,
            **extra,
        )


