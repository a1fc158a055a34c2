"""`pasa search`'s progress bar counts what the Selector will score (its score_top a layer), as the window's does."""

from __future__ import annotations

from engine import events


def test_pasa_search_bar_has_the_length_of_what_is_scored() -> None:
    from pasa_desktop.cli.search import score_total

    def at(stage: str, found: int, scored: int) -> events.Progress:
        return events.Progress(stage, "", events.Counts(found=found, scored=scored))

    assert score_total(at("score", 60, 20), 20) == 20
    assert score_total(at("score", 12, 3), 20) == 12
    assert score_total(at("score", 60, 25), 20) == 25  # a later layer scored papers that rose into the top
    assert score_total(at("search", 60, 0), 20) is None
    assert score_total(at("score", 60, 0), 0) is None  # no Selector: nothing to count towards
    assert score_total(at("score", 60, 5), None) == 60  # a run that did not say: every paper found
