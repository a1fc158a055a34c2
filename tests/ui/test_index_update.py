"""File → Update offline index: the window offers the harvest with the last update's date and runs it
in the background against a loopback OAI-PMH server serving arXiv's reply format."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from engine.sources.local_index import build_index
from pasa_desktop.offline_index import index_health
from tests.engine.index.arxiv_rows import write_snapshot
from tests.engine.index.conftest import DATA
from tests.engine.sources.fake_server import FakeServer, Reply


@contextmanager
def oai_server() -> Iterator[FakeServer]:
    """arXiv's OAI-PMH endpoint on loopback (/oai): two recorded pages, 2 added, 1 revised and 1 withdrawn
    paper up to 2024-03-05."""
    server = FakeServer().start()
    xml = "text/xml;charset=utf-8"
    server.route(
        "/oai",
        Reply(200, (DATA / "oai_page1.xml").read_bytes(), content_type=xml),
        Reply(200, (DATA / "oai_page2.xml").read_bytes(), content_type=xml),
    )
    try:
        yield server
    finally:
        server.stop()


def test_the_window_updates_the_offline_index(qtbot, make_window, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index = build_index(write_snapshot(tmp_path / "snapshot.json.gz", 20), tmp_path / "index.sqlite").path
    settings.paths.index = str(index)
    window = make_window(show=False)
    file_menu = window.menuBar().actions()[0].menu()
    (action,) = [a for a in file_menu.actions() if a.text() == "Update offline &index…"]
    asked: list[str] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QInputDialog)
        asked.append(dialog.labelText())
        dialog.setTextValue("2024-03-01")
        dialog.reject()  # cancelled: nothing happens

    QTimer.singleShot(50, answer)
    action.trigger()
    assert asked and "last update: never" in asked[0] and "20 papers" in asked[0]
    assert index_health(settings).last_update is None

    with oai_server() as server:
        window.start_index_update(date(2024, 3, 1), server.url + "/oai")
        qtbot.waitUntil(lambda: "Last update: 2024-03-05" in window.status_text.text(), timeout=60_000)
    assert "2 added, 1 revised, 1 removed" in window.status_text.text()
    assert index_health(settings).last_update == "2024-03-05"


def test_the_window_updates_on_its_schedule_when_the_last_update_is_old(  # type: ignore[no-untyped-def]
    qtbot, make_window, settings, tmp_path: Path
) -> None:
    from engine.sources.local_index import apply_updates
    from pasa_desktop.offline_index import due_update

    index = build_index(write_snapshot(tmp_path / "snapshot.json.gz", 20), tmp_path / "index.sqlite").path
    apply_updates(index, [], last_update="2024-03-01")  # updated once before, by hand
    settings.paths.index = str(index)
    assert due_update(settings) is None  # off by default
    settings.sources.index_update_days = 7
    assert due_update(settings, today=date(2024, 3, 5)) is None  # not a week old yet
    assert due_update(settings, today=date(2024, 3, 8)) == date(2024, 3, 1)
    with oai_server() as server:
        settings.sources.index_update_days = 0  # the startup check would ask arXiv itself
        window = make_window(show=False)
        settings.sources.index_update_days = 7
        window.maybe_update_index(server.url + "/oai")
        qtbot.waitUntil(lambda: "Last update: 2024-03-05" in window.status_text.text(), timeout=60_000)
        assert server.hits("/oai")[0].query["from"] == ["2024-03-01"]
