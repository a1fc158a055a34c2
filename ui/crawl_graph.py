"""The crawl tree drawn as a graph (pyqtgraph): depth left to right, nodes coloured by selector score.

Layout is a layered outline: leaves take consecutive rows, a parent sits level with its first child (so the
question and its queries stay in view at the top however many papers they found).
It is recomputed only when nodes were added (O(n), a few ms for thousands of nodes). Papers carry their
titles; the first view frames the first _FRAME rows so that a 100-paper search is not squeezed into one grey
bar, and the rest is a drag or a wheel turn away (the caption under the graph says how many there are).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui import colors
from ui.crawl_state import ROOT, CrawlState

_SIZE = {"root": 18.0, "query": 13.0, "paper": 9.0, "section": 7.0}
_MAX_LABELS = 40
_MAX_TITLES = 300  # paper titles drawn (TextItems cost); papers past this are dots, titled in the table
_FRAME = 20  # rows the first view shows


def tree_layout(state: CrawlState) -> dict[int, tuple[float, float]]:
    """x = depth, y = leaf order (a parent level with its first child); iterative to survive deep trees."""
    pos: dict[int, tuple[float, float]] = {}
    next_leaf = 0.0
    stack: list[tuple[int, bool]] = [(ROOT, False)]
    while stack:
        node_id, done = stack.pop()
        node = state.nodes[node_id]
        if not node.children:
            pos[node_id] = (float(node.depth), -next_leaf)
            next_leaf += 1.0
        elif done:
            pos[node_id] = (float(node.depth), pos[node.children[0]][1])
        else:
            stack.append((node_id, True))
            stack.extend((c, False) for c in reversed(node.children))
    return pos


class CrawlGraphView(QWidget):
    def __init__(self, state: CrawlState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.on_paper_clicked: Callable[[str], None] | None = None
        self._plot = pg.PlotWidget()
        self._plot.setMenuEnabled(False)
        colors.style_plot(self._plot)
        self._plot.hideAxis("left")
        self._plot.hideAxis("bottom")
        self._plot.setMouseEnabled(x=True, y=True)
        self._graph = pg.GraphItem()
        self._plot.addItem(self._graph)
        self._labels: list[pg.TextItem] = []
        self._ids: list[int] = []
        self._framed_rows = 0  # rows the view was last framed on; the user's pan and zoom win after _FRAME
        self._graph.scatter.sigClicked.connect(self._clicked)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plot, 1)
        layout.addWidget(self.caption)
        self.redraw()

    def reset(self, state: CrawlState) -> None:
        self._state = state
        self._framed_rows = 0
        self.redraw()

    def node_positions(self) -> dict[int, tuple[float, float]]:
        return tree_layout(self._state)

    def redraw(self) -> None:
        state = self._state
        pos = tree_layout(state)
        self._ids = sorted(pos)
        row = {node_id: i for i, node_id in enumerate(self._ids)}
        xy = np.array([pos[i] for i in self._ids], dtype=float)
        edges = np.array(
            [(row[n.parent], row[n.id]) for n in state.nodes.values() if n.parent is not None], dtype=int
        ).reshape(-1, 2)
        brushes, sizes = [], []
        for node_id in self._ids:
            node = state.nodes[node_id]
            if node.kind == "paper":
                color = colors.score_color(node.score)
            else:
                color = {"root": colors.ROOT, "query": colors.QUERY}.get(node.kind, colors.SECTION)
            brushes.append(pg.mkBrush(color))
            sizes.append(_SIZE[node.kind] + (3.0 if node.selected else 0.0))
        self._graph.setData(
            pos=xy, adj=edges, size=np.array(sizes), symbolBrush=brushes, symbolPen=None,
            pen=pg.mkPen((140, 140, 140, 110), width=1), pxMode=True,
        )
        self._draw_labels(pos)
        self._frame(pos)

    def _frame(self, pos: dict[int, tuple[float, float]]) -> None:
        rows = sum(1 for n in self._state.nodes.values() if not n.children)
        if self._framed_rows >= _FRAME or rows == self._framed_rows or not pos:
            return
        self._framed_rows = rows
        depth = max(x for x, _y in pos.values())
        # Room on the right for the titles of the deepest papers; as many rows as fit at ~20 px a row.
        self._plot.setXRange(-0.2, depth + 2.4, padding=0)
        height = self._plot.height()
        fit = max(5, int(height / 20)) if height > 60 else _FRAME
        self._plot.setYRange(-min(rows, fit) + 0.5, 1.4, padding=0)  # the query labels sit above their row
        papers = sum(1 for n in self._state.nodes.values() if n.kind == "paper")
        self.caption.setText(
            f"{papers} papers: drag or scroll to see the rest; click a paper to show it in the table"
            if rows > _FRAME else ("Click a paper to show it in the table" if papers else "")
        )

    def _draw_labels(self, pos: dict[int, tuple[float, float]]) -> None:
        for label in self._labels:
            self._plot.removeItem(label)
        self._labels = []
        wanted = [n for n in self._state.nodes.values() if n.kind in ("root", "query")][:_MAX_LABELS]
        for node in wanted:
            text = node.label if len(node.label) <= 40 else node.label[:39] + "…"
            counts = f"  ({node.found} · {node.chosen}✔)" if node.found else ""
            if node.kind == "root":  # the query is in the box above; the root shows the totals only
                text, counts = "your query", f" · {node.found} found · {node.chosen} ✔" if node.found else ""
            # The root sits at the left edge, level with a query: its label goes below it, left-aligned.
            anchor = (0.0, -0.35) if node.kind == "root" else (0.5, 1.15)
            item = pg.TextItem(text + counts, color=(120, 120, 120), anchor=anchor)
            item.setPos(*pos[node.id])
            self._plot.addItem(item)
            self._labels.append(item)
        foreground = colors.plot_colors()[1]
        papers = [n for n in self._state.nodes.values() if n.kind == "paper"][:_MAX_TITLES]
        for node in papers:
            title = node.label if len(node.label) <= 70 else node.label[:69] + "…"
            item = pg.TextItem(("✔ " if node.selected else "") + title, color=foreground, anchor=(0.0, 0.5))
            x, y = pos[node.id]
            item.setPos(x + 0.04, y)
            self._plot.addItem(item)
            self._labels.append(item)

    def _clicked(self, _scatter: object, points: list[object]) -> None:
        if not points or self.on_paper_clicked is None:
            return
        index = points[0].index()  # type: ignore[attr-defined]  # a pyqtgraph SpotItem, typed object in the sigClicked slot
        node = self._state.nodes[self._ids[index]]
        if node.kind == "paper":
            self.on_paper_clicked(node.key)
