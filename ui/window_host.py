"""What the window's command modules use of the main window, as a base class the window fills in.

`actions`, `paper_actions`, `row_menu` and `metadata_action` type their window as `WindowHost`, not as
`MainWindow`: main_window imports them to build its menus, so importing main_window back (even for types)
was an import cycle. The window is also their Qt parent for dialogs, hence a QMainWindow base rather
than a Protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget

if TYPE_CHECKING:
    from pasa_desktop.gui_controller import AppServices
    from ui.library_panel import LibraryPanel
    from ui.results_panel import ResultsPanel
    from ui.search_panel import SearchPanel

SEARCH_TAB, LIBRARY_TAB = 0, 1


class WindowHost(QMainWindow):
    """The attributes and calls the command modules rely on; MainWindow sets and overrides them all."""

    services: AppServices
    run_id: int | None  # the search shown in the Search tab
    search_panel: SearchPanel
    library_panel: LibraryPanel
    tabs: QTabWidget
    status_text: QLabel

    def refresh_library(self) -> None:
        raise NotImplementedError

    def run_later(self, fn: Callable[[], Any], on_result: Callable[[Any], object], source: str,
                  on_error: Callable[[], object] | None = None) -> None:
        raise NotImplementedError

    def show_error(self, source: str, message: str, level: str = "error") -> None:
        raise NotImplementedError

    def current_results(self) -> ResultsPanel:
        raise NotImplementedError

    def current_run_id(self) -> int | None:
        raise NotImplementedError

    def sync_theme_menu(self, theme: str) -> None:
        raise NotImplementedError
