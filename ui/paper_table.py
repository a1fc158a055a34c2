"""The papers table: a Qt model over `ResultRow`s with sorting and filtering done on Python lists.

A QSortFilterProxyModel would call `data()` once per comparison (≈130k Python calls for 5,000 rows);
sorting the row list with a key function takes a few milliseconds instead. Sorting and filtering keep
the selection (persistent indexes are moved by paper key), so live updates never make the view jump.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from engine.models.score_meaning import CALIBRATED_SCORE, CITED_CLAUSE
from pasa_desktop.gui_controller import ResultRow
from ui.colors import score_color

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Column:
    """One table column. A `sort_key` of None means "no value": such rows sort last in both directions."""

    title: str
    text: Callable[[ResultRow], str]
    sort_key: Callable[[ResultRow], Any]
    width: int
    tip: str = ""


def _authors(row: ResultRow) -> str:
    if not row.authors:
        return ""
    first = row.authors[0].split(",")[0] if "," in row.authors[0] else row.authors[0].split()[-1]
    return first if len(row.authors) == 1 else f"{first} et al." if len(row.authors) > 2 else \
        f"{first} & {row.authors[1].split()[-1]}"


COLUMNS: tuple[Column, ...] = (
    # The rank is the row's position in the order it was delivered (see PaperTableModel): its text and
    # key are filled in by the model, which knows that order; these two lambdas are never called.
    Column("#", lambda r: "", lambda r: 0, 40,
           "The agent's order: its final ranking once a search has finished (discovery order while it "
           "runs); in the library, the search's relevance order or newest first"),
    Column("Score", lambda r: "" if r.score is None else f"{r.score:.2f}",
           lambda r: r.score, 54, f"The Selector's score (the default Selector's is {CALIBRATED_SCORE}: {CITED_CLAUSE}); "
           "blank: not scored (below the papers the Selector is shown, or no Selector "
           "was ready for the search). Unscored papers stay last in both directions"),
    Column("Sel.", lambda r: "✔" if r.selected else "", lambda r: r.selected, 38),
    Column("Decision", lambda r: r.decision.capitalize(), lambda r: r.decision, 74),
    Column("Title", lambda r: r.title, lambda r: r.title.lower(), 360),
    Column("Authors", _authors, lambda r: _authors(r).lower(), 130),
    Column("Year", lambda r: str(r.year or ""), lambda r: r.year or None, 48),
    Column("Venue", lambda r: r.venue, lambda r: r.venue.lower(), 84),
    Column("Found by", lambda r: r.found_by, lambda r: r.found_by.lower(), 170),
    Column("Tags", lambda r: ", ".join(r.tags), lambda r: ", ".join(r.tags).lower(), 90),
    Column("Rating", lambda r: "★" * r.rating, lambda r: r.rating, 62),
)
RANK, SCORE, SELECTED, DECISION, TITLE, AUTHORS, YEAR, VENUE, FOUND_BY, TAGS, RATING = range(11)
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
_DISPLAY, _TOOLTIP = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole)
_BACKGROUND, _FOREGROUND = int(Qt.ItemDataRole.BackgroundRole), int(Qt.ItemDataRole.ForegroundRole)
_FONT, _ALIGN, _ROW = int(Qt.ItemDataRole.FontRole), int(Qt.ItemDataRole.TextAlignmentRole), int(ROW_ROLE)
_ROLES = frozenset((_DISPLAY, _TOOLTIP, _BACKGROUND, _FOREGROUND, _FONT, _ALIGN, _ROW))
_CENTER = int(Qt.AlignmentFlag.AlignCenter)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_GREY = QColor(128, 128, 128)


@functools.lru_cache(maxsize=128)
def _score_brush(score: float) -> QColor:
    color = QColor(score_color(score))
    color.setAlpha(90)
    return color


@dataclass(slots=True)
class RowFilter:
    text: str = ""
    selected_only: bool = False
    hide_rejected: bool = False

    def accepts(self, row: ResultRow, haystack: str) -> bool:
        if self.selected_only and not (row.selected or row.decision == "accepted"):
            return False
        if self.hide_rejected and row.decision == "rejected":
            return False
        return all(word in haystack for word in self.text.lower().split())


class PaperTableModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ResultRow] = []
        self._haystacks: list[str] = []
        self._by_key: dict[str, int] = {}
        self._view: list[int] = []  # indices into _rows, in display order
        self._filter = RowFilter()
        self._keys: dict[int, list[Any]] = {}  # column → sort key of each row (cache)
        self._accepted: list[int] | None = None  # rows passing the filter (cache)
        self._position: dict[int, int] | None = None  # row index → view row (cache)
        self._layout_valid = False
        self._sort_column = SCORE
        self._sort_order = Qt.SortOrder.DescendingOrder
        self._bold = QFont()
        self._bold.setBold(True)

    # -- Qt model API ------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._view)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
                   ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tip or None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and role on each repaint: plain ints and cached objects only.
        if role not in _ROLES or not index.isValid():
            return None
        i = self._view[index.row()]
        row = self._rows[i]
        col = index.column()
        if role == _DISPLAY:
            return str(i + 1) if col == RANK else COLUMNS[col].text(row)
        if role == _ROW:
            return row
        if role == _TOOLTIP:
            # Elided cells keep their whole text one hover away.
            return row.title if col == TITLE else row.found_by or None if col == FOUND_BY else None
        if role == _BACKGROUND:
            return None if col != SCORE or row.score is None else _score_brush(round(row.score, 2))
        if role == _FOREGROUND:
            return _GREY if row.decision == "rejected" else None
        if role == _FONT:
            return self._bold if col == TITLE and row.decision == "accepted" else None
        return _RIGHT if col == RANK else _CENTER if col in (SCORE, SELECTED, YEAR) else None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if (column, order) == (self._sort_column, self._sort_order) and self._layout_valid:
            return  # QTableView asks twice per header click
        self._sort_column, self._sort_order = column, order
        self._relayout()

    # -- rows --------------------------------------------------------------------------------------

    def set_rows(self, rows: Iterable[ResultRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._by_key = {r.key: i for i, r in enumerate(self._rows)}
        self._haystacks = [_haystack(r) for r in self._rows]
        self._rows_changed()
        self._view = self._compute_view()
        self.endResetModel()

    def upsert(self, rows: Iterable[ResultRow]) -> None:
        """Add new rows and replace known ones (by key), keeping selection and order settings."""
        for row in rows:
            i = self._by_key.get(row.key)
            if i is None:
                self._by_key[row.key] = len(self._rows)
                self._rows.append(row)
                self._haystacks.append(_haystack(row))
            else:
                self._rows[i] = row
                self._haystacks[i] = _haystack(row)
        self._rows_changed()
        self._relayout()

    def update_row(self, row: ResultRow) -> None:
        """Replace one row in place (a decision, a tag): no re-sort, so the row stays under the cursor."""
        i = self._by_key.get(row.key)
        if i is None:
            return
        self._rows[i] = row
        self._haystacks[i] = _haystack(row)
        for column, keys in self._keys.items():
            if column != RANK:
                keys[i] = COLUMNS[column].sort_key(row)
        r = self._positions().get(i)
        if r is not None:
            self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))

    def set_filter(self, row_filter: RowFilter) -> None:
        self._filter = row_filter
        self._accepted = None
        self._relayout()

    def row_at(self, view_row: int) -> ResultRow:
        return self._rows[self._view[view_row]]

    def view_row_of(self, key: str) -> int | None:
        i = self._by_key.get(key)
        return None if i is None else self._positions().get(i)

    def all_rows(self) -> list[ResultRow]:
        return list(self._rows)

    def visible_rows(self) -> list[ResultRow]:
        return [self._rows[i] for i in self._view]

    def total(self) -> int:
        return len(self._rows)

    # -- internals ---------------------------------------------------------------------------------

    def _rows_changed(self) -> None:
        self._keys.clear()
        self._accepted = None

    def _column_keys(self, column: int) -> list[Any]:
        """Sort keys of every row for one column, computed once per change of the rows."""
        keys = self._keys.get(column)
        if keys is None:
            if column == RANK:
                keys = self._keys[column] = list(range(len(self._rows)))
            else:
                key = COLUMNS[column].sort_key
                keys = self._keys[column] = [key(r) for r in self._rows]
        return keys

    def _positions(self) -> dict[int, int]:
        if self._position is None:
            self._position = {i: r for r, i in enumerate(self._view)}
        return self._position

    def _compute_view(self) -> list[int]:
        if self._accepted is None:
            f = self._filter
            if f.text.strip() or f.selected_only or f.hide_rejected:
                self._accepted = [i for i, r in enumerate(self._rows) if f.accepts(r, self._haystacks[i])]
            else:
                self._accepted = list(range(len(self._rows)))
        keys = self._column_keys(self._sort_column)
        # Rows without a value (unscored, no year) go last whichever way the column is sorted; the
        # sort is stable, so ties (and the rows without a value) keep the rank order.
        present = [i for i in self._accepted if keys[i] is not None]
        missing = [i for i in self._accepted if keys[i] is None]
        view = sorted(present, key=keys.__getitem__,
                      reverse=self._sort_order == Qt.SortOrder.DescendingOrder) + missing
        self._position = None
        self._layout_valid = True
        return view

    def _relayout(self) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        keys = [(self._rows[self._view[p.row()]].key, p.column()) if p.row() < len(self._view) else None
                for p in persistent]
        self._view = self._compute_view()
        position = self._positions()
        new_indexes = []
        for entry in keys:
            row = position.get(self._by_key[entry[0]]) if entry else None
            new_indexes.append(self.index(row, entry[1]) if entry and row is not None else QModelIndex())
        self.changePersistentIndexList(persistent, new_indexes)
        self.layoutChanged.emit()


def _haystack(row: ResultRow) -> str:
    # Not the Found-by text: it holds the search's own queries, so any query word would match every row.
    return " ".join((row.title, " ".join(row.authors), row.venue, " ".join(row.tags), str(row.year or ""))).lower()


# When the table is narrow, these give up width first (in this order), down to ELIDED_MIN pixels each,
# with their text elided; the title keeps at least TITLE_SHARE of the width.
ELIDE_ORDER = (FOUND_BY, TAGS, RATING, VENUE, AUTHORS, DECISION)
ELIDED_MIN = 36
TITLE_SHARE = 0.45


def fit_widths(available: int, preferred: dict[int, int]) -> dict[int, int]:
    """Widths for the visible non-title columns so that the title keeps priority in `available` pixels."""
    widths = dict(preferred)
    title_min = max(160, int(available * TITLE_SHARE))
    excess = sum(widths.values()) + title_min - available
    for column in ELIDE_ORDER:
        if excess <= 0:
            break
        if column in widths:
            give = min(excess, max(0, widths[column] - ELIDED_MIN))
            widths[column] -= give
            excess -= give
    return widths


class PaperTableView(QTableView):
    """j/k (or arrows) move, Space accepts, Delete rejects: review without leaving the keyboard.

    The title column stretches; when the view is narrow the other columns elide first (`fit_widths`).
    A right-click on a row asks for its context menu (`menu_requested`), built by the window."""

    accept_pressed = Signal()
    reject_pressed = Signal()
    menu_requested = Signal(object)  # QPoint in global coordinates

    def __init__(self, model: PaperTableModel, parent: QWidget | None = None,
                 hidden: tuple[int, ...] = ()) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSortingEnabled(True)
        self.sortByColumn(SCORE, Qt.SortOrder.DescendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        self._preferred = {i: col.width for i, col in enumerate(COLUMNS) if i != TITLE}
        self._fitting = False
        for i, col in enumerate(COLUMNS):
            self.setColumnWidth(i, col.width)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(30)
        header.sectionResized.connect(self._section_resized)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        for column in hidden:
            self.setColumnHidden(column, True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._row_menu)
        # Right-click on the header shows or hides columns.
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def _header_menu(self, pos: QPoint) -> None:
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self)
        for i, col in enumerate(COLUMNS):
            if i == TITLE:
                continue
            action = menu.addAction(col.title)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(i))
            action.toggled.connect(self._column_toggler(i))
        menu.exec(self.horizontalHeader().mapToGlobal(pos))

    def _column_toggler(self, column: int) -> Callable[[bool], None]:
        def toggle(on: bool) -> None:
            self.setColumnHidden(column, not on)
            self.fit_columns()

        return toggle

    def _row_menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        if not self.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.selectRow(index.row())  # right-click on an unselected row acts on that row, as in Zotero
        self.menu_requested.emit(self.viewport().mapToGlobal(pos))

    # -- column widths -----------------------------------------------------------------------------

    def fit_columns(self) -> None:
        visible = {c: w for c, w in self._preferred.items() if not self.isColumnHidden(c)}
        self._fitting = True
        try:
            for column, width in fit_widths(self.viewport().width(), visible).items():
                if self.columnWidth(column) != width:
                    self.setColumnWidth(column, width)
        finally:
            self._fitting = False

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        # A width the user drags becomes that column's preferred width (the fit never grows past it).
        if not self._fitting and column != TITLE and new > 0:
            self._preferred[column] = new

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def paper_model(self) -> PaperTableModel:
        model = self.model()
        assert isinstance(model, PaperTableModel)
        return model

    def selected_rows(self) -> list[ResultRow]:
        model = self.paper_model()
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        return [model.row_at(r) for r in rows]

    def current_row(self) -> ResultRow | None:
        index = self.currentIndex()
        return self.paper_model().row_at(index.row()) if index.isValid() else None

    def select_key(self, key: str) -> None:
        row = self.paper_model().view_row_of(key)
        if row is not None:
            self.selectRow(row)
            self.scrollTo(self.paper_model().index(row, 0))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_J, Qt.Key.Key_K):
            self._move(1 if key == Qt.Key.Key_J else -1)
        elif key == Qt.Key.Key_Space:
            self.accept_pressed.emit()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.reject_pressed.emit()
        else:
            super().keyPressEvent(event)

    def _move(self, step: int) -> None:
        count = self.paper_model().rowCount()
        if count == 0:
            return
        current = self.currentIndex().row()
        row = 0 if current < 0 else max(0, min(count - 1, current + step))
        self.selectRow(row)
        self.scrollTo(self.paper_model().index(row, 0))
