"""The library view: collections, tags and past searches on the left; full-text search; table and detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.paper_table import FOUND_BY, RATING, SCORE, SELECTED
from ui.results_panel import ResultsPanel

if TYPE_CHECKING:
    from pasa_desktop.gui_controller import LibraryGateway
    from pasa_desktop.library import RunSummary

ALL, COLLECTION, TAG = "all", "collection", "tag"
# "running" is a run another process still holds (its lease is live: resuming it is refused);
# "interrupted" is one whose process died (pasa_desktop/library/leases.py).
RESUMABLE = ("interrupted", "cancelled", "failed", "truncated")
LIST_LIMIT = 5000  # papers listed at once in the library table (sorting stays under 100 ms)
_STATUS = {"done": "✔ done", "cancelled": "■ cancelled", "failed": "✘ failed", "truncated": "● stopped at budget",
           "running": "▶ running", "interrupted": "■ interrupted"}


class ElidedLabel(QLabel):
    """A one-line label that elides its text (whole text in the tooltip) instead of squeezing its neighbours."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        super().setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideMiddle, max(self.width(), 40)))


class LibraryPanel(QWidget):
    refresh_requested = Signal()
    run_chosen = Signal(int)
    resume_requested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current_run: int | None = None
        self.current_query = ""
        self._scope: tuple[str, object] = (ALL, None)
        self._gateway: LibraryGateway | None = None
        self._runs: dict[int, RunSummary] = {}
        self._running_run: int | None = None

        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search the library: titles, abstracts, notes and PDF text…")
        self.search_box.setClearButtonEnabled(True)
        self.scope_label = ElidedLabel("All papers")
        self.scope_label.setMinimumWidth(160)
        self.scope_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setRootIsDecorated(True)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.runs = QListWidget()
        self.runs.setWordWrap(True)
        self.runs.setAlternatingRowColors(True)
        self.resume_button = QPushButton("Resume search")
        self.resume_button.setToolTip("Continue an interrupted search where it stopped (nothing is re-scored)")
        self.resume_button.setEnabled(False)
        self.run_info = QLabel("Past searches appear here.")
        self.run_info.setWordWrap(True)
        self.run_info.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.run_info.setMinimumHeight(self.run_info.fontMetrics().lineSpacing() * 3)
        self.run_info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        sidebar = QWidget()
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(QLabel("<b>Library</b>"))
        side.addWidget(self.tree, 3)
        side.addWidget(QLabel("<b>Past searches</b>"))
        side.addWidget(self.runs, 2)
        side.addWidget(self.run_info)
        side.addWidget(self.resume_button)

        self.results = ResultsPanel(
            "Your library is empty.\n\nPapers you keep (Ctrl+K), accept, tag, rate, collect, annotate or import "
            "appear here. Every search is saved under Past searches with all it found, scores and how each was "
            "found.",
            hidden=(SCORE, SELECTED, FOUND_BY, RATING),
        )
        self._search_columns(False)
        self.results.splitter.setSizes([700, 420])
        top = QHBoxLayout()
        top.addWidget(self.search_box, 3)
        top.addWidget(self.scope_label, 2)
        # Three panes, as in Zotero: collections/tags/searches | papers | the selected paper.
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(sidebar)
        splitter.addWidget(self.results)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 1170])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self._run_query)
        self.search_box.textChanged.connect(lambda _t: self._debounce.start())
        self.search_box.returnPressed.connect(self._run_query)
        self.tree.currentItemChanged.connect(self._scope_changed)
        self.runs.currentItemChanged.connect(self._run_changed)
        self.resume_button.clicked.connect(self._resume)

    # -- loading -----------------------------------------------------------------------------------

    def reload(self, gateway: LibraryGateway, running_run: int | None = None) -> None:
        self._gateway = gateway
        self._running_run = running_run
        self.reload_sidebar(gateway)
        self._reload_runs(gateway)
        if self.current_run is None:
            self._run_query()

    def reload_sidebar(self, gateway: LibraryGateway) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        # What the library holds (kept, imported, or given a decision, tag, rating, collection, file or note;
        # selected papers too when Settings says so), not every paper a search found: those stay with their run.
        all_item = QTreeWidgetItem(["All papers", f"{gateway.count_library():,}"])
        all_item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
        all_item.setToolTip(0, "Papers you kept, imported, accepted, rated, tagged, collected, attached a PDF to "
                               "or wrote a note on" + (", and those the Selector selected" * gateway.selected_join)
                            + ". The rest of what a search found stays with that search (Past searches).")
        all_item.setData(0, Qt.ItemDataRole.UserRole, (ALL, None))
        self.tree.addTopLevelItem(all_item)
        collections = QTreeWidgetItem(["Collections", ""])
        collections.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.tree.addTopLevelItem(collections)
        items: dict[int, QTreeWidgetItem] = {}
        for c in gateway.collections():
            item = QTreeWidgetItem([c.name, str(c.papers)])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            item.setData(0, Qt.ItemDataRole.UserRole, (COLLECTION, c.id))
            item.setToolTip(0, c.path)
            parent = items.get(c.parent_id, collections) if c.parent_id is not None else collections
            parent.addChild(item)
            items[c.id] = item
        if not items:
            hint = QTreeWidgetItem(["No collections yet", ""])
            hint.setToolTip(0, "Use “Add to collection” in a paper's detail pane")
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
            collections.addChild(hint)
        tags = QTreeWidgetItem(["Tags", ""])
        tags.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.tree.addTopLevelItem(tags)
        tag_rows = gateway.tags()
        for t in tag_rows:
            item = QTreeWidgetItem([t.name, str(t.papers)])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            item.setData(0, Qt.ItemDataRole.UserRole, (TAG, t.name))
            tags.addChild(item)
        if not tag_rows:
            hint = QTreeWidgetItem(["No tags yet", ""])
            hint.setToolTip(0, "Type a tag in a paper's detail pane")
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
            tags.addChild(hint)
        self.tree.expandAll()
        if self.current_run is None:  # a past search shown: no scope is highlighted (a click on one must load it)
            self._select_scope_item()
        self.tree.blockSignals(False)

    def _reload_runs(self, gateway: LibraryGateway) -> None:
        current = self.current_run
        self.runs.blockSignals(True)
        self.runs.clear()
        self._runs = {r.id: r for r in gateway.runs()}
        for run in self._runs.values():
            status = "▶ running" if run.id == self._running_run else _STATUS.get(run.status, run.status)
            query = run.query if len(run.query) <= 70 else run.query[:69] + "…"
            item = QListWidgetItem(f"{query}\n{status} · {run.found} found · {run.selected} selected · "
                                   f"{run.started[:16].replace('T', ' ')}")
            item.setData(Qt.ItemDataRole.UserRole, run.id)
            item.setToolTip(run.query)
            self.runs.addItem(item)
            if run.id == current:
                self.runs.setCurrentItem(item)
        if not self._runs:
            self.run_info.setText("No searches yet. Run one from the Search tab.")
        elif current not in self._runs:
            self.run_info.setText("Select a past search to see its papers; an interrupted one can be resumed.")
        self.runs.blockSignals(False)
        self._update_resume()

    def _search_columns(self, run: bool) -> None:
        """A score and a selection belong to one search: its view shows them. The library's own lists
        (All papers, a collection, a tag) carry neither, so a Score column there would read blank
        ("not scored") for every paper and "Selected / accepted only" would hide the papers the Selector
        selected; there they are hidden and the filter is what it can be, "Accepted only"."""
        table = self.results.table
        for column in (SCORE, SELECTED):
            table.setColumnHidden(column, not run)
        self.results.selected_only.setText("Selected / accepted only" if run else "Accepted only")
        table.fit_columns()

    def show_run_rows(self, gateway: LibraryGateway, run_id: int) -> None:
        self._search_columns(True)
        self.results.set_rows(gateway.run_rows(run_id))
        run = self._runs.get(run_id)
        self.update_run_label()
        if run is not None:
            self.current_query = run.query

    def update_run_label(self) -> None:
        """"Search #N · found, in your library" from the rows shown (after a Keep too)."""
        if self.current_run is None:
            return
        rows = self.results.model.all_rows()
        kept = sum(1 for r in rows if r.in_library)
        self.scope_label.setText(f"Search #{self.current_run} · {len(rows)} found, {kept} in your library"
                                 + (" · Ctrl+K keeps the others" if kept < len(rows) else ""))

    # -- interaction -------------------------------------------------------------------------------

    def _select_scope_item(self) -> None:
        for i in range(self.tree.topLevelItemCount()):
            stack: list[QTreeWidgetItem | None] = [self.tree.topLevelItem(i)]
            while stack:
                item = stack.pop()
                if item is None:
                    continue
                if item.data(0, Qt.ItemDataRole.UserRole) == self._scope:
                    self.tree.setCurrentItem(item)
                    return
                stack.extend(item.child(j) for j in range(item.childCount()))

    def _scope_changed(self, item: QTreeWidgetItem | None, _previous: object) -> None:
        data = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not data:
            return
        self._scope = tuple(data)
        self.current_run = None
        self.results.reset_filters()
        self.runs.blockSignals(True)
        self.runs.clearSelection()
        self.runs.setCurrentIndex(QModelIndex())  # no run chosen (the stubs refuse setCurrentItem(None))
        self.runs.blockSignals(False)
        self._update_resume()
        self._run_query()

    def _run_query(self) -> None:
        if self._gateway is None:
            return
        kind, value = self._scope
        text = self.search_box.text().strip()
        if self.current_run is not None and not text:
            self.show_run_rows(self._gateway, self.current_run)
            return
        self.current_run = None
        self.current_query = ""  # no search here: Explain must not use the question of the search shown before
        self._search_columns(False)
        rows = self._gateway.search_rows(
            text, limit=LIST_LIMIT, tag=value if kind == TAG else None,  # type: ignore[arg-type]  # the scope's value is the tag (str) for TAG; the item data it came from is typed object
            collection=value if kind == COLLECTION else None,  # type: ignore[arg-type]  # and the collection id (int) for COLLECTION
        )
        self.results.set_rows(rows)
        label = {ALL: "All papers", COLLECTION: "Collection", TAG: f"Tag “{value}”"}[kind]
        if kind == COLLECTION:
            item = self.tree.currentItem()
            label = f"Collection “{item.text(0)}”" if item else label
        if len(rows) >= LIST_LIMIT:  # the table holds at most this many; say so rather than mislead
            label += f" · first {LIST_LIMIT:,} (search or pick a collection to narrow)"
        self.scope_label.setText(f"{label}" + (f" · matching “{text}”" if text else ""))

    def _run_changed(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        self.current_run = int(item.data(Qt.ItemDataRole.UserRole))
        self.results.reset_filters()  # filters belong to one search's table, not to the next
        self.search_box.blockSignals(True)
        self.search_box.clear()
        self.search_box.blockSignals(False)
        self.tree.blockSignals(True)
        self.tree.setCurrentIndex(QModelIndex())  # no scope chosen (the stubs refuse setCurrentItem(None))
        self.tree.blockSignals(False)
        self._update_resume()
        self.run_chosen.emit(self.current_run)

    def _update_resume(self) -> None:
        run = self._runs.get(self.current_run) if self.current_run is not None else None
        resumable = run is not None and run.status in RESUMABLE and run.id != self._running_run
        self.resume_button.setEnabled(resumable)
        if run is not None:
            took = f" in {run.seconds:.0f} s" if run.seconds else ""
            status = _STATUS.get(run.status, run.status)
            message = f" — {run.message}" if run.message else ""
            self.run_info.setText(f"#{run.id} {status}{took}: {run.queries} queries, {run.found} found, "
                                  f"{run.scored} scored, {run.selected} selected{message}")

    def show_run(self, run_id: int) -> bool:
        """Select a past search in the list (its papers then load); False when it is not listed."""
        for i in range(self.runs.count()):
            item = self.runs.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == run_id:
                self.runs.setCurrentItem(item)
                self.runs.scrollToItem(item)
                return True
        return False

    def _resume(self) -> None:
        run = self._runs.get(self.current_run) if self.current_run is not None else None
        if run is not None:
            self.resume_requested.emit(run.id, run.query)
