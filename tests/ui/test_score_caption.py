"""The histogram's caption says how a run selected: with the "top_unrejected" rule the best papers by rank
(engine/agent/ranking.rank), which need not be the best by score."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.agent.ranking import rank
from engine.agent.settings import AgentSettings
from engine.agent.state import RunState
from engine.events import Event, FoundBy, PaperScored, PapersFound, SearchStarted
from engine.papers import Paper
from ui.crawl_state import CrawlState


def test_top_unrejected_is_described_as_the_best_by_rank(qtbot) -> None:  # type: ignore[no-untyped-def]
    from ui.score_plots import ScorePlots

    settings = AgentSettings(select_rule="top_unrejected", select_k=1, score_top=10)
    papers = (Paper(id="a", title="First by retrieval"), Paper(id="b", title="Second by retrieval"))
    events: list[Event] = [
        SearchStarted("q", settings={"select_rule": "top_unrejected", "select_k": 1}),
        PapersFound(papers, (FoundBy("query", query="q", rank=1), FoundBy("query", query="q", rank=2))),
        PaperScored(papers[0].key, 0.2, False),
        PaperScored(papers[1].key, 0.9, False),
    ]
    # The engine selects the best by rank, not the best score.
    ranked = rank(RunState.from_events(events), settings)
    assert [r.paper.title for r in ranked if r.selected] == ["First by retrieval"]
    state = CrawlState()
    for event in events:
        state.apply(event)
    plots = ScorePlots(state)
    qtbot.addWidget(plots)
    text = plots.caption.text() + " " + plots.caption.toolTip()
    assert "by rank" in text and "by score" not in text


def test_before_any_search_no_threshold_or_scale_is_claimed(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The app-wide 0.50 is not the default Selector's threshold (it records its own): before a search has
    said how it selects, the histogram shows no threshold and no probability scale."""
    from ui.score_plots import ScorePlots

    state = CrawlState()
    plots = ScorePlots(state)
    qtbot.addWidget(plots)
    plots.redraw()
    assert not plots._threshold.isVisible()
    assert plots.caption.text().startswith("No search yet")
    assert "no search yet" in plots.histogram.getAxis("bottom").labelText
    state.apply(SearchStarted("q", settings={"select_rule": "threshold", "select_threshold": 0.125,
                                             "score_top": 20, "selector_calibrated": True}))
    plots.redraw()
    assert plots._threshold.isVisible() and plots._threshold.value() == 0.125
    assert "no search yet" not in plots.histogram.getAxis("bottom").labelText
