"""Reviewing results in the window (keyboard, tags, ratings, collections, reasons, PDFs), the library view,
and getting papers out: export files, the clipboard, and Zotero through a loopback connector server."""

from __future__ import annotations

import json
from pathlib import Path

import bibtexparser
import pytest
import rispy
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog

from tests.pasa_desktop.zotero.fake_zotero import FakeZotero
from tests.ui.conftest import screenshot
from tests.ui.searched import searched

__all__ = ["searched"]  # the shared fixture (tests/ui/searched.py)


def _paper(library, row):  # type: ignore[no-untyped-def]
    return library.paper(row.library_id)


def test_keyboard_review_updates_the_library(qtbot, searched, library) -> None:  # type: ignore[no-untyped-def]
    results = searched.search_panel.results
    table = results.table
    table.setFocus()
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_J)
    assert table.currentIndex().row() == 1
    qtbot.keyClick(table, Qt.Key.Key_K)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 1
    second = table.current_row()
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert _paper(library, second).decision is True
    assert table.current_row().decision == "accepted"  # the row stays put and shows it
    qtbot.keyClick(table, Qt.Key.Key_J)
    third = table.current_row()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert _paper(library, third).decision is False
    results.hide_rejected.setChecked(True)
    assert results.model.rowCount() == 21
    results.hide_rejected.setChecked(False)
    results.filter_edit.setText("lovelace8 icml")  # words match title, authors, venue, tags, year, found-by
    assert [results.model.row_at(i).title for i in range(results.model.rowCount())] == [
        "Straggler Mitigation for Distributed Training, Part 8"]
    results.filter_edit.clear()
    # Sorting by year keeps the selection on the same paper.
    table.selectRow(3)
    key = table.current_row().key
    table.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    assert table.current_row().key == key


def test_tag_rate_collect_and_explain(qtbot, searched, library) -> None:  # type: ignore[no-untyped-def]
    results = searched.search_panel.results
    results.table.selectRow(0)
    row = results.table.current_row()
    detail = results.detail
    qtbot.keyClicks(detail.tag_edit, "to-read")
    qtbot.keyClick(detail.tag_edit, Qt.Key.Key_Return)
    detail.rating.setCurrentIndex(4)
    detail.rating.activated.emit(4)
    paper = _paper(library, row)
    assert paper.tags == ("to-read",) and paper.rating == 4
    assert results.table.current_row().tags == ("to-read",)
    detail.collection_requested.emit(row.key, "Thesis/Background")
    collections = {c.path: c.papers for c in library.collections()}
    assert collections == {"Thesis": 1, "Thesis/Background": 1}  # a parent counts its sub-collections' papers
    # The detail pane's menu now offers the collections (and a new one).
    actions = [a.text() for a in detail.collection_button.menu().actions() if a.text()]
    assert actions == ["Thesis", "Thesis/Background", "New collection…"]
    # The Selector's reason on demand: generated off the GUI thread, shown, and stored with the run.
    detail.explain.click()
    qtbot.waitUntil(lambda: "coded computation" in detail.reason.toPlainText(), timeout=10_000)
    run_id = searched.run_id
    stored = {p.key: p.reason for p in library.run_papers(run_id)}
    assert "stragglers" in stored[row.key]
    screenshot(searched, "06-review-detail")


