"""Live selector-score plots: a histogram with the selection threshold, and counts over time."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from ui import colors
from ui.crawl_state import CrawlState

BINS = np.linspace(0.0, 1.0, 21)


class ScorePlots(QWidget):
    def __init__(self, state: CrawlState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.histogram = pg.PlotWidget()
        colors.style_plot(self.histogram, "Score histogram")
        self.histogram.setMenuEnabled(False)
        self.histogram.setMouseEnabled(x=False, y=False)
        self.histogram.setLabel("bottom", "P(True)")
        self.histogram.setLabel("left", "papers")
        self.histogram.setXRange(0, 1, padding=0.02)
        centres = (BINS[:-1] + BINS[1:]) / 2
        brushes = [pg.mkBrush(colors.score_color(float(c))) for c in centres]
        self._bars = pg.BarGraphItem(x=centres, height=np.zeros(len(centres)), width=0.045, brushes=brushes)
        self.histogram.addItem(self._bars)
        dash = pg.QtCore.Qt.PenStyle.DashLine
        self._threshold = pg.InfiniteLine(
            pos=state.threshold, angle=90, pen=pg.mkPen((200, 60, 60), width=2, style=dash),
            label=f"select > {state.threshold:.2g}", labelOpts={"position": 0.93, "color": (200, 60, 60),
                                                                 "anchors": [(1, 0), (1, 0)]},
        )
        self.histogram.addItem(self._threshold)

        self.timeline = pg.PlotWidget()
        colors.style_plot(self.timeline, "Found · scored · selected over time")
        self.timeline.setMenuEnabled(False)
        self.timeline.setLabel("bottom", "seconds")
        self.timeline.addLegend(offset=(8, 8), labelTextColor=colors.plot_colors()[1])
        self.timeline.setLabel("left", "papers")
        self._curves = {
            "found": self.timeline.plot(name="found", pen=pg.mkPen(colors.QUERY, width=2)),
            "scored": self.timeline.plot(name="scored", pen=pg.mkPen(colors.SECTION, width=2)),
            "selected": self.timeline.plot(name="selected", pen=pg.mkPen(colors.score_color(1.0), width=2)),
        }
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.histogram)
        layout.addWidget(self.timeline)
        self.redraw()

    def reset(self, state: CrawlState) -> None:
        self._state = state
        self._threshold.setValue(state.threshold)
        self.redraw()

    def histogram_counts(self) -> list[int]:
        counts, _ = np.histogram(np.array(list(self._state.scores.values()), dtype=float), bins=BINS)
        return [int(c) for c in counts]

    def timeline_series(self) -> dict[str, list[int]]:
        points = self._state.timeline
        return {
            "found": [p.found for p in points],
            "scored": [p.scored for p in points],
            "selected": [p.selected for p in points],
        }

    def redraw(self) -> None:
        counts = self.histogram_counts()
        self._bars.setOpts(height=np.array(counts, dtype=float))
        self.histogram.setYRange(0, max(1, max(counts)) * 1.3, padding=0)
        points = self._state.timeline
        t = np.array([p.seconds for p in points], dtype=float)
        # Step lines: counts hold their value until the next event.
        for name, series in self.timeline_series().items():
            self._curves[name].setData(t, np.array(series, dtype=float), stepMode="left")
        if len(points) < 2:  # before a search: sensible empty axes rather than ±0.5 around nothing
            self.timeline.setXRange(0, 10, padding=0)
            self.timeline.setYRange(0, 10, padding=0)
        else:
            self.timeline.enableAutoRange()
