"""A paper's context menu, Markdown notes saved as you type, PDFs (attach, drop, pages, open) and imports by
menu and by drop, on the real window with a real SQLite library (issue #17)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, QPoint, QPointF, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QInputDialog

from tests.ui.conftest import screenshot
from tests.ui.searched import searched
from ui.row_menu import citation_text

__all__ = ["searched"]  # the shared fixture (tests/ui/searched.py)


def make_pdf(path: Path, pages: list[str]) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        page.insert_text((72, 96), text, fontsize=14)
        page.insert_text((72, 130), "A small real PDF made for this test.", fontsize=11)
    doc.save(path)
    doc.close()
    return path


def _action(menu, text: str):  # type: ignore[no-untyped-def]
    for action in menu.actions():
        if action.text().startswith(text):
            return action
        if action.menu() is not None:
            found = _action(action.menu(), text)
            if found is not None:
                return found
    return None


def _answer_input(text: str) -> None:
    """Type into the next QInputDialog and press OK (it runs its own event loop)."""
    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QInputDialog):
            dialog.setTextValue(text)
            dialog.accept()
        else:
            QTimer.singleShot(20, answer)

    QTimer.singleShot(20, answer)


def test_context_menu_on_result_and_library_rows(qtbot, searched, library) -> None:  # type: ignore[no-untyped-def]
    window = searched
    results = window.search_panel.results
    table = results.table
    table.selectRow(0)
    table.selectionModel().select(table.model().index(1, 0), table.selectionModel().SelectionFlag.Select
                                  | table.selectionModel().SelectionFlag.Rows)
    rows = table.selected_rows()
    # A right-click on a selected row opens the menu for the whole selection.
    table.customContextMenuRequested.emit(table.visualRect(table.model().index(1, 4)).center())
    menu = window.action_handler.row_menu.last_menu
    assert menu is not None
    qtbot.waitUntil(menu.isVisible, timeout=2_000)
    menu.close()
    texts = [a.text() for a in menu.actions() if a.text()]
    for wanted in ("✔ Accept 2 papers", "✘ Reject 2 papers", "Add tag…", "Add to collection", "Copy citation",
                   "Copy BibTeX", "Export these 2 papers…", "Open PDF", "Attach PDF…",
                   "Show the search that found it", "Search from this paper"):
        assert any(t.startswith(wanted) for t in texts), (wanted, texts)

    _action(menu, "✔ Accept").trigger()
    assert all(library.paper(r.library_id).decision is True for r in rows)
    _answer_input("screening")
    _action(menu, "Add tag…").trigger()
    assert all(library.paper(r.library_id).tags == ("screening",) for r in rows)
    _answer_input("Thesis/Related")
    _action(menu, "New collection…").trigger()
    collection = next(c for c in library.collections() if c.path == "Thesis/Related")
    assert collection.papers == 2
    _action(menu, "Copy citation").trigger()
    clip = QGuiApplication.clipboard().text()
    assert citation_text(rows[0]) in clip and rows[1].title in clip
    assert clip.startswith("Lovelace")  # family name first
    _action(menu, "Copy BibTeX").trigger()
    assert QGuiApplication.clipboard().text().count("@") == 2
    assert not _action(menu, "Open PDF").isEnabled()  # two papers, none attached

    # One row: the search that found it, and a new search seeded with it.
    table.selectRow(2)
    row = table.current_row()
    menu = window.action_handler.row_menu.build(results, [row])
    _action(menu, "Show the search that found it").trigger()
    assert window.tabs.currentIndex() == 1
    assert window.library_panel.current_run == window.run_id
    assert window.library_panel.results.table.current_row().key == row.key
    # The same menu on a library row ("All papers"): the run is looked up in the library.
    lib = window.library_panel
    lib.tree.setCurrentItem(lib.tree.topLevelItem(0))
    # All papers: the Selector's selections and the two papers accepted above (#17), not all 22 found.
    kept = library.count_library()
    assert kept < 22
    qtbot.waitUntil(lambda: lib.results.model.total() == kept, timeout=5_000)
    lib.results.table.selectRow(0)
    lib_row = lib.results.table.current_row()
    assert lib_row.key.startswith("library:")
    menu = window.action_handler.row_menu.build(lib.results, [lib_row])
    _action(menu, "Show the search that found it").trigger()
    assert lib.current_run == window.run_id
    menu = window.action_handler.row_menu.build(lib.results, [lib_row])
    _action(menu, "Search from this paper").trigger()
    assert window.tabs.currentIndex() == 0
    assert lib_row.title in window.search_panel.query.toPlainText()


def test_notes_save_as_you_type_and_are_searchable(qtbot, searched, library) -> None:  # type: ignore[no-untyped-def]
    window = searched
    window.tabs.setCurrentIndex(1)
    panel = window.library_panel
    kept = library.count_library()  # All papers: what the library holds (#17)
    qtbot.waitUntil(lambda: panel.results.model.total() == kept, timeout=5_000)
    panel.results.table.selectRow(0)
    row = panel.results.table.current_row()
    detail = panel.results.detail
    detail.tabs.setCurrentWidget(detail.notes)
    notes = detail.notes
    qtbot.waitUntil(notes.editor.isEnabled, timeout=2_000)
    notes.editor.setFocus()
    for i, line in enumerate(("# Reading notes", "", "Uses **zanzibarite** codes; compare with MDS.")):
        if i:
            qtbot.keyClick(notes.editor, Qt.Key.Key_Return)  # QTest types no newline characters
        qtbot.keyClicks(notes.editor, line)
    assert library.notes(row.library_id) == []  # not on every keystroke
    qtbot.waitUntil(lambda: [n.text for n in library.notes(row.library_id)]
                    == ["# Reading notes\n\nUses **zanzibarite** codes; compare with MDS."], timeout=3_000)
    assert notes.state.text() == "Saved in the library"
    # The library's FTS finds the paper by a word only its note holds.
    assert [p.id for p in library.search("zanzibarite")] == [row.library_id]
    panel.search_box.setText("zanzibarite")
    qtbot.waitUntil(lambda: panel.results.model.total() == 1, timeout=5_000)
    panel.results.table.selectRow(0)
    qtbot.waitUntil(lambda: "zanzibarite" in notes.text(), timeout=2_000)
    notes.preview_button.setChecked(True)
    assert "Reading notes" in notes.preview.toPlainText() and "#" not in notes.preview.toPlainText()
    screenshot(window, "h6-library-note")
    notes.preview_button.setChecked(False)
    # Switching papers saves at once (no wait for the pause); emptying a note deletes it.
    notes.editor.selectAll()
    qtbot.keyClick(notes.editor, Qt.Key.Key_Delete)
    panel.search_box.clear()
    qtbot.waitUntil(lambda: panel.results.model.total() == kept, timeout=5_000)
    assert notes.text() == ""  # the table reloaded under the editor: the typing is kept, not overwritten
    model = panel.results.model
    panel.results.table.selectRow(next(r for r in range(kept) if model.row_at(r).library_id != row.library_id))
    assert library.notes(row.library_id) == []
    assert library.search("zanzibarite") == []


class _Viewer(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toLocalFile())


def _drop(window, paths: list[Path]) -> None:  # type: ignore[no-untyped-def]
    """A real drag-enter and drop of local files on the window."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(300, 300), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)


