"""The crawl tree as a Qt tree model: your question → search queries → papers, and, when citation
expansion ran, → sections → cited papers. The header names only the levels the tree has; each search
query says who wrote it (you, the planner, the Crawler model).

Rows are inserted incrementally as the search grows (never a model reset mid-search), so expanded
branches, scroll position and selection survive live updates.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

from engine.events import QUERY_AUTHORS
from ui import colors
from ui.crawl_state import ROOT, Changes, CrawlNode, CrawlState

Index = QModelIndex | QPersistentModelIndex
SEARCH_LEVELS = "Your question → search queries → papers"
EXPANSION_LEVELS = " → sections → cited papers"
HEADERS = (SEARCH_LEVELS, "Score", "Found", "Selected")
KEY_ROLE = Qt.ItemDataRole.UserRole + 2


def _dot(color: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QBrush(QColor(color)))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class CrawlTreeModel(QAbstractItemModel):
    def __init__(self, state: CrawlState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._shown: dict[int, int] = {}  # node id → children exposed to views so far
        self._icons: dict[str, QIcon] = {}
        self._expansion_shown = False  # the header names the expansion levels once a section exists

    @property
    def state(self) -> CrawlState:
        return self._state

    def reset(self, state: CrawlState) -> None:
        self.beginResetModel()
        self._state = state
        self._shown = {}
        self._expansion_shown = False
        self.endResetModel()

    def apply(self, changes: Changes) -> None:
        """Expose nodes added since the last call and refresh the ones whose scores or counts changed."""
        nodes = self._state.nodes
        parents = sorted({p for p in (nodes[n].parent for n in changes.added) if p is not None})
        for parent_id in parents:
            children = self._state.nodes[parent_id].children
            first = self._shown.get(parent_id, 0)
            if first >= len(children):
                continue
            self.beginInsertRows(self._index_of(parent_id), first, len(children) - 1)
            self._shown[parent_id] = len(children)
            self.endInsertRows()
        for node_id in changes.updated:
            index = self._index_of(node_id)
            if index.isValid():
                self.dataChanged.emit(index, index.siblingAtColumn(len(HEADERS) - 1))
        if not self._expansion_shown and any(nodes[n].kind == "section" for n in changes.added):
            self._expansion_shown = True
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 0)

    def levels(self) -> str:
        """The header's first column: the tree's levels, sections and cited papers only once they exist."""
        return SEARCH_LEVELS + (EXPANSION_LEVELS if self._expansion_shown else "")

    def node(self, index: Index) -> CrawlNode:
        return self._state.nodes[int(index.internalId())]

    def index_for_node(self, node_id: int) -> QModelIndex:
        return self._index_of(node_id)

    # -- Qt model API ------------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not parent.isValid():
            return self.createIndex(row, column, ROOT) if row == 0 else QModelIndex()
        parent_id = int(parent.internalId())
        children = self._state.nodes[parent_id].children
        if row >= self._shown.get(parent_id, 0):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        node = self._state.nodes[int(index.internalId())]
        if node.parent is None:
            return QModelIndex()
        return self._index_of(node.parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return 1
        if parent.column() != 0:
            return 0
        return self._shown.get(int(parent.internalId()), 0)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
                   ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.levels() if section == 0 else HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self.node(index)
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(node, col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return self._icon(node)
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return self._tooltip(node)
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == KEY_ROLE:
            return node.key
        return None

    # -- internals ---------------------------------------------------------------------------------

    def _index_of(self, node_id: int) -> QModelIndex:
        node = self._state.nodes[node_id]
        if node.parent is None:
            return self.createIndex(0, 0, ROOT)
        if node.row >= self._shown.get(node.parent, 0):
            return QModelIndex()
        return self.createIndex(node.row, 0, node_id)

    def _text(self, node: CrawlNode, col: int) -> str:
        if col == 0:
            if node.kind == "root":
                return node.label or "(no search yet)"
            if node.kind == "section":
                return f"§ {node.label}"
            if node.kind == "query":
                who = QUERY_AUTHORS.get(self._state.query_origin.get(node.label, ""))
                return f"{who}: {node.label}" if who else node.label
            if node.kind == "paper" and node.expanded:
                return f"{node.label}  ⤷ expanded"
            if node.kind == "paper" and node.no_fulltext:
                return f"{node.label}  (no full text to expand)"
            return node.label
        if col == 1:
            return "" if node.score is None else f"{node.score:.2f}"
        if node.kind == "paper" and not node.children:
            return ""
        return str(node.found) if col == 2 else str(node.chosen)

    def _icon(self, node: CrawlNode) -> QIcon:
        if node.kind == "paper":
            color = colors.score_color(node.score)
        else:
            color = {"root": colors.ROOT, "query": colors.QUERY}.get(node.kind, colors.SECTION)
        icon = self._icons.get(color)
        if icon is None:
            icon = self._icons[color] = _dot(color)
        return icon

    def _tooltip(self, node: CrawlNode) -> str:
        if node.kind == "paper":
            paper = self._state.papers.get(node.key)
            score = "not scored yet" if node.score is None else f"selector score {node.score:.2f}"
            return f"{paper.title if paper else node.key}\n{score}"
        who = QUERY_AUTHORS.get(self._state.query_origin.get(node.label, "")) if node.kind == "query" else None
        written = f"\nwritten by {who}" if who else ""
        return f"{node.label}{written}\n{node.found} papers found, {node.chosen} selected"


class CrawlTreeView(QTreeView):
    def __init__(self, model: CrawlTreeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            self.setColumnWidth(col, 62)
        model.rowsInserted.connect(self._expand_new)

    def _expand_new(self, parent: QModelIndex, first: int, last: int) -> None:
        # Keep the top of the tree (user query and its search queries) open as it grows.
        model = self.model()
        assert isinstance(model, CrawlTreeModel)
        if not parent.isValid() or model.node(parent).kind in ("root",):
            self.expand(parent if parent.isValid() else model.index(0, 0))
        elif model.node(parent).kind == "query" and not self.isExpanded(parent):
            self.expand(parent)
