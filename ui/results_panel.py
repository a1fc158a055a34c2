"""A filter bar, the papers table and the detail pane: used by the search view and the library view."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from pasa_desktop.gui_controller import ResultRow
from ui.paper_detail import PaperDetail
from ui.paper_table import PaperTableModel, PaperTableView, RowFilter


class ResultsPanel(QWidget):
    current_changed = Signal(object)  # ResultRow | None
    menu_requested = Signal(object, object)  # list[ResultRow] (the selection), QPoint (global)

    def __init__(self, empty_text: str, parent: QWidget | None = None, hidden: tuple[int, ...] = (),
                 vertical: bool = False) -> None:
        super().__init__(parent)
        self.model = PaperTableModel(self)
        self.table = PaperTableView(self.model, hidden=hidden)
        self.detail = PaperDetail()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: title, author, venue, year, tag (Ctrl+F)")
        self.filter_edit.setToolTip("Narrow this table by words in the title, authors, venue, year or tags")
        self.filter_edit.setClearButtonEnabled(True)
        # Never narrower than a few words: the check boxes beside it give way first (they elide).
        self.filter_edit.setMinimumWidth(self.filter_edit.fontMetrics().horizontalAdvance("x" * 26))
        # The pane's own minimum is a wide-window value; at 1024 px the table needs the width more. (Its
        # scroll area below holds the minimum: the pane itself must fit beside the vertical scroll bar.)
        self.detail.setMinimumWidth(0)
        self.selected_only = QCheckBox("Selected / accepted only")
        self.hide_rejected = QCheckBox("Hide rejected")
        self.count = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.selected_only)
        bar.addWidget(self.hide_rejected)
        bar.addWidget(self.count)
        self.empty = QLabel(empty_text)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setEnabled(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.empty, 1)
        # Side by side in the search view; stacked in the library view, where the sidebar takes the width.
        self.splitter = QSplitter(Qt.Orientation.Vertical if vertical else Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        # In a scroll area: the pane's parts add up to more than a 700 px tall window has room for, and a
        # pane that cannot shrink would hold the whole window taller than the screen.
        self.detail_scroll = QScrollArea()
        self.detail_scroll.setWidgetResizable(True)
        self.detail_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.detail_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.detail_scroll.setWidget(self.detail)
        self.detail_scroll.setMinimumWidth(320)
        self.splitter.addWidget(self.detail_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([480, 380] if vertical else [900, 520])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.filter_edit.textChanged.connect(self._refilter)
        self.selected_only.toggled.connect(self._refilter)
        self.hide_rejected.toggled.connect(self._refilter)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._update_count)
        self.model.layoutChanged.connect(self._update_count)
        self.table.menu_requested.connect(lambda pos: self.menu_requested.emit(self.selected_rows(), pos))
        self.table.accept_pressed.connect(lambda: self._toggle("accepted"))
        self.table.reject_pressed.connect(lambda: self._toggle("rejected"))
        self._update_count()

    def set_rows(self, rows: list[ResultRow]) -> None:
        if not rows:
            # An emptied table is a new search (or scope) starting: a filter left over from the last one
            # would hide its first results ("0 of 100").
            self.reset_filters()
        key = self.detail.row.key if self.detail.row else None
        self.model.set_rows(rows)
        if key is not None:
            self.table.select_key(key)
        self._selection_changed()

    def upsert(self, rows: list[ResultRow]) -> None:
        self.model.upsert(rows)
        current = self.table.current_row()
        if current is not None and self.detail.row is not None and current.key == self.detail.row.key:
            self.detail.show_row(current)

    def update_row(self, row: ResultRow) -> None:
        self.model.update_row(row)
        if self.detail.row is not None and self.detail.row.key == row.key:
            self.detail.show_row(row)

    def selected_rows(self) -> list[ResultRow]:
        return self.table.selected_rows()

    def reset_filters(self) -> None:
        """Clear the text filter and the check boxes (one refilter, not three)."""
        for widget in (self.filter_edit, self.selected_only, self.hide_rejected):
            widget.blockSignals(True)
        self.filter_edit.clear()
        self.selected_only.setChecked(False)
        self.hide_rejected.setChecked(False)
        for widget in (self.filter_edit, self.selected_only, self.hide_rejected):
            widget.blockSignals(False)
        self._refilter()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _toggle(self, decision: str) -> None:
        row = self.table.current_row()
        if row is not None:
            self.detail.decision_requested.emit(row.key, "" if row.decision == decision else decision)

    def _refilter(self) -> None:
        self.model.set_filter(RowFilter(self.filter_edit.text(), self.selected_only.isChecked(),
                                        self.hide_rejected.isChecked()))

    def _update_count(self) -> None:
        total, shown = self.model.total(), self.model.rowCount()
        self.count.setText(f"{shown} of {total}" if shown != total else f"{total} paper{'s' * (total != 1)}")
        self.table.setVisible(total > 0)
        self.empty.setVisible(total == 0)

    def _selection_changed(self, *_: QItemSelection) -> None:
        row = self.table.current_row()
        if row is None and self.table.selectionModel().selectedRows():
            row = self.table.selected_rows()[0]
        self.detail.show_row(row)
        self.current_changed.emit(row)