def test_pdfs_attach_render_pages_index_and_open(qtbot, searched, library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window = searched
    results = window.search_panel.results
    results.table.selectRow(0)
    row = results.table.current_row()
    detail = results.detail
    detail.tabs.setCurrentWidget(detail.pdf)
    assert "No PDF attached" in detail.pdf.message.text() and detail.pdf.attach_button.isEnabled()
    pdf = make_pdf(tmp_path / "paper.pdf", ["First page about quokkaform lattices", "Second page"])
    detail.pdf.attach_requested.emit(str(pdf))  # as the button does once a file is chosen
    qtbot.waitUntil(lambda: detail.pdf.page_count == 2, timeout=10_000)
    assert not detail.pdf_view.pixmap().isNull() and detail.pdf.page_label.text() == "1 / 2"
    assert [a.original_name for a in library.attachments(row.library_id)] == ["paper.pdf"]
    assert [p.id for p in library.search("quokkaform")] == [row.library_id]  # its text is indexed
    detail.pdf.next_button.click()
    assert detail.pdf.page == 1 and not detail.pdf.next_button.isEnabled()
    screenshot(window, "h6-results-pdf")

    # Open in the system viewer: with none (this offscreen platform has none) a clear message...
    assert window.action_handler.papers.open_pdf(results.table.current_row().pdf_path) is False
    messages = [window.notifications.list.item(i).text() for i in range(window.notifications.list.count())]
    assert any("No application is set up to open PDF files" in m for m in messages)
    # ...and with one, the file is handed over.
    viewer = _Viewer()
    QDesktopServices.setUrlHandler("file", viewer, "open")
    try:
        detail.pdf.open_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert viewer.opened and Path(viewer.opened[0]).name == "paper.pdf"
    assert Path(viewer.opened[0]).parent != tmp_path  # the library's copy, not the original

    # A PDF dropped on the window attaches to the paper shown.
    results.table.selectRow(1)
    second = results.table.current_row()
    _drop(window, [make_pdf(tmp_path / "dropped.pdf", ["Dropped page on wombatite"])])
    qtbot.waitUntil(lambda: results.table.current_row().pdf_path.endswith("dropped.pdf"), timeout=10_000)
    assert [p.id for p in library.search("wombatite")] == [second.library_id]
    assert detail.pdf.page_count == 1


BIB = """@article{knuth1984,
  author = {Knuth, Donald E.},
  title = {Literate Programming},
  journal = {The Computer Journal},
  year = {1984},
  volume = {27},
  pages = {97--111},
  doi = {10.1093/comjnl/27.2.97}
}
@inproceedings{dean2004,
  author = {Dean, Jeffrey and Ghemawat, Sanjay},
  title = {MapReduce: Simplified Data Processing on Large Clusters},
  booktitle = {OSDI},
  year = {2004}
}
"""


def test_import_by_menu_and_by_drop(qtbot, make_window, library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    file_menu = window.menuBar().actions()[0].menu()
    assert any(a.text().replace("&", "").startswith("Import") for a in file_menu.actions())
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB, encoding="utf-8")
    window.action_handler.papers.import_file(str(bib))  # what File → Import… runs once a file is chosen
    qtbot.waitUntil(lambda: window.action_handler.papers.last_import is not None, timeout=10_000)
    assert library.count_papers() == 2
    assert "2 added" in window.status_text.text()
    window.action_handler.papers.last_import = None
    ris = tmp_path / "more.ris"
    ris.write_text("TY  - JOUR\nTI  - Attention Is All You Need\nAU  - Vaswani, Ashish\nPY  - 2017\nER  - \n",
                   encoding="utf-8")
    _drop(window, [ris])
    qtbot.waitUntil(lambda: window.action_handler.papers.last_import is not None, timeout=10_000)
    assert library.count_papers() == 3
    window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.library_panel.results.model.total() == 3, timeout=5_000)
