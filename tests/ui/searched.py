"""The `searched` fixture: the window after a finished scripted search (22 papers) whose rows were reloaded
from the library (library ids known). Import it into a test module to use it."""

from __future__ import annotations

import pytest

from tests.ui.scripted_search import ScriptedSearch


@pytest.fixture
def searched(qtbot, make_window, library):  # type: ignore[no-untyped-def]
    window = make_window(ScriptedSearch(library, delay_s=0.0))
    window.search_panel.query.setPlainText("coded computation against stragglers")
    window.search_panel.search_button.click()
    results = window.search_panel.results
    qtbot.waitUntil(lambda: window.state.finished is not None and not window.services.search.running
                    and results.model.total() == 22 and results.model.row_at(0).library_id is not None,
                    timeout=20_000)
    return window
