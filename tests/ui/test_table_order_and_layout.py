"""Ordering and finding in the papers table (rank column, unscored last, what the filter reads, Ctrl+F,
filters per search), and the window at 1024×700 in light and dark (issue #17)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from pasa_desktop.gui_controller import ResultRow
from tests.ui.conftest import screenshot
from tests.ui.scripted_search import ScriptedSearch
from tests.ui.searched import searched
from ui.paper_table import FOUND_BY, RANK, SCORE, TITLE, YEAR, PaperTableModel, RowFilter, fit_widths

__all__ = ["searched"]  # the shared fixture (tests/ui/searched.py)


def _rows() -> list[ResultRow]:
    # Delivered in the agent's order: c, a, d, b, e (d and e unscored).
    return [
        ResultRow(key="c", title="Gamma", score=0.4, year=2019, found_by="query: coded computation"),
        ResultRow(key="a", title="Alpha", score=0.9, year=None, found_by="query: coded computation"),
        ResultRow(key="d", title="Delta coded", score=None, year=2021, found_by="cited by Alpha"),
        ResultRow(key="b", title="Beta", score=0.1, year=2017, authors=("Ada Lovelace",), tags=("to-read",),
                  venue="NeurIPS"),
        ResultRow(key="e", title="Epsilon", score=None, year=2015),
    ]


def _keys(model: PaperTableModel) -> list[str]:
    return [model.row_at(i).key for i in range(model.rowCount())]


def test_rank_restores_the_agents_order_and_unscored_rows_stay_last(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = PaperTableModel()
    model.set_rows(_rows())
    assert _keys(model) == ["a", "c", "b", "d", "e"]  # default: score, best first; unscored last
    model.sort(SCORE, Qt.SortOrder.AscendingOrder)
    assert _keys(model) == ["b", "c", "a", "d", "e"]  # unscored still last, in rank order
    model.sort(TITLE, Qt.SortOrder.AscendingOrder)
    assert _keys(model)[0] == "a"
    model.sort(RANK, Qt.SortOrder.AscendingOrder)
    assert _keys(model) == ["c", "a", "d", "b", "e"]  # the agent's order is back
    assert [model.data(model.index(r, RANK)) for r in range(5)] == ["1", "2", "3", "4", "5"]
    model.sort(YEAR, Qt.SortOrder.DescendingOrder)
    assert _keys(model) == ["d", "c", "b", "e", "a"]  # no year: last in both directions too
    model.sort(YEAR, Qt.SortOrder.AscendingOrder)
    assert _keys(model) == ["e", "b", "c", "d", "a"]
    # A row found later gets the next rank.
    model.upsert([ResultRow(key="f", title="Phi", score=0.5)])
    model.sort(RANK, Qt.SortOrder.DescendingOrder)
    assert _keys(model)[0] == "f" and model.data(model.index(0, RANK)) == "6"


def test_filter_reads_title_authors_venue_year_and_tags_not_found_by(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = PaperTableModel()
    model.set_rows(_rows())
    model.set_filter(RowFilter("coded"))
    assert _keys(model) == ["d"]  # "coded" is in every Found-by text but only in Delta's title
    for text, expected in (("lovelace", ["b"]), ("neurips", ["b"]), ("2017", ["b"]), ("to-read", ["b"]),
                           ("query", [])):
        model.set_filter(RowFilter(text))
        assert _keys(model) == expected, text


def test_fit_widths_gives_up_found_by_first() -> None:
    preferred = {RANK: 40, SCORE: 54, FOUND_BY: 170, 9: 90, 10: 62, 7: 84, 5: 130}
    assert fit_widths(2000, preferred) == preferred
    narrow = fit_widths(700, preferred)
    assert narrow[FOUND_BY] < preferred[FOUND_BY] and narrow[RANK] == 40
    assert sum(narrow.values()) + int(700 * 0.4) <= 700 or all(
        narrow[c] == 36 for c in (FOUND_BY, 9, 10, 7, 5))


def test_ctrl_f_finds_in_the_table_and_filters_reset_per_search(qtbot, searched) -> None:  # type: ignore[no-untyped-def]
    window = searched
    results = window.search_panel.results
    window.activateWindow()
    window.search_panel.query.setFocus()
    qtbot.keyClick(window.search_panel.query, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert results.filter_edit.hasFocus()
    assert window.search_panel.query.toPlainText() == "coded computation against stragglers"
    results.filter_edit.setText("part 8")
    results.selected_only.setChecked(True)
    assert results.model.rowCount() < 22
    window.search_panel.search_button.click()  # a new search: nothing carried over
    assert results.filter_edit.text() == "" and not results.selected_only.isChecked()
    qtbot.waitUntil(lambda: window.state.finished is not None and not window.services.search.running,
                    timeout=20_000)
    assert results.model.rowCount() == results.model.total() == 22
    # In the library, choosing another past search resets them too.
    window.tabs.setCurrentIndex(1)
    library = window.library_panel
    qtbot.waitUntil(lambda: library.runs.count() == 2, timeout=5_000)
    library.results.hide_rejected.setChecked(True)
    library.runs.setCurrentRow(1)
    assert not library.results.hide_rejected.isChecked()
    qtbot.keyClick(library.results.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert library.results.filter_edit.hasFocus()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_1024x700_title_keeps_priority_and_theme_choice(qtbot, searched, theme: str) -> None:  # type: ignore[no-untyped-def]
    from pasa_desktop.settings import load_settings
    from ui.theme import apply_theme, dark_palette

    window = searched
    app = QApplication.instance()
    try:
        window.theme_actions[theme].trigger()  # View → Theme
        assert window.theme_actions[theme].isChecked()
        assert load_settings().appearance.theme == theme  # remembered
        dark = app.palette().base().color() == dark_palette().base().color()
        assert dark == (theme == "dark")
        # The plots follow the switch too (they took their colours when they were made).
        plots = window.search_panel.plots
        assert plots.histogram.backgroundBrush().color() == app.palette().base().color()
        legend = plots.timeline.getPlotItem().legend
        assert all(app.palette().text().color().name() in label.item.toHtml() for _s, label in legend.items)
        window.resize(1024, 700)
        results = window.search_panel.results
        results.table.selectRow(0)
        QApplication.processEvents()
        window.resize(1024, 700)  # with a paper shown, the window still fits 700 px (the pane scrolls)
        qtbot.waitUntil(lambda: (window.width(), window.height()) == (1024, 700), timeout=2_000)
        table = results.table
        title = table.columnWidth(TITLE)
        assert title >= 0.35 * table.viewport().width(), (title, table.viewport().width())
        assert table.columnWidth(FOUND_BY) < 170  # gave way first
        # The chosen budget button looks chosen: its background differs from the other buttons'.
        panel = window.search_panel
        chosen, other = panel.presets.checkedButton(), panel.presets.button(0)
        image_chosen, image_other = chosen.grab().toImage(), other.grab().toImage()
        y = image_chosen.height() // 2
        assert image_chosen.pixelColor(6, y) != image_other.pixelColor(6, y)
        screenshot(window, f"h6-1024x700-results-{theme}")
        window.tabs.setCurrentIndex(1)
        library = window.library_panel
        qtbot.waitUntil(lambda: library.results.model.total() > 0, timeout=5_000)
        QApplication.processEvents()
        filter_box = library.results.filter_edit
        assert filter_box.width() >= filter_box.fontMetrics().horizontalAdvance("x" * 20)
        assert library.search_box.width() >= 200
        screenshot(window, f"h6-1024x700-library-{theme}")
    finally:
        apply_theme(app, "light")


def test_theme_in_settings_dialog(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    from ui.settings_dialog import SettingsDialog
    from ui.theme import apply_theme, chosen_theme

    window = make_window()
    dialog = SettingsDialog(window.services.settings, window)
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    try:
        window.action_handler.apply_settings(dialog.result_settings(), {})
        assert window.services.settings.appearance.theme == "dark"
        assert chosen_theme() == "dark" and window.theme_actions["dark"].isChecked()
    finally:
        apply_theme(QApplication.instance(), "light")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_check_boxes_show_their_frame_and_state(qtbot, theme: str) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QCheckBox

    from ui.theme import apply_theme

    app = QApplication.instance()
    apply_theme(app, theme)
    try:
        boxes = []
        for checked in (False, True):
            box = QCheckBox("Hide rejected")
            box.setChecked(checked)
            qtbot.addWidget(box)
            box.show()
            boxes.append(box.grab().toImage())
        background = app.palette().window().color()

        def contrast(image, x0: int, x1: int) -> float:  # type: ignore[no-untyped-def]
            """Largest lightness difference from the window colour within the indicator's columns."""
            return max(abs(QColor(image.pixelColor(x, y)).lightnessF() - background.lightnessF())
                       for x in range(x0, x1) for y in range(image.height()))

        unchecked, checked = boxes
        assert contrast(unchecked, 0, 18) > 0.25  # the empty box's frame stands out
        # Checked and unchecked look different inside the box.
        assert any(unchecked.pixelColor(x, y) != checked.pixelColor(x, y)
                   for x in range(2, 16) for y in range(2, unchecked.height() - 2))
    finally:
        apply_theme(app, "light")


def test_saved_theme_applies_when_the_window_opens(qtbot, settings, make_window) -> None:  # type: ignore[no-untyped-def]
    from ui.theme import apply_theme, chosen_theme, dark_palette

    app = QApplication.instance()
    apply_theme(app, "light")
    settings.appearance.theme = "dark"
    try:
        window = make_window()
        assert chosen_theme() == "dark" and window.theme_actions["dark"].isChecked()
        assert app.palette().base().color() == dark_palette().base().color()
    finally:
        apply_theme(app, "light")


def test_rank_is_discovery_order_while_a_search_runs(qtbot, make_window, library) -> None:  # type: ignore[no-untyped-def]
    window = make_window(ScriptedSearch(library, delay_s=0.05))
    window.search_panel.query.setPlainText("coded computation against stragglers")
    window.search_panel.search_button.click()
    model = window.search_panel.results.model
    qtbot.waitUntil(lambda: model.total() >= 8, timeout=20_000)
    found = list(window.state.papers)  # in the order the search found them
    shown = [r.key for r in model.all_rows()]  # rank order
    assert shown == [k for k in found if k in set(shown)]
    window.cancel_search()
    qtbot.waitUntil(lambda: not window.services.search.running, timeout=10_000)
