"""The crawl tree drawn as a graph (pyqtgraph): depth left to right, nodes coloured by selector score.

Layout is a tidy layered tree: leaves take consecutive rows, a parent sits at the middle of its children.
It is recomputed only when nodes were added (O(n), a few ms for thousands of nodes).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ui import colors
from ui.crawl_state import ROOT, CrawlState

_SIZE = {"root": 18.0, "query": 13.0, "paper": 9.0, "section": 7.0}
_MAX_LABELS = 40


def tree_layout(state: CrawlState) -> dict[int, tuple[float, float]]:
    """x = depth, y = leaf order (parents centred over children); iterative to survive deep trees."""
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
            ys = [pos[c][1] for c in node.children]
            pos[node_id] = (float(node.depth), (min(ys) + max(ys)) / 2.0)
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
        self._graph.scatter.sigClicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plot)
        self.redraw()

    def reset(self, state: CrawlState) -> None:
        self._state = state
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

    def _clicked(self, _scatter: object, points: list[object]) -> None:
        if not points or self.on_paper_clicked is None:
            return
        index = points[0].index()  # type: ignore[attr-defined]  # a pyqtgraph SpotItem, typed object in the sigClicked slot
        node = self._state.nodes[self._ids[index]]
        if node.kind == "paper":
            self.on_paper_clicked(node.key)
