"""Colours shared by the views: one score scale (red → amber → green) and node kinds."""

from __future__ import annotations

import itertools

# Readable on light and dark backgrounds; 0.5 (the selection threshold) sits on amber.
_STOPS = ((0.0, (214, 69, 65)), (0.5, (232, 170, 40)), (1.0, (46, 160, 67)))
UNSCORED = "#8c959f"
ROOT = "#5b5fc7"
QUERY = "#3a86c8"
SECTION = "#a371f7"


def score_rgb(score: float) -> tuple[int, int, int]:
    s = min(1.0, max(0.0, score))
    for (x0, c0), (x1, c1) in itertools.pairwise(_STOPS):
        if s <= x1:
            t = (s - x0) / (x1 - x0)
            r, g, b = (round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
            return r, g, b
    return _STOPS[-1][1]


def score_color(score: float | None) -> str:
    if score is None:
        return UNSCORED
    r, g, b = score_rgb(score)
    return f"#{r:02x}{g:02x}{b:02x}"


def plot_colors() -> tuple[str, str]:
    """(background, foreground) for pyqtgraph views, taken from the application palette (light or dark)."""
    from PySide6.QtGui import QGuiApplication, QPalette

    palette = QGuiApplication.palette()
    return (palette.color(QPalette.ColorRole.Base).name(), palette.color(QPalette.ColorRole.Text).name())


def style_plot(plot: object, title: str = "") -> None:
    """Palette colours on a pyqtgraph PlotWidget: its default black background ignores the theme."""
    background, foreground = plot_colors()
    plot.setBackground(background)  # type: ignore[attr-defined]
    if title:
        plot.setTitle(title, color=foreground, size="10pt")  # type: ignore[attr-defined]
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)  # type: ignore[attr-defined]
        axis.setPen(foreground)
        axis.setTextPen(foreground)
        axis.enableAutoSIPrefix(False)
