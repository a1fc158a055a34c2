"""What the detail pane's Notes and PDF tabs, a row's context menu and dropped files do to the library.

Notes are the paper's first library note (a paper imported with several shows the rest read-only);
saving one re-indexes the paper for full-text search. Attaching copies the PDF into the library folder
and extracts its text (on a worker thread: a long PDF takes a moment). Bibliographies dropped on the
window, or chosen with File → Import…, go through the same importer as `pasa import`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog

from engine.errors import PasaError
from pasa_desktop.gui_controller import ResultRow
from ui.background import Background
from ui.pdf_pane import pdf_paths

if TYPE_CHECKING:
    from pasa_desktop.export.importer import ImportReport
    from pasa_desktop.library.open_access import PdfFetch
    from ui.results_panel import ResultsPanel
    from ui.window_host import WindowHost

IMPORT_SUFFIXES = (".bib", ".bibtex", ".ris", ".json")
IMPORT_FILTER = "Bibliographies (*.bib *.bibtex *.ris *.json);;All files (*)"


@dataclass(slots=True)
class _Note:
    paper_id: int
    note_id: int | None


def import_paths(urls: Sequence[QUrl]) -> list[str]:
    """Local bibliography files among dropped URLs."""
    out = []
    for url in urls:
        local = url.toLocalFile()
        if local and local.lower().endswith(IMPORT_SUFFIXES) and Path(local).is_file():
            out.append(local)
    return out


class PaperActions(QObject):
    """Notes, PDFs and imports for both results panels of the window (the search's and the library's)."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window)
        self.window = window
        self._notes: dict[tuple[int, str], _Note] = {}  # (id(panel), paper key) → where its note lives
        self.last_import: ImportReport | None = None
        self.last_fetch: PdfFetch | None = None
        self.background = Background(self, workers=2)  # PDF downloads (ui/background.py)
        for panel in self.panels():
            self._wire(panel)
        # Files dropped anywhere on the window (widgets that take drops themselves, like the PDF tab and
        # text boxes, keep theirs): bibliographies are imported, PDFs attached to the paper shown.
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def panels(self) -> tuple[ResultsPanel, ResultsPanel]:
        return self.window.search_panel.results, self.window.library_panel.results

    def _wire(self, panel: ResultsPanel) -> None:
        detail = panel.detail
        panel.current_changed.connect(lambda row: self.load_notes(panel, row))
        detail.notes.edited.connect(lambda key, text: self.save_note(panel, key, text))
        detail.pdf.attach_requested.connect(lambda path: self.attach_pdf(panel, detail.row, path))
        detail.pdf.open_requested.connect(self.open_pdf)
        detail.keep_requested.connect(lambda key: self.keep(panel, self._rows_for(panel, key)))
        detail.find_pdf_requested.connect(lambda _key: self.find_pdf(panel, detail.row))
        # Ctrl+K keeps the selection (j/k already move through the table).
        shortcut = QShortcut(QKeySequence("Ctrl+K"), panel)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda: self.keep(panel, panel.selected_rows()))

    def run_id(self, panel: ResultsPanel) -> int | None:
        return self.window.run_id if panel is self.window.search_panel.results else self.window.library_panel.current_run

    def _paper_id(self, panel: ResultsPanel, row: ResultRow) -> int:
        return self.window.services.gateway().library_id(row, self.run_id(panel))

    @staticmethod
    def _rows_for(panel: ResultsPanel, key: str) -> list[ResultRow]:
        """The selection when it holds the paper `key`, else that paper alone."""
        selected = panel.selected_rows()
        if any(r.key == key for r in selected):
            return selected
        view_row = panel.model.view_row_of(key)
        return [] if view_row is None else [panel.model.row_at(view_row)]

    def _show_fresh(self, rows: Sequence[ResultRow]) -> None:
        for fresh in rows:
            for p in self.panels():
                if p.model.view_row_of(fresh.key) is not None:
                    p.update_row(fresh)

    # -- what the library holds ----------------------------------------------------------------------

    def keep(self, panel: ResultsPanel, rows: Sequence[ResultRow]) -> None:
        """Keep papers a search found in the library ("All papers"); the run keeps listing them too."""
        if not rows:
            return
        if not self.window.services.library_ready():
            self.window.show_error("Library", "The library is still opening; try again in a moment.", "warning")
            return
        gateway = self.window.services.gateway()
        try:
            fresh = gateway.keep(list(rows), self.run_id(panel))
        except PasaError as exc:
            self.window.show_error("Library", str(exc))
            return
        self._show_fresh(fresh)
        self.window.library_panel.reload_sidebar(gateway)  # the All papers count
        self.window.library_panel.update_run_label()
        n = len(fresh)
        self.window.status_text.setText(
            f"Kept {'“' + fresh[0].title[:60] + '”' if n == 1 else f'{n} papers'} in the library (All papers).")

    # -- notes -------------------------------------------------------------------------------------

    def load_notes(self, panel: ResultsPanel, row: ResultRow | None) -> None:
        if row is None:
            return
        detail = panel.detail
        if not self.window.services.library_ready():
            detail.show_note(row.key, "", editable=False, why="The library is still opening.")
            return
        try:
            pid = self._paper_id(panel, row)
            notes = self.window.services.gateway().library.notes(pid)
        except PasaError as exc:
            detail.show_note(row.key, "", editable=False, why=f"Notes: {exc}")
            return
        first = notes[0] if notes else None
        self._notes[(id(panel), row.key)] = _Note(pid, first.id if first else None)
        detail.show_note(row.key, first.text if first else "", [n.text for n in notes[1:]])

    def save_note(self, panel: ResultsPanel, key: str, text: str) -> None:
        """Store the editor's text as the paper's note (an emptied note is deleted, not kept blank)."""
        where = self._notes.get((id(panel), key))
        detail = panel.detail
        if where is None:
            detail.notes.mark_saved(key, False, "the paper is not in the library yet")
            return
        library = self.window.services.gateway().library
        try:
            if where.note_id is None:
                if text.strip():
                    where.note_id = library.add_note(where.paper_id, text)
            elif text.strip():
                library.update_note(where.note_id, text)
            else:
                library.delete_note(where.note_id)
                where.note_id = None
        except PasaError as exc:
            detail.notes.mark_saved(key, False, str(exc))
            self.window.show_error("Notes", f"The note was not saved: {exc}")
            return
        detail.notes.mark_saved(key, True)

    # -- PDFs --------------------------------------------------------------------------------------

    def _pdf_target(self, panel: ResultsPanel, row: ResultRow | None) -> int | None:
        """The library id of the paper a PDF is for; None (and said why) when there is none yet."""
        if row is None:
            self.window.show_error("PDF", "Select a paper first.", "warning")
            return None
        if not self.window.services.library_ready():
            self.window.show_error("PDF", "The library is still opening; try again in a moment.", "warning")
            return None
        try:
            return self._paper_id(panel, row)
        except PasaError as exc:
            self.window.show_error("PDF", str(exc))
            return None

    def attach_pdf(self, panel: ResultsPanel, row: ResultRow | None, path: str = "") -> None:
        """Copy a PDF into the library for `row` (ask for the file when `path` is empty)."""
        pid = self._pdf_target(panel, row)
        if pid is None or row is None:
            return
        if not path:
            path, _ = QFileDialog.getOpenFileName(self.window, f"Attach a PDF to “{row.title[:60]}”",
                                                  str(Path.home()), "PDF files (*.pdf)")
            if not path:
                return
        try:
            with open(path, "rb") as fh:
                is_pdf = fh.read(5) == b"%PDF-"
        except OSError as exc:
            self.window.show_error("PDF", f"Cannot read {path}: {exc.strerror or exc}")
            return
        if not is_pdf:
            self.window.show_error("PDF", f"{Path(path).name} is not a PDF file.", "warning")
            return
        gateway = self.window.services.gateway()
        self.window.status_text.setText(f"Attaching {Path(path).name} (extracting its text for search)…")

        def done(fresh: ResultRow) -> None:
            for p in self.panels():
                if p.model.view_row_of(fresh.key) is not None:
                    p.update_row(fresh)
            self.window.status_text.setText(f"Attached {Path(path).name} to “{row.title[:60]}”; its text is "
                                            "searchable in the library.")

        def attach() -> ResultRow:
            gateway.library.attach(pid, Path(path))
            return gateway.refresh(row, pid)

        self.window.run_later(attach, done, "PDF")

    def find_pdf(self, panel: ResultsPanel, row: ResultRow | None) -> None:
        """Download the paper's open-access PDF (arXiv, Semantic Scholar, OpenAlex) on a worker, attach it."""
        pid = self._pdf_target(panel, row)
        if pid is None or row is None:
            return
        from pasa_desktop.library.open_access import fetch_open_access_pdf

        gateway = self.window.services.gateway()
        settings = self.window.services.settings
        self.window.status_text.setText(f"Looking for the open-access PDF of “{row.title[:60]}”…")

        def find() -> tuple[PdfFetch, ResultRow]:
            done = fetch_open_access_pdf(gateway.library, settings, pid)
            return done, gateway.refresh(row, pid)

        def done(answer: tuple[PdfFetch, ResultRow]) -> None:
            fetched, fresh = answer
            self.last_fetch = fetched  # what the status line says (tests read it too)
            if fetched.attachment_id is None:
                self.window.show_error("PDF", f"“{row.title[:60]}”: {fetched.message}.", "warning")
                self.window.status_text.setText(fetched.message + ".")
                return
            self._show_fresh([fresh])
            self.window.status_text.setText(fetched.message + ".")

        def failed(exc: BaseException) -> None:
            self.window.status_text.setText("Finding the PDF failed.")
            self.window.show_error("PDF", str(exc) if isinstance(exc, PasaError) else f"{type(exc).__name__}: {exc}")

        self.background.run(find, done, failed)

    def open_pdf(self, path: str) -> bool:
        """Hand the PDF to the system's viewer; say so when there is none (openUrl returns False)."""
        if not path:
            self.window.show_error("PDF", "No PDF is attached to this paper.", "warning")
            return False
        if not Path(path).is_file():
            self.window.show_error("PDF", f"The attached file is missing: {path}")
            return False
        if QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self.window.status_text.setText(f"Opened {Path(path).name} in the system's viewer.")
            return True
        self.window.show_error(
            "PDF", f"No application is set up to open PDF files on this system, so {Path(path).name} "
            f"could not be opened. It is readable in the PDF tab; the file is {path}.", "warning")
        return False

    # -- import ------------------------------------------------------------------------------------

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import a bibliography", str(Path.home()), IMPORT_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        """Add a .bib / .ris / CSL-JSON file to the library (merged with dedup), with a report."""
        if not self.window.services.library_ready():
            self.window.show_error("Import", "The library is still opening; try again in a moment.", "warning")
            return
        from pasa_desktop.export.importer import import_file

        library = self.window.services.gateway().library
        self.window.status_text.setText(f"Importing {Path(path).name}…")

        def done(report: ImportReport) -> None:
            self.last_import = report  # what the status line summarises (tests read it too)
            self.window.status_text.setText(report.summary())
            for warning in report.warnings:
                self.window.show_error("Import", warning, "warning")
            skipped = report.skipped
            if skipped:
                self.window.show_error("Import", f"{len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} of "
                                       f"{Path(path).name} skipped: "
                                       + "; ".join(f"{s.where}: {s.reason}" for s in skipped[:5])
                                       + (" …" if len(skipped) > 5 else ""), "warning")
            self.window.refresh_library()

        self.window.run_later(lambda: import_file(library, Path(path)), done, "Import")

    # -- drops on the window -------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.DragEnter:
            assert isinstance(event, QDragEnterEvent)
            urls = list(event.mimeData().urls())
            if import_paths(urls) or pdf_paths(urls):
                event.acceptProposedAction()
                return True
        if watched is self.window and event.type() == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            self.drop(list(event.mimeData().urls()))
            event.acceptProposedAction()
            return True
        return False

    def drop(self, urls: Sequence[QUrl]) -> None:
        for path in import_paths(urls):
            self.import_file(path)
        pdfs = pdf_paths(urls)
        if pdfs:
            panel = self.window.current_results()
            self.attach_pdf(panel, panel.detail.row, pdfs[0])
