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

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from pasa_desktop.gui_controller import ResultRow
from ui.colors import score_color

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    text: Callable[[ResultRow], str]
    sort_key: Callable[[ResultRow], Any]
    width: int


def _authors(row: ResultRow) -> str:
    if not row.authors:
        return ""
    first = row.authors[0].split(",")[0] if "," in row.authors[0] else row.authors[0].split()[-1]
    return first if len(row.authors) == 1 else f"{first} et al." if len(row.authors) > 2 else \
        f"{first} & {row.authors[1].split()[-1]}"


COLUMNS: tuple[Column, ...] = (
    Column("Score", lambda r: "" if r.score is None else f"{r.score:.2f}",
           lambda r: -1.0 if r.score is None else r.score, 54),
    Column("Sel.", lambda r: "✔" if r.selected else "", lambda r: r.selected, 38),
    Column("Decision", lambda r: r.decision.capitalize(), lambda r: r.decision, 74),
    Column("Title", lambda r: r.title, lambda r: r.title.lower(), 360),
    Column("Authors", _authors, lambda r: _authors(r).lower(), 130),
    Column("Year", lambda r: str(r.year or ""), lambda r: r.year or 0, 48),
    Column("Venue", lambda r: r.venue, lambda r: r.venue.lower(), 84),
    Column("Found by", lambda r: r.found_by, lambda r: r.found_by.lower(), 170),
    Column("Tags", lambda r: ", ".join(r.tags), lambda r: ", ".join(r.tags).lower(), 90),
    Column("Rating", lambda r: "★" * r.rating, lambda r: r.rating, 62),
)
SCORE, SELECTED, DECISION, TITLE, FOUND_BY, TAGS, RATING = 0, 1, 2, 3, 7, 8, 9
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
_DISPLAY, _TOOLTIP = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole)
_BACKGROUND, _FOREGROUND = int(Qt.ItemDataRole.BackgroundRole), int(Qt.ItemDataRole.ForegroundRole)
_FONT, _ALIGN, _ROW = int(Qt.ItemDataRole.FontRole), int(Qt.ItemDataRole.TextAlignmentRole), int(ROW_ROLE)
_ROLES = frozenset((_DISPLAY, _TOOLTIP, _BACKGROUND, _FOREGROUND, _FONT, _ALIGN, _ROW))
_CENTER = int(Qt.AlignmentFlag.AlignCenter)
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
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and role on each repaint: plain ints and cached objects only.
        if role not in _ROLES or not index.isValid():
            return None
        row = self._rows[self._view[index.row()]]
        col = index.column()
        if role == _DISPLAY:
            return COLUMNS[col].text(row)
        if role == _ROW:
            return row
        if role == _TOOLTIP:
            return row.title if col == TITLE else None
        if role == _BACKGROUND:
            return None if col != SCORE or row.score is None else _score_brush(round(row.score, 2))
        if role == _FOREGROUND:
            return _GREY if row.decision == "rejected" else None
        if role == _FONT:
            return self._bold if col == TITLE and row.decision == "accepted" else None
        return _CENTER if col in (SCORE, SELECTED, 5) else None

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
        view = sorted(self._accepted, key=keys.__getitem__,
                      reverse=self._sort_order == Qt.SortOrder.DescendingOrder)
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
    return " ".join((row.title, " ".join(row.authors), row.venue, " ".join(row.tags), str(row.year or ""),
                     row.found_by)).lower()


class PaperTableView(QTableView):
    """j/k (or arrows) move, Space accepts, Delete rejects: review without leaving the keyboard."""

    accept_pressed = Signal()
    reject_pressed = Signal()

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
        for i, col in enumerate(COLUMNS):
            self.setColumnWidth(i, col.width)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(30)
        for column in hidden:
            self.setColumnHidden(column, True)
        # Right-click on the header shows or hides columns.
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def _header_menu(self, pos: object) -> None:
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self)
        for i, col in enumerate(COLUMNS):
            if i == TITLE:
                continue
            action = menu.addAction(col.title)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(i))
            action.toggled.connect(lambda on, c=i: self.setColumnHidden(c, not on))
        menu.exec(self.horizontalHeader().mapToGlobal(pos))  # type: ignore[arg-type]

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
