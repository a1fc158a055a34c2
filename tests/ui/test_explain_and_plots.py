"""A calibrated Selector in the window: the histogram on the calibrated scale with the run's threshold,
"about N would likely be cited", colours relative to the threshold, and explanations in the detail pane. And a
search run before any Selector is ready: no score, no selection, and the caption says why."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.agent.explain import CANNOT_EXPLAIN
from engine.events import Event
from engine.models.base import ChatModel
from pasa_desktop.library import Library
from pasa_testing.scripted import ScriptedModel
from tests.ui.calibrated_search import QUERY, THRESHOLD, CalibratedSearch, KeywordRelevance, papers
from tests.ui.conftest import screenshot
from ui import colors


def _window(qtbot, make_window, library: Library, model: ChatModel, *,  # type: ignore[no-untyped-def]
            calibrated: bool = True, search_model: KeywordRelevance | None = None):
    stream = CalibratedSearch(library, search_model or KeywordRelevance(), calibrated=calibrated)
    window = make_window(stream, model_loader=lambda _name: model)
    window.search_panel.query.setPlainText(QUERY)
    window.search_panel.search_button.click()
    results = window.search_panel.results
    qtbot.waitUntil(lambda: window.state.finished is not None and results.model.total() == 6
                    and results.model.row_at(0).library_id is not None, timeout=10_000)
    return window


@pytest.fixture
def windows(qtbot, make_window, library: Library):  # type: ignore[no-untyped-def]
    yield lambda model, **kw: _window(qtbot, make_window, library, model, **kw)
    colors.set_threshold(None)  # the scale is window-wide: leave the default for other tests


def test_histogram_is_on_the_calibrated_scale_with_the_runs_threshold(qtbot, windows) -> None:  # type: ignore[no-untyped-def]
    model = KeywordRelevance()
    window = windows(model)
    plots = window.search_panel.plots
    plots.redraw()
    state = window.state
    assert state.calibrated and state.threshold == THRESHOLD
    assert sum(plots.histogram_counts()) == 6
    # The line sits on the run's threshold (0.3), not on PaSa's 0.5, and says so.
    assert plots._threshold.isVisible() and plots._threshold.value() == pytest.approx(THRESHOLD)
    assert "0.30" in plots._threshold.label.toPlainText()
    assert plots.histogram.getAxis("bottom").labelText == "P(cited)"
    expected = round(sum(state.scores.values()))
    assert expected >= 1
    assert plots.caption.text() == f"About {expected} of these 6 scored papers would likely be cited for this question; more may fit it."
    # The count is of cited papers, what the Selector was calibrated on; the tooltip says more than these fit.
    assert "a low P(cited) does not mean a paper does not fit" in plots.caption.toolTip()
    # Colours are relative to the threshold: a selected paper is green, not the red a 0.5 midpoint gave.
    selected = [s for s in state.scores.values() if s > THRESHOLD]
    assert selected and all(colors.score_rgb(s)[1] > colors.score_rgb(s)[0] for s in selected)
    assert colors.score_rgb(0.01)[0] > colors.score_rgb(0.01)[1]  # far below the line is still red
    screenshot(window, "h1b-calibrated-histogram")


def test_an_uncalibrated_selector_gets_no_count_and_no_line(qtbot, windows) -> None:  # type: ignore[no-untyped-def]
    window = windows(KeywordRelevance(), calibrated=False)
    plots = window.search_panel.plots
    plots.redraw()
    assert not window.state.calibrated
    assert not plots._threshold.isVisible()
    assert "not calibrated" in plots.caption.text() and "About" not in plots.caption.text()
    assert "not calibrated" in plots.histogram.getAxis("bottom").labelText


def test_explain_highlights_sentences_in_the_background(qtbot, windows, library) -> None:  # type: ignore[no-untyped-def]
    model = KeywordRelevance(delay_s=0.3)  # slow enough to see the pane say so while it works
    window = windows(model, search_model=KeywordRelevance())
    results = window.search_panel.results
    results.table.selectRow(0)
    row = results.table.current_row()
    detail = results.detail
    detail.explain.click()
    # The window stays responsive and says what it is doing while the worker scores.
    assert "Explaining" in detail.reason.toPlainText() and not detail.explain.isEnabled()
    qtbot.waitUntil(lambda: "Key terms" in detail.reason.toPlainText(), timeout=10_000)
    assert len(model.batches) == 1  # one batch for the whole explanation
    reason = detail.reason.toPlainText()
    assert f"P(cited) {row.score:.2f}" in reason  # the same model and text: the same score as the table
    assert "would cite this one; many that fit are never cited" in reason  # what P(cited) is, said where it is shown
    assert "Searched Paper" not in reason and "Output format" not in reason
    html = detail.abstract.toHtml()
    legend = detail.abstract.toPlainText().splitlines()[0]
    assert "supports" in legend and "opposes" in legend  # the legend sits on the highlighted text
    assert "background-color:#" in html  # sentences shaded by their effect
    assert "font-weight:700" in html  # the words the paper shares with the question, in bold
    stored = {p.key: p.reason for p in library.run_papers(window.run_id)}
    assert stored[row.key].startswith(f"P(cited) {row.score:.2f}.")
    # Moving away and back shows the same highlighted explanation (kept for the session).
    results.table.selectRow(1)
    qtbot.waitUntil(lambda: detail.row is not None and detail.row.key != row.key, timeout=2_000)
    assert "background-color:#" not in detail.abstract.toHtml()
    results.table.selectRow(0)
    qtbot.waitUntil(lambda: "Key terms" in detail.reason.toPlainText(), timeout=2_000)
    assert "background-color:#" in detail.abstract.toHtml()
    screenshot(window, "h1b-explained")


def test_a_selector_that_echoes_its_prompt_says_it_cannot_explain(qtbot, windows, library) -> None:  # type: ignore[no-untyped-def]
    echo = ScriptedModel(lambda prompt: prompt)  # an LLM that answers with its own prompt
    window = windows(echo)
    results = window.search_panel.results
    results.table.selectRow(0)
    row = results.table.current_row()
    detail = results.detail
    detail.explain.click()
    qtbot.waitUntil(lambda: "cannot explain" in detail.reason.toPlainText(), timeout=10_000)
    text = detail.reason.toPlainText()
    assert text == CANNOT_EXPLAIN
    assert echo.prompts  # it was asked
    assert detail.explain.isEnabled()  # may be asked again, e.g. after switching the Selector
    stored = {p.key: p.reason for p in library.run_papers(window.run_id)}
    assert stored[row.key] == ""  # nothing stored as the paper's reason


def test_the_run_settings_set_the_rule_and_the_colour_scale() -> None:
    from engine.events import PaperScored, SearchStarted
    from ui.crawl_state import CrawlState

    state = CrawlState(threshold=0.5)
    state.apply(SearchStarted("q", settings={"select_rule": "threshold", "select_threshold": 0.2,
                                             "selector_calibrated": True}))
    for key, score in (("a", 0.9), ("b", 0.3), ("c", 0.05)):
        state.apply(PaperScored(key, score, score > 0.2))
    assert state.threshold == 0.2 and state.calibrated
    assert state.expected_cited() == pytest.approx(1.25) and state.select_min == 0
    state.apply(SearchStarted("q", settings={"select_rule": "threshold", "select_threshold": 0.2, "select_min": 2,
                                             "selector_calibrated": True}))
    assert state.select_min == 2
    # A resumed run's event without settings keeps what is known; an LLM run is not calibrated.
    state.apply(SearchStarted("q", resumed=True))
    assert state.calibrated
    state.apply(SearchStarted("q", settings={"select_rule": "top_unrejected", "select_k": 3}))
    assert not state.calibrated and state.expected_cited() is None and state.select_k == 3
    # Colours break at the threshold: below is red to amber, above is green.
    red, amber = colors.score_rgb(0.0, 0.2), colors.score_rgb(0.2, 0.2)
    assert red == (214, 69, 65) and amber == (232, 170, 40)
    just_above = colors.score_rgb(0.21, 0.2)
    assert just_above[1] > just_above[0] and colors.score_rgb(1.0, 0.2) == (46, 160, 67)


class UnscoredSearch(CalibratedSearch):
    """What the search loop emits before the relevance Selector is prepared (the service passes the engine's
    NoModel as Selector): the run's settings resolved for no Selector, the service's Notice, six papers found
    by retrieval and nothing scored. Recorded into the real library like every scripted search."""

    async def __call__(self, request, cancel: asyncio.Event) -> AsyncIterator[tuple[int, Event]]:  # type: ignore[no-untyped-def]
        from engine.agent.ranking import resolve_select_rule
        from engine.agent.settings import AgentSettings
        from engine.events import FoundBy, PapersFound, QueryIssued, SearchFinished, SearchStarted, SearchStatus
        from engine.models.base import NoModel
        from pasa_desktop.selector_setup import SetupStatus, not_scored_notice

        run_id = await asyncio.to_thread(self.library.create_run, request.query, {"preset": request.preset})
        settings = resolve_select_rule(AgentSettings(), NoModel().info)
        found = papers()
        events: list[Event] = [
            SearchStarted(query=request.query, settings=settings.model_dump(mode="json")),
            not_scored_notice(SetupStatus(ready=False, running=True, stage="embed", done=1024, total=7077)),
            QueryIssued(request.query, origin="user"),
            PapersFound(tuple(found), tuple(FoundBy("query", query=request.query, rank=k + 1, source="local")
                                            for k in range(len(found)))),
            SearchFinished(SearchStatus.DONE, seconds=0.1),
        ]
        for event in events:
            await asyncio.to_thread(self.library.record, run_id, event)
            yield run_id, event
            await asyncio.sleep(0)


def test_before_the_selector_is_ready_nothing_is_scored_and_the_plots_say_why(  # type: ignore[no-untyped-def]
        qtbot, make_window, library: Library) -> None:
    window = make_window(UnscoredSearch(library, KeywordRelevance()))
    window.search_panel.query.setPlainText(QUERY)
    window.search_panel.search_button.click()
    results = window.search_panel.results
    qtbot.waitUntil(lambda: window.state.finished is not None and results.model.total() == 6, timeout=10_000)
    rows = [results.model.row_at(i) for i in range(6)]
    assert all(r.score is None and not r.selected for r in rows)  # blank Score and Sel. cells
    assert {r.score for r in library.run_papers(window.run_id)} == {None}
    plots = window.search_panel.plots
    plots.redraw()
    assert sum(plots.histogram_counts()) == 0 and not plots._threshold.isVisible()
    caption = plots.caption.text()
    assert caption == "Not scored. The relevance Selector is being prepared: embedding papers (1,024 of 7,077, 14%)."
    assert "none is scored or selected" in plots.caption.toolTip()
    assert "none in this run" in plots.histogram.getAxis("bottom").labelText
    assert "About" not in caption and "not calibrated" not in caption
    screenshot(window, "h7-not-scored-yet")
    colors.set_threshold(None)
