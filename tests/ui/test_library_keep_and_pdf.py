"""What the library holds, in the window (issue #17): All papers counts and lists what the user kept (plus
the Selector's selections), a search's view lists everything it found with Keep one click (button, menu,
Ctrl+K) away; "Find PDF" downloads the open-access PDF over loopback, attaches it and shows its pages."""

from __future__ import annotations

from PySide6.QtCore import Qt

from pasa_desktop.settings import Settings
from tests.engine.fulltext.open_access_server import oa_api, small_pdf
from tests.engine.sources.fake_server import Reply
from tests.ui.scripted_search import score_of
from tests.ui.searched import searched
from ui.settings_dialog import SettingsDialog

__all__ = ["oa_api", "searched"]  # the shared fixtures

SELECTED = sum(score_of(i) > 0.5 for i in range(22))


def _keep_action(menu):  # type: ignore[no-untyped-def]
    return next(a for a in menu.actions() if "Keep" in a.text() or a.text() == "In your library")


def test_all_papers_is_what_was_kept_and_a_search_lists_the_rest(qtbot, searched, library) -> None:  # type: ignore[no-untyped-def]
    window = searched
    lib = window.library_panel
    window.tabs.setCurrentIndex(1)
    lib.tree.setCurrentItem(lib.tree.topLevelItem(0))
    qtbot.waitUntil(lambda: lib.results.model.total() == SELECTED, timeout=5_000)
    assert 0 < SELECTED < 22 and lib.tree.topLevelItem(0).text(1) == str(SELECTED)
    # The very set `pasa library list` prints (both call Library.search with library_only).
    assert {r.library_id for r in lib.results.model.all_rows()} == {
        p.id for p in library.search(library_only=True, limit=None)}

    # The search's own view: all 22, with how many are in the library.
    assert lib.show_run(window.run_id)
    model = lib.results.model
    qtbot.waitUntil(lambda: model.total() == 22, timeout=5_000)
    assert lib.scope_label.full_text() == (f"Search #{window.run_id} · 22 found, {SELECTED} in your library"
                                           " · Ctrl+K keeps the others")
    outside = [model.row_at(i) for i in range(22) if not model.row_at(i).in_library]
    assert len(outside) == 22 - SELECTED and all(r.in_library is False for r in outside)

    # 1. The detail pane's button.
    table, detail = lib.results.table, lib.results.detail
    table.select_key(outside[0].key)
    assert detail.keep.isVisibleTo(detail) and "Not in your library" in detail.library_state.text()
    detail.keep.click()
    qtbot.waitUntil(lambda: model.row_at(model.view_row_of(outside[0].key)).in_library is True, timeout=5_000)
    assert not detail.keep.isVisibleTo(detail) and detail.library_state.text() == "In your library"
    assert lib.tree.topLevelItem(0).text(1) == str(SELECTED + 1)
    assert f"{SELECTED + 1} in your library" in lib.scope_label.full_text()

    # 2. The context menu: disabled on a kept paper, keeps a selection of two.
    kept_row = model.row_at(model.view_row_of(outside[0].key))
    assert not _keep_action(window.action_handler.row_menu.build(lib.results, [kept_row])).isEnabled()
    menu = window.action_handler.row_menu.build(lib.results, outside[1:3])
    action = _keep_action(menu)
    assert action.text() == "＋ Keep 2 papers in library" and action.isEnabled()
    action.trigger()
    assert library.in_library([r.library_id for r in outside[:3]]) == {r.library_id for r in outside[:3]}

    # 3. The keyboard, on the table.
    table.select_key(outside[3].key)
    window.activateWindow()  # a shortcut reaches only the active window
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=2_000)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: outside[3].library_id in library.in_library([outside[3].library_id]), timeout=5_000)
    assert table.current_row() is not None and table.current_row().key == outside[3].key  # not moved by "k"

    # All papers now lists the four kept papers too, and so does the library search.
    lib.tree.setCurrentItem(lib.tree.topLevelItem(0))
    qtbot.waitUntil(lambda: lib.results.model.total() == SELECTED + 4, timeout=5_000)
    assert lib.tree.topLevelItem(0).text(1) == str(SELECTED + 4) == str(library.count_library())

    # Papers a search found but nobody kept are still found by the search tab's rows and can be kept there.
    live = window.search_panel.results
    remaining = next(r for r in live.model.all_rows() if r.library_id not in library.in_library([r.library_id]))
    live.table.select_key(remaining.key)
    live.detail.keep.click()
    qtbot.waitUntil(lambda: library.count_library() == SELECTED + 5, timeout=5_000)


def test_the_setting_leaves_selected_papers_out(qtbot, searched, library) -> None:  # type: ignore[no-untyped-def]
    window = searched
    settings = window.services.settings.model_copy(deep=True)
    settings.library.selected_join = False
    window.services.update_settings(settings, {})
    window.refresh_library()
    lib = window.library_panel
    lib.tree.setCurrentItem(lib.tree.topLevelItem(0))
    qtbot.waitUntil(lambda: lib.tree.topLevelItem(0).text(1) == "0", timeout=5_000)
    assert lib.results.model.total() == 0


def test_find_pdf_downloads_attaches_and_shows_it(qtbot, searched, library, oa_api) -> None:  # type: ignore[no-untyped-def]
    window = searched
    results = window.search_panel.results
    results.table.selectRow(0)
    row = results.table.current_row()
    oa_api.route(f"/arxiv/pdf/{row.arxiv_id}", Reply(200, small_pdf(row.title, pages=3), content_type="application/pdf"))
    detail = results.detail
    detail.tabs.setCurrentWidget(detail.pdf)
    assert detail.pdf.find_button.isEnabled()
    detail.pdf.find_button.click()
    papers = window.action_handler.papers
    qtbot.waitUntil(lambda: papers.last_fetch is not None, timeout=15_000)
    assert papers.last_fetch is not None and papers.last_fetch.attachment_id is not None
    qtbot.waitUntil(lambda: detail.pdf.page_count == 3, timeout=5_000)
    assert detail.pdf.page_label.text() == "1 / 3" and detail.tabs.tabText(1) == "PDF ✓"
    assert window.status_text.text().startswith("Found the open-access PDF via arXiv")
    assert [p.id for p in library.search("quokkabyte")] == [row.library_id]  # its text is indexed
    assert row.library_id in library.in_library([row.library_id])  # a file attached: in the library

    # A paper with no open-access copy anywhere: said plainly, nothing attached.
    papers.last_fetch = None
    results.table.selectRow(1)
    other = results.table.current_row()
    menu = window.action_handler.row_menu.build(results, [other])
    next(a for a in menu.actions() if a.text() == "Find PDF online").trigger()
    qtbot.waitUntil(lambda: papers.last_fetch is not None, timeout=15_000)
    assert papers.last_fetch is not None and papers.last_fetch.attachment_id is None
    assert window.status_text.text().startswith("No open-access PDF found (arXiv's PDF link failed")
    assert library.attachments(other.library_id) == []


def test_settings_offers_the_selected_join_setting(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The setting is in Settings → Library, not only in settings.json."""
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.selected_join.isChecked()
    dialog.selected_join.setChecked(False)
    assert dialog.result_settings().library.selected_join is False
