"""What a running search looks like, folded from its event stream: the crawl tree, scores and counts.

Pure Python (no Qt) so it is tested on its own and shared by the tree view, the graph and the plots.
The views ask `take_changes()` on a timer and redraw only what changed, which keeps the GUI thread free
however fast events arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import assert_never

from engine import events
from engine.papers import Paper

ROOT = 0


@dataclass(slots=True)
class CrawlNode:
    """A crawl-tree node: the user query, a search query, a paper, or a section a paper was expanded in."""

    id: int
    kind: str  # "root" | "query" | "paper" | "section"
    label: str
    parent: int | None
    depth: int
    row: int = 0  # position among its parent's children
    key: str = ""  # paper key for paper nodes
    children: list[int] = field(default_factory=list)
    score: float | None = None
    selected: bool = False
    expanded: bool = False  # its full text was read and sections chosen
    no_fulltext: bool = False  # the Crawler tried to expand it, but no full-text source had it
    found: int = 0  # papers in this subtree
    chosen: int = 0  # selected papers in this subtree


@dataclass(frozen=True, slots=True)
class Changes:
    added: tuple[int, ...]  # new node ids, parents before children
    updated: tuple[int, ...]  # nodes whose score/counts changed
    new_scores: tuple[float, ...]
    status_changed: bool


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    seconds: float
    found: int
    scored: int
    selected: int


class CrawlState:
    """Folds events into a tree keyed by paper key; every paper appears once, where it was first found."""

    def __init__(self, threshold: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        # How this run selects, from its resolved settings (SearchStarted); until then the app's settings.
        self.threshold = threshold
        self.select_rule = "threshold"  # "threshold": P > threshold · "top_unrejected": the best select_k
        self.select_k = 1
        self.select_min = 0  # "threshold" also selects at least the best select_min papers
        self.score_top: int | None = None  # papers the Selector scores a layer (None: not known yet)
        # True when the Selector's scores are calibrated probabilities (their sum estimates how many
        # scored papers are relevant); an LLM's P(True) is not.
        self.calibrated = False
        self._clock = clock
        self._t0 = clock()
        self.nodes: dict[int, CrawlNode] = {ROOT: CrawlNode(ROOT, "root", "", None, 0)}
        self.papers: dict[str, Paper] = {}
        self.found_by: dict[str, events.FoundBy] = {}
        self.scores: dict[str, float] = {}
        self.reasons: dict[str, str] = {}
        self.selected: set[str] = set()
        self.timeline: list[TimelinePoint] = [TimelinePoint(0.0, 0, 0, 0)]
        self.status = "Ready"
        self.stage = ""
        self.finished: events.SearchFinished | None = None
        self.notices: list[events.Notice] = []
        self.query_origin: dict[str, str] = {}  # search query → who wrote it (QueryIssued.origin)
        self.run_id: int | None = None
        self._paper_node: dict[str, int] = {}
        self._query_node: dict[str, int] = {}
        self._section_node: dict[tuple[str, str], int] = {}
        self._added: list[int] = []
        self._updated: set[int] = set()
        self._new_scores: list[float] = []
        self._status_changed = False

    @property
    def started(self) -> bool:
        """A search has started (its SearchStarted names the question the tree's root shows)."""
        return bool(self.nodes[ROOT].label)

    # -- folding -----------------------------------------------------------------------------------

    def apply(self, event: events.Event) -> None:
        match event:
            case events.SearchStarted():
                self._selection(event.settings)
                self.finished = None  # a resumed run goes on after the end its recorded events reached
                root = self.nodes[ROOT]
                root.label = event.query
                self._updated.add(ROOT)
                self._set_status("Resuming search…" if event.resumed else "Starting search…")
            case events.QueryIssued():
                self.query_origin.setdefault(event.query, event.origin)
                self._query(event.query)
                who = events.QUERY_AUTHORS.get(event.origin, "")
                self._set_status(f"Searching “{_short(event.query)}”" + (f" (written by {who})" if who else ""))
            case events.PapersFound():
                for paper, how in zip(event.papers, event.found_by, strict=False):
                    self._paper(paper, how)
            case events.PaperScored():
                self._score(event)
            case events.SectionsChosen():
                title = self._title(event.key)
                for section in event.sections:
                    self._section(event.key, section)
                n = len(event.sections)
                self._set_status(f"Crawler: expanding {n} section{'s' * (n != 1)} of “{_short(title)}”…")
            case events.PaperExpanded():
                node_id = self._paper_node.get(event.key)
                if node_id is not None:
                    # An expansion with no sections is a paper no full-text source had: not "expanded".
                    self.nodes[node_id].expanded = bool(event.sections)
                    self.nodes[node_id].no_fulltext = not event.sections
                    self._updated.add(node_id)
                for section in event.sections:
                    self._section(event.key, section)
            case events.Progress():
                self.stage = event.stage
                self._set_status(event.message)
            case events.Notice():
                self.notices.append(event)
            case events.QueryFinished():
                pass  # the query's papers arrived as PapersFound; nothing more to draw
            case events.SearchFinished():
                self._finish(event)
            case _:
                assert_never(event)
        self._sample()

    def expected_cited(self) -> float | None:
        """Expected number of cited papers among those scored (sum of calibrated P(cited); see
        engine/models/score_meaning.py: more than these fit a question); None
        when the scores are not calibrated, since then their sum means nothing."""
        return sum(self.scores.values()) if self.calibrated else None

    def _finish(self, event: events.SearchFinished) -> None:
        self.finished = event
        # The final ranking decides what is selected (it may differ from the live P(True) > threshold),
        # scored or not: the same selection the library stores (pasa_desktop/library/recorder.py).
        for ranked in event.results:
            key = ranked.paper.key
            if key not in self.papers:
                self._paper(ranked.paper, ranked.found_by[0] if ranked.found_by else events.FoundBy("query"))
            score = ranked.selector_score if ranked.selector_score is not None else self.scores.get(key)
            if score is not None and (key not in self.scores or ranked.selected != (key in self.selected)):
                self._score(events.PaperScored(key, score, ranked.selected, self.reasons.get(key, "")))
            elif score is None and ranked.selected != (key in self.selected):
                self._mark(key, ranked.selected)
        word = {"done": "Finished", "cancelled": "Cancelled", "failed": "Failed",
                "truncated": "Stopped at budget"}
        summary = f"{word.get(event.status.value, event.status.value)}: {self.summary()}"
        self._set_status(f"{summary} — {event.message}" if event.message else summary)

    def summary(self) -> str:
        return f"{len(self.papers)} found · {len(self.scores)} scored · {len(self.selected)} selected"

    def take_changes(self) -> Changes:
        changes = Changes(tuple(self._added), tuple(sorted(self._updated)), tuple(self._new_scores),
                          self._status_changed)
        self._added.clear()
        self._updated.clear()
        self._new_scores.clear()
        self._status_changed = False
        return changes

    def elapsed(self) -> float:
        return self._clock() - self._t0

    def children(self, node_id: int) -> list[int]:
        return self.nodes[node_id].children

    def node_for_paper(self, key: str) -> int | None:
        return self._paper_node.get(key)

    # -- helpers -----------------------------------------------------------------------------------

    def _selection(self, settings: dict[str, object]) -> None:
        """The run's own rule: the threshold its Selector's training chose, not the app-wide default."""
        if not settings:  # an event without settings (a scripted or very old run): keep what is known
            return
        threshold = settings.get("select_threshold")
        if isinstance(threshold, int | float):
            self.threshold = float(threshold)
        rule = settings.get("select_rule")
        if isinstance(rule, str):
            self.select_rule = rule
        k = settings.get("select_k")
        if isinstance(k, int):
            self.select_k = k
        least = settings.get("select_min")
        self.select_min = least if isinstance(least, int) else 0
        top = settings.get("score_top")
        self.score_top = top if isinstance(top, int) else None
        self.calibrated = settings.get("selector_calibrated") is True
        self._status_changed = True

    def _set_status(self, text: str) -> None:
        self.status = text
        self._status_changed = True

    def _sample(self) -> None:
        last = self.timeline[-1]
        now = (len(self.papers), len(self.scores), len(self.selected))
        if now != (last.found, last.scored, last.selected):
            self.timeline.append(TimelinePoint(round(self.elapsed(), 3), *now))

    def _add(self, kind: str, label: str, parent: int, key: str = "") -> int:
        node_id = len(self.nodes)
        parent_node = self.nodes[parent]
        self.nodes[node_id] = CrawlNode(
            node_id, kind, label, parent, parent_node.depth + 1, row=len(parent_node.children), key=key
        )
        parent_node.children.append(node_id)
        self._added.append(node_id)
        return node_id

    def _query(self, text: str) -> int:
        node_id = self._query_node.get(text)
        if node_id is None:
            node_id = self._add("query", text, ROOT)
            self._query_node[text] = node_id
        return node_id

    def _section(self, key: str, section: str) -> int:
        found = self._section_node.get((key, section))
        if found is not None:
            return found
        parent = self._paper_node.get(key)
        if parent is None:  # a resumed run may expand a paper whose discovery predates the log we saw
            parent = self._query("(earlier results)")
        node_id = self._add("section", section or "full text", parent)
        self._section_node[(key, section)] = node_id
        return node_id

    def _paper(self, paper: Paper, how: events.FoundBy) -> None:
        key = paper.key
        if key in self.papers:
            return
        self.papers[key] = paper
        if how.kind == "query" and how.origin:  # a run re-read from the library has no QueryIssued events
            self.query_origin.setdefault(how.query, how.origin)
        self.found_by[key] = how
        if how.kind == "expansion" and how.parent_key:
            parent = self._section(how.parent_key, how.section)
        else:
            parent = self._query(how.query or "(user query)")
        node_id = self._add("paper", paper.title or key, parent, key=key)
        self._paper_node[key] = node_id
        self._bump(parent, found=1, chosen=0)

    def _score(self, event: events.PaperScored) -> None:
        had = self.scores.get(event.key)
        was_selected = event.key in self.selected
        self.scores[event.key] = event.score
        if event.reason:
            self.reasons[event.key] = event.reason
        if had is None:
            self._new_scores.append(event.score)
        node_id = self._paper_node.get(event.key)
        if node_id is not None:
            self.nodes[node_id].score = event.score
        self._mark(event.key, event.selected, was_selected)

    def _mark(self, key: str, selected: bool, was_selected: bool | None = None) -> None:
        """Selected or not, in the set and in the tree (with its parents' counts)."""
        was = key in self.selected if was_selected is None else was_selected
        if selected:
            self.selected.add(key)
        else:
            self.selected.discard(key)
        node_id = self._paper_node.get(key)
        if node_id is None:
            return
        node = self.nodes[node_id]
        node.selected = selected
        self._updated.add(node_id)
        delta = int(selected) - int(was)
        if delta and node.parent is not None:
            self._bump(node.parent, found=0, chosen=delta)

    def _bump(self, node_id: int | None, *, found: int, chosen: int) -> None:
        while node_id is not None:
            node = self.nodes[node_id]
            node.found += found
            node.chosen += chosen
            self._updated.add(node_id)
            node_id = node.parent

    def _title(self, key: str) -> str:
        paper = self.papers.get(key)
        return paper.title if paper else key


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
