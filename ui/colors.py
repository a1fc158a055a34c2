"""Colours shared by the views: one score scale (red → amber → green) and node kinds."""

from __future__ import annotations

# Readable on light and dark backgrounds. The scale breaks at the selection threshold: red → amber
# below it, yellow-green → green above it, so "selected" reads as green whatever the threshold. A
# calibrated Selector's threshold is often far below 0.5, and a fixed 0.5 midpoint painted every score
# of a useful model red.
_RED, _AMBER, _LIME, _GREEN = (214, 69, 65), (232, 170, 40), (140, 180, 60), (46, 160, 67)
DEFAULT_THRESHOLD = 0.5
_threshold = DEFAULT_THRESHOLD
UNSCORED = "#8c959f"
ROOT = "#5b5fc7"
QUERY = "#3a86c8"
SECTION = "#a371f7"


def set_threshold(threshold: float | None) -> None:
    """Centre the scale (amber) on the current run's selection threshold; None restores 0.5.

    One scale for the whole window: the score plots set it when a run's settings arrive, and the table,
    tree, graph and detail pane paint with it, so a colour means the same thing everywhere.
    """
    global _threshold
    _threshold = DEFAULT_THRESHOLD if threshold is None else min(0.95, max(0.05, float(threshold)))


def current_threshold() -> float:
    return _threshold


def score_rgb(score: float, threshold: float | None = None) -> tuple[int, int, int]:
    t = _threshold if threshold is None else min(0.95, max(0.05, threshold))
    s = min(1.0, max(0.0, score))
    (x0, c0), (x1, c1) = ((0.0, _RED), (t, _AMBER)) if s <= t else ((t, _LIME), (1.0, _GREEN))
    f = (s - x0) / (x1 - x0)
    r, g, b = (round(a + (b - a) * f) for a, b in zip(c0, c1, strict=True))
    return r, g, b


def score_color(score: float | None, threshold: float | None = None) -> str:
    if score is None:
        return UNSCORED
    r, g, b = score_rgb(score, threshold)
    return f"#{r:02x}{g:02x}{b:02x}"


def plot_colors() -> tuple[str, str]:
    """(background, foreground) for pyqtgraph views, taken from the application palette (light or dark)."""
    from PySide6.QtGui import QGuiApplication, QPalette

    palette = QGuiApplication.palette()
    return (palette.color(QPalette.ColorRole.Base).name(), palette.color(QPalette.ColorRole.Text).name())


def restyle_plots(root: object) -> int:
    """After a theme switch: palette colours again on every pyqtgraph plot under `root` (a QWidget), titles
    kept. Plots take their colours when they are made; without this a dark window keeps white plots."""
    import sys

    pg = sys.modules.get("pyqtgraph")
    # Not imported, or still being imported by the start-up thread (a theme chosen in the first second):
    # either way no plot was made yet, and the half-made module has no PlotWidget to look for.
    if pg is None or not hasattr(pg, "PlotWidget") or not hasattr(pg, "InfiniteLine"):
        return 0
    plots = root.findChildren(pg.PlotWidget)  # type: ignore[attr-defined]  # pg is the module from sys.modules (a ModuleType): its attributes are unknown to mypy
    foreground = plot_colors()[1]
    for plot in plots:
        item = plot.getPlotItem()
        style_plot(plot, item.titleLabel.text)
        if item.legend is not None:
            item.legend.setLabelTextColor(foreground)
            for _sample, label in item.legend.items:  # setLabelTextColor only affects labels set later
                label.setText(label.text, color=foreground)
        for child in item.items:  # a threshold line's label ("select > 0.50")
            if isinstance(child, pg.InfiniteLine) and child.label is not None:
                child.label.setColor(foreground)
    return len(plots)


def style_plot(plot: object, title: str = "") -> None:
    """Palette colours on a pyqtgraph PlotWidget: its default black background ignores the theme."""
    background, foreground = plot_colors()
    plot.setBackground(background)  # type: ignore[attr-defined]  # a pyqtgraph PlotWidget, typed object so this module need not import pyqtgraph
    if title:
        plot.setTitle(title, color=foreground, size="10pt")  # type: ignore[attr-defined]  # a pyqtgraph PlotWidget, typed object so this module need not import pyqtgraph
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)  # type: ignore[attr-defined]  # a pyqtgraph PlotWidget, typed object so this module need not import pyqtgraph
        axis.setPen(foreground)
        axis.setTextPen(foreground)
        axis.enableAutoSIPrefix(False)
