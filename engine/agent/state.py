"""A search's state, rebuilt by folding its events: the same code serves a live run and a resumed one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import assert_never

from engine.events import (
    Counts,
    Event,
    FoundBy,
    Notice,
    PaperExpanded,
    PaperScored,
    PapersFound,
    Progress,
    QueryFinished,
    QueryIssued,
    QueryOrigin,
    SearchFinished,
    SearchStarted,
    SectionsChosen,
)
from engine.papers import Paper


@dataclass
class RunState:
    query: str = ""
    queries: list[tuple[str, QueryOrigin]] = field(default_factory=list)  # (query, origin) in issue order
    queries_done: set[str] = field(default_factory=set)
    papers: dict[str, Paper] = field(default_factory=dict)  # by Paper.key, in order found
    found_by: dict[str, list[FoundBy]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    selected: set[str] = field(default_factory=set)
    expanded: set[str] = field(default_factory=set)  # tried, with or without a full text: not tried again
    read: set[str] = field(default_factory=set)  # expanded from a full text: what "expanded" counts
    layer: int = 0  # the last expansion layer that started

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> RunState:
        state = cls()
        for event in events:
            state.apply(event)
        return state

    def apply(self, event: Event) -> None:
        match event:
            case SearchStarted():
                self.query = self.query or event.query
            case QueryIssued():
                if event.query not in {q for q, _ in self.queries}:
                    self.queries.append((event.query, event.origin))
            case QueryFinished():
                self.queries_done.add(event.query)
            case PapersFound():
                for paper, how in zip(event.papers, event.found_by, strict=False):
                    if paper.key not in self.papers:
                        self.papers[paper.key] = paper
                    self.found_by.setdefault(paper.key, []).append(how)
                for key, how in event.also_found:
                    if key in self.papers:
                        self.found_by[key].append(how)
            case PaperScored():
                self.scores[event.key] = event.score
                if event.selected:
                    self.selected.add(event.key)
                else:
                    self.selected.discard(event.key)
            case PaperExpanded():
                self.expanded.add(event.key)
                if event.sections:
                    self.read.add(event.key)
                self.layer = max(self.layer, event.layer)
            case SectionsChosen() | Progress() | Notice() | SearchFinished():
                # Nothing to resume from: sections are chosen again if their expansion never finished,
                # progress and notices are for people, and the final ranking is computed anew.
                pass
            case _:
                assert_never(event)

    def counts(self) -> Counts:
        return Counts(
            queries=len(self.queries),
            found=len(self.papers),
            scored=len(self.scores),
            selected=len(self.selected),
            expanded=len(self.read),
        )
