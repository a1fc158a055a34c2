"""A score and a selection belong to a search: the library's own lists (All papers, a collection, a tag)
carry neither, so they show no Score or Sel. column, their filter reads "Accepted only" (it would hide
the papers the Selector selected) and the detail pane does not call their papers "not scored"; a past
search's view shows both, with "Selected / accepted only"."""

from __future__ import annotations

from tests.ui.scripted_search import score_of
from tests.ui.searched import searched
from ui.paper_table import SCORE
from ui.paper_table import SELECTED as SEL_COLUMN

__all__ = ["searched"]  # the shared fixture

SELECTED = sum(score_of(i) > 0.5 for i in range(22))


def test_scores_and_selection_show_only_in_a_search_view(qtbot, searched) -> None:  # type: ignore[no-untyped-def]
    window = searched
    lib = window.library_panel
    window.tabs.setCurrentIndex(1)
    lib.tree.setCurrentItem(lib.tree.topLevelItem(0))
    results = lib.results
    qtbot.waitUntil(lambda: results.model.total() == SELECTED, timeout=5_000)
    # All papers holds the selected papers (selected_join), but its rows carry no score or selection.
    assert all(r.score is None and not r.selected for r in results.model.all_rows())
    assert results.table.isColumnHidden(SCORE) and results.table.isColumnHidden(SEL_COLUMN)
    assert results.selected_only.text() == "Accepted only"
    # The detail pane does not call a selected paper "not scored" there: the score is its search's.
    results.table.selectRow(0)
    assert "Scores belong to searches" in results.detail.score.text()

    assert lib.show_run(window.run_id)
    qtbot.waitUntil(lambda: results.model.total() == 22, timeout=5_000)
    assert not results.table.isColumnHidden(SCORE) and not results.table.isColumnHidden(SEL_COLUMN)
    assert results.selected_only.text() == "Selected / accepted only"
    results.selected_only.setChecked(True)
    assert results.model.rowCount() == SELECTED  # the filter now finds what the Selector selected
    results.table.selectRow(0)
    assert "Selector score" in results.detail.score.text() and "(selected)" in results.detail.score.text()
    assert lib.current_query == "coded computation against stragglers"

    lib.tree.setCurrentItem(lib.tree.topLevelItem(0))
    qtbot.waitUntil(lambda: results.model.total() == SELECTED, timeout=5_000)
    assert results.table.isColumnHidden(SCORE) and results.selected_only.text() == "Accepted only"
    assert lib.current_query == ""  # Explain there does not use the question of the search shown before