def test_library_view_search_collections_tags_and_pdf(qtbot, searched, library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pymupdf

    results = searched.search_panel.results
    results.table.selectRow(0)
    first = results.table.current_row()
    results.detail.tag_requested.emit(first.key, "important")
    results.detail.collection_requested.emit(first.key, "Reading")
    pdf = tmp_path / "paper.pdf"
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 96), first.title, fontsize=16)
    page.insert_text((72, 130), "A PDF attached to a library paper.", fontsize=11)
    doc.save(pdf)
    doc.close()
    library.attach(first.library_id, pdf)

    searched.tabs.setCurrentIndex(1)
    panel = searched.library_panel
    kept = library.count_library()  # All papers: the selections and the paper tagged above (#17)
    assert kept < 22
    qtbot.waitUntil(lambda: panel.results.model.total() == kept, timeout=5_000)
    assert panel.runs.count() == 1
    # Full-text search box (FTS5): "Gradient Coding" papers only.
    panel.search_box.setText("gradient coding")
    qtbot.waitUntil(lambda: 0 < panel.results.model.total() < kept, timeout=5_000)
    panel.search_box.clear()
    qtbot.waitUntil(lambda: panel.results.model.total() == kept, timeout=5_000)
    # Collections and tags in the sidebar narrow the table.
    items = panel.tree.findItems("Reading", Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly)
    panel.tree.setCurrentItem(items[0])
    assert panel.results.model.total() == 1
    items = panel.tree.findItems("important", Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly)
    panel.tree.setCurrentItem(items[0])
    assert panel.results.model.total() == 1
    panel.results.table.selectRow(0)
    detail = panel.results.detail
    qtbot.waitUntil(lambda: detail.pdf_view.pixmap() is not None and not detail.pdf_view.pixmap().isNull(),
                    timeout=5_000)
    assert detail.tabs.isTabEnabled(1)
    screenshot(searched, "07-library-collection")
    detail.tabs.setCurrentIndex(1)
    screenshot(searched, "08-library-pdf")
    # A past search shows its papers with scores.
    panel.runs.setCurrentRow(0)
    assert panel.results.model.total() == 22 and panel.results.model.row_at(0).score is not None
    assert not panel.resume_button.isEnabled()  # it finished: nothing to resume


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csljson"])
def test_export_from_the_window(qtbot, searched, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    table = searched.search_panel.results.table
    table.selectRow(0)
    table.selectionModel().select(table.model().index(1, 0), table.selectionModel().SelectionFlag.Select
                                  | table.selectionModel().SelectionFlag.Rows)
    chosen = [r.title for r in table.selected_rows()]
    assert len(chosen) == 2
    out = tmp_path / f"papers.{fmt}"
    searched.action_handler.export_selection(path=str(out), fmt=fmt)
    qtbot.waitUntil(lambda: out.exists() and "Exported 2 papers" in searched.status_text.text(), timeout=5_000)
    text = out.read_text(encoding="utf-8")
    if fmt == "bibtex":
        entries = bibtexparser.parse_string(text).entries
        titles = [e.fields_dict["title"].value.replace("{", "").replace("}", "") for e in entries]
        assert entries[0].fields_dict["eprint"].value.startswith("2101.")
    elif fmt == "ris":
        titles = [e["title"] for e in rispy.loads(text)]
    else:
        titles = [item["title"] for item in json.loads(text)]
    assert sorted(titles) == sorted(chosen)


def test_copy_bibtex_shortcut_action(qtbot, searched) -> None:  # type: ignore[no-untyped-def]
    searched.search_panel.results.table.selectRow(0)
    QGuiApplication.clipboard().clear()
    searched.copy_action.trigger()
    text = QGuiApplication.clipboard().text()
    assert text.startswith("@") and "eprint" in text
    assert searched.copy_action.shortcut().toString() == "Ctrl+Shift+C"


def _accept_modal(pick: str = "") -> QTimer:
    """Accept the next modal dialog (choosing `pick` in its combo box) once it is open."""
    timer = QTimer()

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog):
            timer.stop()
            if pick:
                combo = dialog.target  # type: ignore[attr-defined]
                combo.setCurrentIndex(combo.findText(pick))
            screenshot(dialog, "09-zotero-dialog")
            dialog.accept()

    timer.timeout.connect(poll)
    timer.start(20)
    return timer


def test_send_to_zotero_through_the_connector(qtbot, searched, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with FakeZotero() as zotero:
        monkeypatch.setenv("PASA_ZOTERO_URL", zotero.url)
        table = searched.search_panel.results.table
        table.selectRow(0)
        title = table.current_row().title
        timer = _accept_modal(pick="My Library/Thesis/Background")
        searched.action_handler.send_to_zotero()
        qtbot.waitUntil(lambda: getattr(searched, "last_zotero_report", None) is not None, timeout=10_000)
        timer.stop()
        report = searched.last_zotero_report
        assert report.sent == 1 and report.target == "My Library/Thesis/Background"
        saved = zotero.state.saved_items
        assert [item["title"] for item in saved] == [title]
        assert any("0.96" in note.get("note", "") for note in saved[0].get("notes", []))  # score note
        assert "1 item(s) sent to Zotero" in searched.status_text.text()


def test_zotero_not_running_is_a_clear_message(qtbot, searched, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PASA_ZOTERO_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    searched.search_panel.results.table.selectRow(0)
    searched.action_handler.send_to_zotero()
    qtbot.waitUntil(lambda: "not running" in searched.status_text.text(), timeout=10_000)
    messages = [m for level, source, m in searched.notifications.messages() if source == "Zotero"]
    assert messages and "not reachable" in messages[0] and "start Zotero" in messages[0]
    assert searched.notifications.isVisible()
    screenshot(searched, "10-zotero-not-running")
