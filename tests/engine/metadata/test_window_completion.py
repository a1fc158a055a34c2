"""The paper menu's "Complete metadata online" on the real window, against the recorded replies on loopback."""

from __future__ import annotations

from pasa_desktop.library import NewEntry
from tests.engine.metadata import sources
from tests.engine.metadata.sources import metadata_api
from tests.ui.conftest import library, make_window, settings

__all__ = ["library", "make_window", "metadata_api", "settings"]

# Imported without authors (as an index record exported and read back would be): authors are blank.
BERT = sources.BERT.with_updates(id="import:refs.bib:bert", source="import:refs.bib")


def library_row(qtbot, window):  # type: ignore[no-untyped-def]
    """The one paper of the library, selected in All papers."""
    lib = window.library_panel
    window.tabs.setCurrentIndex(1)
    lib.tree.setCurrentItem(lib.tree.topLevelItem(0))
    qtbot.waitUntil(lambda: lib.results.model.total() == 1, timeout=5_000)
    lib.results.table.selectRow(0)
    return lib.results.table.current_row()


def test_complete_metadata_from_the_row_menu(qtbot, make_window, library, metadata_api) -> None:  # type: ignore[no-untyped-def]
    pid = library.add_entries([NewEntry(paper=BERT)])[0].paper_id
    window = make_window()
    lib = window.library_panel
    row = library_row(qtbot, window)
    menu = window.action_handler.row_menu.build(lib.results, [row])
    action = next(a for a in menu.actions() if a.text() == "Complete metadata online")
    action.trigger()
    qtbot.waitUntil(lambda: library.paper(pid).authors != (), timeout=15_000)
    paper = library.paper(pid)
    assert paper.authors[0] == "Jacob Devlin" and paper.venue == "NAACL" and paper.doi == "10.18653/v1/n19-1423"
    qtbot.waitUntil(lambda: window.status_text.text().startswith("Completed 1 of 1 paper"), timeout=5_000)
    # The view shows the new authors without a restart.
    qtbot.waitUntil(lambda: lib.results.model.row_at(0).authors[:1] == ("Jacob Devlin",), timeout=5_000)


def test_the_window_export_completes_first_when_online(
    qtbot, make_window, library, settings, metadata_api, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    pid = library.add_entries([NewEntry(paper=BERT)])[0].paper_id
    settings.sources.enabled = ["local", "arxiv"]  # the user let the app go online
    window = make_window()
    library_row(qtbot, window)
    target = tmp_path / "refs.bib"
    window.action_handler.export_selection(path=str(target), fmt="bibtex")
    qtbot.waitUntil(lambda: window.status_text.text().startswith("Exported 1 paper"), timeout=15_000)
    assert "metadata completed first: 1 paper," in window.status_text.text()
    bib = target.read_text()
    assert "Devlin, Jacob" in bib and "10.18653/v1/n19-1423" in bib
    assert library.paper(pid).venue == "NAACL"
