"""The search table says what its score and sel columns mean for the run, from the run's own settings."""

from __future__ import annotations

from engine.agent.settings import AgentSettings
from pasa_desktop.cli.search import score_legend


def test_a_calibrated_selector_names_its_recorded_rule() -> None:
    settings = AgentSettings(select_rule="threshold", select_threshold=0.125, select_min=2, selector_calibrated=True)
    legend = score_legend(settings.model_dump(mode="json"))
    assert legend.startswith("score: P(cited), calibrated")
    assert "many that fit go uncited" in legend
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


def test_the_sel_column_marks_only_scored_papers_as_not_selected(capsys) -> None:  # type: ignore[no-untyped-def]
    """✗ is the Selector's "no": a paper it never scored (no Selector ready, or below score_top) reads –."""
    from engine.events import RankedPaper, SearchFinished, SearchStatus
    from engine.papers import Paper
    from pasa_desktop.cli.search import print_table

    results = (
        RankedPaper(Paper(id="a", title="Scored and selected"), 3.0, 0.9, True, ()),
        RankedPaper(Paper(id="b", title="Scored, not selected"), 2.0, 0.1, False, ()),
        RankedPaper(Paper(id="c", title="Never scored"), 1.0, None, False, ()),
    )
    print_table(SearchFinished(SearchStatus.DONE, results=results), 10, 0)
    rows = {line.split("│")[4].strip(): line.split("│")[3].strip() for line in capsys.readouterr().out.splitlines()
            if line.count("│") >= 8}
    assert rows == {"Scored and selected": "✓", "Scored, not selected": "✗", "Never scored": "–"}


def test_crawler_samples_help_says_when_it_has_an_effect(capsys) -> None:  # type: ignore[no-untyped-def]
    """The engine asks the Crawler for queries only when it writes them (engine/agent/crawler.py): not the
    embedded one under the default "auto", so --crawler-samples alone changes nothing there."""
    import pytest

    from engine.agent.crawler import crawler_writes_queries_for
    from pasa_desktop.cli.main import main

    assert not crawler_writes_queries_for(AgentSettings(crawler_samples=4), "embedded")
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    assert "the embedded Crawler does not, by default" in " ".join(capsys.readouterr().out.split())
