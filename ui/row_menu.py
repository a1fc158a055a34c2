"""The context menu of a paper row (search results and library alike): every action acts on the selection.

Each entry calls what the window already does elsewhere — the detail pane's review signals, the Edit
and File menus' copy and export, the PDF tab's attach and open — so a right-click is a shortcut, never
a second implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QPoint
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMenu

from engine.errors import PasaError
from pasa_desktop.gui_controller import ResultRow

if TYPE_CHECKING:
    from ui.paper_actions import PaperActions
    from ui.results_panel import ResultsPanel
    from ui.window_host import WindowHost


class RowCommands(Protocol):
    """The window-level commands the menu repeats (ui.actions.ActionHandler has them). A protocol, not
    that class: actions builds this menu, so importing it back would be an import cycle."""

    def copy_bibtex(self) -> None: ...

    def export_selection(self, *, path: str | None = None, fmt: str | None = None) -> None: ...


def citation_text(row: ResultRow) -> str:
    """A plain-text reference: "Lovelace, A., Turing, A. (2017). Title. Venue. doi:… / arXiv:…"."""
    names = []
    for author in row.authors[:6]:
        if "," in author:
            names.append(author.strip())
            continue
        parts = author.split()
        names.append(f"{parts[-1]}, {' '.join(p[0] + '.' for p in parts[:-1])}" if len(parts) > 1 else author)
    authors = ", ".join(names) + (", et al." if len(row.authors) > 6 else "")
    pieces = [f"{authors} ({row.year or 'n.d.'})." if authors else f"({row.year or 'n.d.'}).", f"{row.title}."]
    if row.venue:
        pieces.append(f"{row.venue}.")
    if row.doi:
        pieces.append(f"https://doi.org/{row.doi}")
    elif row.arxiv_id:
        pieces.append(f"arXiv:{row.arxiv_id}")
    elif row.url:
        pieces.append(row.url)
    return " ".join(pieces)


class RowMenu:
    def __init__(self, window: WindowHost, papers: PaperActions, commands: RowCommands) -> None:
        self.window = window
        self.papers = papers
        self.commands = commands
        self.last_menu: QMenu | None = None  # the menu on screen (tests trigger its actions)

    def build(self, panel: ResultsPanel, rows: list[ResultRow]) -> QMenu:
        menu = QMenu(panel)
        if not rows:
            return menu
        first = rows[0]
        n = len(rows)
        them = "this paper" if n == 1 else f"these {n} papers"

        for decision, text in (("accepted", "✔ Accept"), ("rejected", "✘ Reject")):
            action = menu.addAction(text if n == 1 else f"{text} {n} papers")
            action.setCheckable(True)
            action.setChecked(all(r.decision == decision for r in rows))
            # Toggles like the Space and Delete keys: all already so → undecided.
            action.triggered.connect(self._decider(panel, rows, decision))
        keep = menu.addAction("＋ Keep in library" if n == 1 else f"＋ Keep {n} papers in library",
                              lambda: self.papers.keep(panel, rows))
        keep.setShortcut(QKeySequence("Ctrl+K"))
        if all(r.in_library for r in rows):  # None (a live row not looked up yet) may still need keeping
            keep.setEnabled(False)
            keep.setText("In your library")
        menu.addAction("Add tag…", lambda: self._tag(panel, rows))
        collections = menu.addMenu("Add to collection")
        for path in self._collection_paths():
            collections.addAction(path, self._collector(panel, first, path))
        if not collections.isEmpty():
            collections.addSeparator()
        collections.addAction("New collection…", lambda: self._new_collection(panel, first))
        menu.addSeparator()
        menu.addAction("Copy citation", lambda: self._copy_citation(rows))
        menu.addAction("Copy BibTeX", self.commands.copy_bibtex)
        menu.addAction(f"Export {them}…", self.commands.export_selection)
        menu.addAction("Complete metadata online", lambda: self._complete(panel, rows))
        menu.addSeparator()
        open_pdf = menu.addAction("Open PDF", lambda: self.papers.open_pdf(first.pdf_path))
        open_pdf.setEnabled(n == 1 and bool(first.pdf_path))
        if n == 1 and not first.pdf_path:
            open_pdf.setText("Open PDF (none attached)")
        attach = menu.addAction("Attach PDF…", lambda: self.papers.attach_pdf(panel, first))
        attach.setEnabled(n == 1)
        find = menu.addAction("Find PDF online", lambda: self.papers.find_pdf(panel, first))
        find.setToolTip("Download the open-access PDF (arXiv, Semantic Scholar, OpenAlex) and attach it")
        find.setEnabled(n == 1)
        menu.addSeparator()
        menu.addAction("Show the search that found it", lambda: self.show_run(panel, first))
        menu.addAction("Search from this paper", lambda: self.search_from(first))
        self.last_menu = menu
        return menu

    def popup(self, panel: ResultsPanel, rows: list[ResultRow], pos: QPoint) -> None:
        self.build(panel, rows).popup(pos)

    # -- actions -----------------------------------------------------------------------------------

    @staticmethod
    def _decider(panel: ResultsPanel, rows: list[ResultRow], decision: str) -> Callable[[], None]:
        def decide() -> None:
            undo = all(r.decision == decision for r in rows)
            for row in rows:
                panel.detail.decision_requested.emit(row.key, "" if undo else decision)

        return decide

    @staticmethod
    def _collector(panel: ResultsPanel, first: ResultRow, path: str) -> Callable[[], None]:
        # The window adds the whole selection (it reads it from the panel), as the detail pane's button does.
        return lambda: panel.detail.collection_requested.emit(first.key, path)

    def _complete(self, panel: ResultsPanel, rows: list[ResultRow]) -> None:
        # Imported when used: ui.metadata_action loads the library (SQLAlchemy, ~1.3 s), and this module is
        # imported while the window is being built (cold start).
        from ui.metadata_action import complete_metadata

        complete_metadata(self.window, self.papers, panel, rows)

    def _tag(self, panel: ResultsPanel, rows: list[ResultRow]) -> None:
        tag, ok = QInputDialog.getText(self.window, "Add tag", f"Tag for {len(rows)} paper{'s' * (len(rows) != 1)}:")
        if ok and tag.strip():
            for row in rows:
                panel.detail.tag_requested.emit(row.key, tag.strip())

    def _new_collection(self, panel: ResultsPanel, first: ResultRow) -> None:
        name, ok = QInputDialog.getText(self.window, "New collection", "Collection name (A/B for a sub-collection):")
        if ok and name.strip():
            panel.detail.collection_requested.emit(first.key, name.strip())

    def _collection_paths(self) -> list[str]:
        if not self.window.services.library_ready():
            return []
        try:
            return [c.path for c in self.window.services.gateway().collections()]
        except PasaError:
            return []

    def _copy_citation(self, rows: list[ResultRow]) -> None:
        QGuiApplication.clipboard().setText("\n\n".join(citation_text(r) for r in rows))
        self.window.status_text.setText(f"Copied the citation of {len(rows)} paper{'s' * (len(rows) != 1)}.")

    def show_run(self, panel: ResultsPanel, row: ResultRow) -> None:
        """The Library tab with the (newest) search that found this paper selected."""
        window = self.window
        runs: list[int] = []
        if window.services.library_ready():
            try:
                pid = window.services.gateway().library_id(row, self.papers.run_id(panel))
                runs = window.services.gateway().library.paper_runs(pid)
            except PasaError as exc:
                window.show_error("Library", str(exc))
                return
        if not runs:
            window.status_text.setText(f"No search found “{row.title[:60]}”: it came into the library another "
                                       "way (an import).")
            return
        from ui.window_host import LIBRARY_TAB

        window.tabs.setCurrentIndex(LIBRARY_TAB)
        if not window.library_panel.show_run(runs[0]):
            window.refresh_library()
            window.library_panel.show_run(runs[0])
        window.library_panel.results.table.select_key(row.key)
        others = f" (also found by search{'es' * (len(runs) > 2)} #{', #'.join(map(str, runs[1:]))})" if runs[1:] else ""
        window.status_text.setText(f"Search #{runs[0]} found “{row.title[:60]}”{others}.")

    def search_from(self, row: ResultRow) -> None:
        """A new research question seeded with this paper, in the query box to edit before searching."""
        from ui.window_host import SEARCH_TAB

        window = self.window
        box = window.search_panel.query
        box.setPlainText(f"Papers on the problem studied in “{row.title}”, and papers that build on it")
        window.tabs.setCurrentIndex(SEARCH_TAB)
        box.setFocus()
        box.selectAll()
        window.status_text.setText("Edit the question if you like, then press Search (Ctrl+Enter).")
