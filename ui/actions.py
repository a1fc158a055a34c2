"""Window-level commands: export, Send to Zotero, copy BibTeX, settings. Dialogs here, work in services."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.errors import PasaError
from pasa_desktop.gui_controller import EXPORT_FORMATS, ResultRow

if TYPE_CHECKING:
    from ui.window_host import WindowHost

FORMAT_FILTERS = {
    "bibtex": "BibTeX (*.bib)",
    "ris": "RIS (*.ris)",
    "csljson": "CSL-JSON (*.json)",
}


class ZoteroDialog(QDialog):
    """Pick the Zotero collection to save into (the connector saves to the one selected in Zotero by default)."""

    def __init__(self, count: int, targets: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send to Zotero")
        self.target = QComboBox()
        self.target.addItem("Collection currently selected in Zotero", "")
        for target_id, name in targets:
            self.target.addItem(name, target_id)
        self.setMinimumWidth(460)
        intro = QLabel("Zotero is running. The papers go in with their tags, your notes, the Selector's "
                       "score and reason as a note, and attached PDFs.")
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Papers", QLabel(str(count)))
        form.addRow("Save into", self.target)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def target_id(self) -> str:
        return str(self.target.currentData() or "")


class ActionHandler:
    def __init__(self, window: WindowHost) -> None:
        from ui.paper_actions import PaperActions
        from ui.row_menu import RowMenu

        self.window = window
        # Notes, PDFs, imports and drops (paper_actions) and the rows' context menu (row_menu), for both
        # the search's and the library's tables.
        self.papers = PaperActions(window)
        self.row_menu = RowMenu(window, self.papers, self)
        for panel in self.papers.panels():
            panel.menu_requested.connect(lambda rows, pos, p=panel: self.row_menu.popup(p, rows, pos))
        from PySide6.QtWidgets import QApplication

        from ui.theme import apply_saved_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_saved_theme(app, window.services.settings.appearance.theme)

    # -- finding, importing, appearance ------------------------------------------------------------

    def find(self) -> None:
        """Ctrl+F: the filter box of the table in view (not the query box)."""
        self.window.current_results().focus_filter()

    def import_file(self) -> None:
        self.papers.choose_import()

    def set_theme(self, theme: str) -> None:
        """Apply and remember a theme ("system", "light" or "dark")."""
        from PySide6.QtWidgets import QApplication

        from ui.theme import apply_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        from ui.colors import restyle_plots

        restyle_plots(self.window)
        self.window.sync_theme_menu(theme)
        current = self.window.services.settings
        if current.appearance.theme != theme:
            appearance = current.appearance.model_copy(update={"theme": theme})
            try:
                self.window.services.update_settings(current.model_copy(update={"appearance": appearance}), {})
            except PasaError as exc:
                self.window.show_error("Settings", str(exc))
        self.window.status_text.setText(f"Theme: {theme}.")

    def _selection(self) -> tuple[list[ResultRow], int | None] | None:
        panel = self.window.current_results()
        rows = panel.selected_rows()
        if not rows:
            rows = panel.model.visible_rows() if panel.model.rowCount() else []
            if not rows:
                self.window.show_error("Export", "Nothing to export yet: select papers in a table.", "warning")
                return None
        if not self.window.services.library_ready():
            self.window.show_error("Export", "The library is still opening; try again in a moment.", "warning")
            return None
        return rows, self.window.current_run_id()

    # -- export ------------------------------------------------------------------------------------

    def export_selection(self, *, path: str | None = None, fmt: str | None = None) -> None:
        """Ask for a file (the filter picks the format) and write the selected papers there."""
        picked = self._selection()
        if picked is None:
            return
        rows, run_id = picked
        if path is None:
            filters = ";;".join(FORMAT_FILTERS.values())
            path, chosen = QFileDialog.getSaveFileName(
                self.window, f"Export {len(rows)} paper{'s' * (len(rows) != 1)}",
                os.path.join(os.path.expanduser("~"), "papers.bib"), filters,
            )
            if not path:
                return
            fmt = next((k for k, v in FORMAT_FILTERS.items() if v == chosen), None)
        fmt = fmt or _format_from_suffix(path)
        if not os.path.splitext(path)[1]:
            path += EXPORT_FORMATS[fmt]
        target, target_fmt = path, fmt
        # Imported here, not at the top: it loads the library (SQLAlchemy, ~1.3 s) and the window must
        # open before that (cold start).
        from ui.metadata_action import export_completed, exported

        self.window.run_later(  # metadata completed first when online (#17, ui/metadata_action.py)
            lambda: export_completed(self.window.services, rows, target_fmt, target, run_id),
            lambda result: exported(self.window, target, result),
            "Export",
        )

    def copy_bibtex(self) -> None:
        picked = self._selection()
        if picked is None:
            return
        rows, run_id = picked
        try:
            text = self.window.services.export_text(rows, "bibtex", run_id)
        except PasaError as exc:
            self.window.show_error("Export", str(exc))
            return
        QGuiApplication.clipboard().setText(text)
        self.window.status_text.setText(f"Copied BibTeX of {len(rows)} paper{'s' * (len(rows) != 1)}.")

    # -- Zotero ------------------------------------------------------------------------------------

    def send_to_zotero(self) -> None:
        picked = self._selection()
        if picked is None:
            return
        rows, run_id = picked
        services = self.window.services
        self.window.status_text.setText("Looking for Zotero…")

        def ready(targets: list[tuple[str, str]]) -> None:
            dialog = ZoteroDialog(len(rows), targets, self.window)
            self.window.zotero_dialog = dialog  # type: ignore[attr-defined]  # tests reach it
            if dialog.exec() != QDialog.DialogCode.Accepted:
                self.window.status_text.setText("Send to Zotero cancelled.")
                return
            self.push_to_zotero(rows, run_id, dialog.target_id())

        def unavailable() -> None:
            self.window.status_text.setText("Zotero is not running — start Zotero desktop and try again.")

        self.window.run_later(services.zotero_targets, ready, "Zotero", on_error=unavailable)

    def push_to_zotero(self, rows: list[ResultRow], run_id: int | None, target: str) -> None:
        self.window.status_text.setText(f"Sending {len(rows)} papers to Zotero…")
        def done(report: Any) -> None:
            self.window.status_text.setText(report.summary())
            for warning in report.warnings:
                self.window.show_error("Zotero", warning, "warning")
            for failure in report.failed:
                self.window.show_error("Zotero", f"not sent: {failure}")
            self.window.last_zotero_report = report  # type: ignore[attr-defined]  # tests read the last report

        self.window.run_later(lambda: self.window.services.zotero_push(rows, run_id, target), done, "Zotero")

    # -- settings ----------------------------------------------------------------------------------

    def open_settings(self) -> None:
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.window.services.settings, self.window, self.window.services.key_status())
        self.window.settings_dialog = dialog  # type: ignore[attr-defined]  # tests reach the open dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings(), dialog.api_keys())

    def apply_settings(self, settings: Any, keys: dict[str, str]) -> None:
        try:
            self.window.services.update_settings(settings, keys)
        except PasaError as exc:
            self.window.show_error("Settings", str(exc))
            return
        if settings.appearance.theme != self._shown_theme():
            self.set_theme(settings.appearance.theme)
        panel = self.window.search_panel
        from ui.settings_dialog import KNOWN_SOURCES

        panel.set_options(list(KNOWN_SOURCES), settings.sources.enabled,
                          [p.name for p in settings.profiles] or ["embedded"], settings.crawler_profile,
                          settings.selector_profile)
        panel.show_budgets(settings)
        self.window.status_text.setText("Settings saved.")

    @staticmethod
    def _shown_theme() -> str:
        from ui.theme import chosen_theme

        return chosen_theme()

    def add_profile(self, profile: Any) -> None:
        """A model profile from the training panel joins the saved profiles (same name: replaced)."""
        current = self.window.services.settings
        profiles = [p for p in current.profiles if p.name != profile.name] + [profile]
        self.apply_settings(current.model_copy(update={"profiles": profiles}), {})
        self.window.status_text.setText(f"Model profile '{profile.name}' saved; choose it in the search bar.")


def _format_from_suffix(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    for fmt, ext in EXPORT_FORMATS.items():
        if suffix == ext:
            return fmt
    return "bibtex"
