"""The search table says what its score and sel columns mean for the run, from the run's own settings."""

from __future__ import annotations

from engine.agent.settings import AgentSettings
from pasa_desktop.cli.search import score_legend


def test_a_calibrated_selector_names_its_recorded_rule() -> None:
    settings = AgentSettings(select_rule="threshold", select_threshold=0.125, select_min=2, selector_calibrated=True)
    legend = score_legend(settings.model_dump(mode="json"))
    assert legend.startswith("score: P(relevant), calibrated")
    assert "score > 0.125, and at least the best 2 by rank" in legend


def test_an_uncalibrated_selector_is_not_presented_as_a_probability_of_relevance() -> None:
    settings = AgentSettings(select_rule="top_unrejected", select_k=1, selector_calibrated=False)
    legend = score_legend(settings.model_dump(mode="json"))
    assert "not calibrated (not a probability of relevance)" in legend and "sel: the best 1 by rank" in legend


def test_a_search_without_a_selector_says_nothing_was_scored_or_selected() -> None:
    from engine.agent.ranking import resolve_select_rule
    from engine.events import SearchFinished, SearchStatus
    from engine.models.base import NoModel
    from pasa_desktop.cli.search import results_json

    settings = resolve_select_rule(AgentSettings(), NoModel().info).model_dump(mode="json")
    assert settings["score_top"] == 0 and settings["select_min"] == 0
    legend = score_legend(settings)
    assert legend.startswith("score: none") and "nothing selected" in legend and "retrieval" in legend
    report = results_json(3, SearchFinished(SearchStatus.DONE), settings)
    assert report["scored"] is False and report["score_legend"] == legend and report["papers"] == []
