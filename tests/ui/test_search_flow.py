"""A search driven through the window: tree, graph, plots, table and library fill as events arrive."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import screenshot
from tests.ui.scripted_search import ScriptedSearch, score_of


def test_search_fills_tree_plots_table_and_library(qtbot, make_window, library) -> None:  # type: ignore[no-untyped-def]
    window = make_window(ScriptedSearch(library, delay_s=0.005))
    panel = window.search_panel
    screenshot(window, "01-search-empty")
    qtbot.keyClicks(panel.query, "coded computation against stragglers in distributed training")
    qtbot.keyClick(panel.query, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.services.search.running and window.state.finished is not None, timeout=10_000)
    # After the search, the table is reloaded from the library (library ids, decisions, tags).
    qtbot.waitUntil(lambda: panel.results.model.total() == 22
                    and panel.results.model.row_at(0).library_id is not None, timeout=5_000)

    state = window.state
    assert len(state.papers) == 22 and len(state.scores) == 22
    expected_selected = sum(score_of(i) > 0.5 for i in range(22))
    assert len(state.selected) == expected_selected
    # Tree: root → 3 queries (+ nothing else) ; the expanded paper carries a section with 4 cited papers.
    tree = panel.tree_model
    root = tree.index(0, 0)
    assert tree.rowCount(root) == 3
    assert tree.data(root.siblingAtColumn(2)) == "22"
    assert tree.data(root.siblingAtColumn(3)) == str(expected_selected)
    # Plots: histogram counts every score, timeline ends at the final counts.
    plots = panel.plots
    assert sum(plots.histogram_counts()) == 22
    series = plots.timeline_series()
    assert series["found"][-1] == 22 and series["selected"][-1] == expected_selected
    # Table: sorted by score, best first; rows came back from the library with ids.
    first = panel.results.model.row_at(0)
    assert first.score == max(score_of(i) for i in range(22)) and first.library_id is not None
    # Library: the run is recorded with all its papers.
    runs = library.runs()
    assert len(runs) == 1 and runs[0].found == 22 and runs[0].status == "done"
    assert any("offline" in m for _, _, m in window.notifications.messages())
    panel.results.table.selectRow(0)
    screenshot(window, "02-search-done-tree")
    panel.view_toggle.setChecked(True)
    qtbot.wait(50)
    screenshot(window, "03-search-done-graph")
