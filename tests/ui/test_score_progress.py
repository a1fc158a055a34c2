"""The window's progress bar counts what the Selector will score (its score_top a layer), not every paper
found: with 60 papers found and 20 to score, 20 scored is a full bar, not a third of one."""

from __future__ import annotations

from typing import Any

from engine import events
from tests.ui.scripted_search import paper
from ui.crawl_state import CrawlState


def test_the_score_bar_fills_when_the_papers_due_are_scored(make_window: Any) -> None:
    window = make_window()
    state = CrawlState()
    papers = [paper(i) for i in range(1, 61)]
    how = tuple(events.FoundBy("query", query="q", rank=i) for i in range(1, 61))
    state.apply(events.SearchStarted("coded computation", {"score_top": 20, "select_rule": "threshold"}))
    state.apply(events.PapersFound(tuple(papers), how))
    for p in papers[:20]:
        state.apply(events.PaperScored(p.key, 0.7, True, ""))
    window._progress_at = 0.0
    window._update_progress(state)
    assert (window.progress.maximum(), window.progress.value()) == (20, 20)
    assert window.progress.text() == "20 / 20 scored"

