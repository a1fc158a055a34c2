"""Light or dark, following the system's colour scheme (Qt ≥ 6.5), on the Fusion style everywhere."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_FOLLOWING = False


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 32, 36), QColor(41, 44, 50), QColor(222, 226, 232)
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, QColor(37, 40, 45)),
        (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, QColor(58, 134, 200)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.Link, QColor(110, 170, 240)),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 146, 156)),
    ):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 124, 132))
    return p


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, *, force: str = "") -> None:
    """Fusion with the system's light/dark scheme; `force` ("light" | "dark") is for screenshots and tests."""
    app.setStyle("Fusion")
    dark = force == "dark" or (not force and is_dark())
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    global _FOLLOWING
    if not force and not _FOLLOWING:
        _FOLLOWING = True
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app))
