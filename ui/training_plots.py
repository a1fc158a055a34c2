"""A training job's metrics, one small plot each, in the application's theme.

One PlotWidget per metric the training service names (loss, reward, KL, …), coloured from the
application palette (ui/colors.py), so a theme switch (View → Theme restyles every PlotWidget in the
window) recolours these too. No global pyqtgraph background: it would also paint the search tab's plots
white in the dark theme, which is how the training plots were white there (#17). A metric the job has
not reported reads "no data" instead of an axis from 0 to 1 that looks measured.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QWidget

from pasa_desktop.training_service import METRICS, MetricPoint
from ui import colors


class TrainingPlots(QWidget):
    """Grows with `add(points)`; `reset()` for another job."""

    def __init__(self, parent: QWidget | None = None, *, columns: int = 3) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        self.curves: dict[str, Any] = {}  # metric key -> its PlotDataItem
        self.plot_widgets: dict[str, pg.PlotWidget] = {}
        self._no_data: dict[str, pg.TextItem] = {}
        self._series: dict[str, tuple[list[float], list[float]]] = {}
        for i, (key, title) in enumerate(METRICS):
            plot = pg.PlotWidget()
            colors.style_plot(plot, title)
            plot.setMenuEnabled(False)
            plot.setMinimumSize(120, 90)
            self.plot_widgets[key] = plot
            self.curves[key] = plot.plot(
                [], [], pen=pg.mkPen(colors.QUERY, width=2), symbol="o", symbolSize=4,
                symbolBrush=colors.QUERY, symbolPen=colors.QUERY, antialias=True,
            )
            # Grey reads on either theme; an empty view's range is 0..1, so (0.5, 0.5) is its centre.
            self._no_data[key] = pg.TextItem("no data", color=colors.UNSCORED, anchor=(0.5, 0.5))
            self._no_data[key].setPos(0.5, 0.5)
            plot.addItem(self._no_data[key], ignoreBounds=True)
            grid.addWidget(plot, i // columns, i % columns)
        self.reset()

    def reset(self) -> None:
        self._series = {key: ([], []) for key, _ in METRICS}
        for key, curve in self.curves.items():
            curve.setData([], [])
            self._show_empty(key, True)

    def add(self, points: list[MetricPoint]) -> None:
        touched: set[str] = set()
        for point in points:
            for key, value in point.values.items():
                xs, ys = self._series[key]
                xs.append(point.step)
                ys.append(value)
                touched.add(key)
        for key in touched:
            xs, ys = self._series[key]
            self.curves[key].setData(xs, ys)
            self._show_empty(key, False)

    def _show_empty(self, key: str, empty: bool) -> None:
        plot = self.plot_widgets[key]
        for name in ("left", "bottom"):
            plot.showAxis(name, not empty)
        plot.showGrid(x=not empty, y=not empty, alpha=0.3)
        self._no_data[key].setVisible(empty)
