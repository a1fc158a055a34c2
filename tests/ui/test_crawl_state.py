"""The window's crawl state (ui/crawl_state.py) on its own: the tree a search's events fold into, the counts
the views draw, the selection the final ranking decides, and what a resumed run shows."""

from __future__ import annotations

from engine import events
from engine.papers import Paper
from tests.ui.scripted_search import paper, score_of, script
from ui.crawl_state import ROOT, CrawlState

QUERY = "coded computation against stragglers in distributed training"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def folded(items: list[events.Event], clock: Clock | None = None) -> CrawlState:
    state = CrawlState(clock=clock or Clock())
    for event in items:
        state.apply(event)
    return state


def test_a_search_folds_into_a_tree_of_queries_papers_and_sections() -> None:
    state = folded(script(QUERY))
    root = state.nodes[ROOT]
    assert root.label == QUERY
    queries = [state.nodes[n] for n in root.children]
    assert [q.kind for q in queries] == ["query"] * 3 and all(len(q.children) == 6 for q in queries)
    # Paper 1 was expanded: its section holds the four papers it cites; every paper appears once.
    expanded = state.nodes[state.node_for_paper(paper(1).key)]  # type: ignore[index]
    sections = [state.nodes[n] for n in expanded.children]
    assert [s.label for s in sections] == ["2 Related Work", "3 Method"] and expanded.expanded
    assert [state.nodes[n].key for n in sections[0].children] == [paper(18 + k).key for k in range(4)]
    assert sum(1 for n in state.nodes.values() if n.kind == "paper") == len(state.papers) == 22
    # Counts bubble up to the root: found everywhere, chosen = selected.
    selected = {paper(i).key for i in range(22) if score_of(i) > 0.5}
    assert root.found == 22 and root.chosen == len(selected) and state.selected == selected
    assert expanded.found == 4 and queries[0].found == 6 + 4  # paper 1 was found by the first query
    assert state.found_by[paper(18).key].kind == "expansion"
    assert state.notices and state.notices[0].source == "semantic_scholar"


def test_changes_come_parents_first_and_once() -> None:
    state = CrawlState(clock=Clock())
    items = script(QUERY, n_queries=1, per_query=2)
    for event in items[:3]:  # started, issued, found
        state.apply(event)
    changes = state.take_changes()
    kinds = [state.nodes[n].kind for n in changes.added]
    assert kinds == ["query", "paper", "paper"]
    assert all(state.nodes[n].parent in (ROOT, *changes.added[:i]) for i, n in enumerate(changes.added))
    assert ROOT in changes.updated and changes.status_changed
    empty = state.take_changes()
    assert empty.added == () and empty.updated == () and empty.new_scores == () and not empty.status_changed
    state.apply(events.PaperScored(paper(0).key, 0.9, True))
    scored = state.take_changes()
    assert scored.new_scores == (0.9,) and state.node_for_paper(paper(0).key) in scored.updated


def test_the_final_ranking_decides_what_is_selected() -> None:
    """The live rule said False for a paper the final ranking selects (and True for one it drops): the
    state follows SearchFinished, as the library does (pasa_desktop/library/recorder.py)."""
    a, b, c = paper(0), paper(1), paper(2)
    how = events.FoundBy("query", query="q", rank=1, source="local")
    state = folded([
        events.SearchStarted(QUERY, {"select_rule": "top_unrejected", "select_k": 1, "select_threshold": 0.99}),
        events.QueryIssued("q"),
        events.PapersFound((a, b), (how, how)),
        events.PaperScored(a.key, 0.8, False),
        events.PaperScored(b.key, 0.995, True),
        events.SearchFinished(events.SearchStatus.DONE, results=(
            events.RankedPaper(a, 2.0, 0.8, True, (how,)),
            events.RankedPaper(b, 1.0, 0.995, False, (how,)),
            events.RankedPaper(c, 0.5, None, False, (how,)),  # only in the final ranking: added, unscored
        )),
    ])
    assert state.selected == {a.key} and state.select_rule == "top_unrejected" and state.threshold == 0.99
    assert c.key in state.papers and c.key not in state.scores
    assert state.nodes[ROOT].chosen == 1 and state.nodes[ROOT].found == 3
    assert state.status == "Finished: 3 found · 2 scored · 1 selected"
    assert state.finished is not None


def test_a_resumed_run_goes_on_after_its_recorded_end() -> None:
    """History first (as the window replays it), then the resumed search's own events."""
    recorded = script(QUERY, n_queries=2, per_query=3)
    cancelled = events.SearchFinished(events.SearchStatus.CANCELLED, message="cancelled by the user")
    state = folded([*recorded, cancelled])
    assert state.finished is cancelled and state.status.startswith("Cancelled:")
    state.apply(events.SearchStarted(QUERY, resumed=True))
    assert state.finished is None and state.status == "Resuming search…"
    # An expansion of a paper whose discovery the resumed stream does not repeat still has a place.
    stranger = Paper(id="test:99", title="A Paper Found Before", abstract="", source="local")
    state.apply(events.SectionsChosen(stranger.key, ("1 Introduction",)))
    earlier = [state.nodes[n] for n in state.nodes[ROOT].children if state.nodes[n].label == "(earlier results)"]
    assert len(earlier) == 1 and state.nodes[earlier[0].children[0]].label == "1 Introduction"
    before = len(state.papers)
    state.apply(recorded[2])  # found again: not a second node
    assert len(state.papers) == before


def test_calibrated_scores_estimate_how_many_are_relevant() -> None:
    how = events.FoundBy("query", query="q", rank=1, source="local")
    found = events.PapersFound((paper(0), paper(1)), (how, how))
    scores = [events.PaperScored(paper(0).key, 0.25, False), events.PaperScored(paper(1).key, 0.5, True)]
    calibrated = folded([events.SearchStarted(QUERY, {"selector_calibrated": True, "select_threshold": 0.3}),
                         found, *scores])
    assert calibrated.expected_cited() == 0.75 and calibrated.threshold == 0.3
    plain = folded([events.SearchStarted(QUERY, {}), found, *scores])
    assert plain.expected_cited() is None and plain.threshold == 0.5  # no settings: the app's default kept


def test_timeline_samples_counts_when_they_change() -> None:
    clock = Clock()
    state = CrawlState(clock=clock)
    items = script(QUERY, n_queries=1, per_query=2)
    for event in items:
        clock.now += 0.5
        state.apply(event)
    points = [(p.found, p.scored, p.selected) for p in state.timeline]
    assert points[0] == (0, 0, 0) and points[-1] == (len(state.papers), len(state.scores), len(state.selected))
    assert len(set(points)) == len(points)  # a point only when something changed
    assert state.timeline[-1].seconds == state.elapsed()
    progress = events.Progress("score", "Selector: scoring 2 of 2")
    state.apply(progress)
    assert state.stage == "score" and state.status == progress.message
