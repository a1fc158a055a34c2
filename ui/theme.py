"""Light, dark, or following the system's colour scheme (Qt ≥ 6.5), on the Fusion style everywhere.

The choice is a setting (View → Theme, Settings → Library & appearance). Fusion alone draws a checked
push button and a check box's frame from the window colour, which in a dark palette leaves the chosen
budget button looking like the others and check boxes nearly invisible; a small style sheet gives both
states a visible colour in either theme.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
_following = False
_forced = ""  # `pasa --theme=dark` (screenshots): wins over the saved choice when the window opens
_chosen = "system"

# Checked buttons take the highlight colour; check-box and radio indicators get a frame that shows on
# either background. Only these states are styled: everything else stays Fusion's.
_SHEET = """
QPushButton:checked, QToolButton:checked {{
    background-color: {highlight}; color: {highlighted_text}; border: 1px solid {highlight_dark};
    border-radius: 3px; padding: 3px 10px;
}}
QCheckBox::indicator, QAbstractItemView::indicator {{
    width: 13px; height: 13px; border: 1px solid {frame}; border-radius: 2px; background: {base};
}}
QCheckBox::indicator:checked, QAbstractItemView::indicator:checked {{
    background: {highlight}; border: 1px solid {highlight_dark}; image: url("{check}");
}}
QCheckBox::indicator:disabled {{ border-color: {disabled}; }}
"""


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
        (QPalette.ColorRole.Button, QColor(52, 56, 63)),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Light, QColor(78, 84, 94)),
        (QPalette.ColorRole.Midlight, QColor(64, 69, 78)),
        (QPalette.ColorRole.Mid, QColor(36, 38, 43)),
        (QPalette.ColorRole.Dark, QColor(24, 26, 29)),
        (QPalette.ColorRole.Shadow, QColor(10, 10, 12)),
        (QPalette.ColorRole.Highlight, QColor(58, 134, 200)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.Link, QColor(110, 170, 240)),
        (QPalette.ColorRole.LinkVisited, QColor(170, 140, 230)),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 146, 156)),
        (QPalette.ColorRole.BrightText, QColor(255, 120, 120)),
    ):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 124, 132))
    return p


def light_palette(app: QApplication) -> QPalette:
    p = app.style().standardPalette()
    p.setColor(QPalette.ColorRole.Highlight, QColor(48, 120, 198))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    return p


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def current_theme() -> str:
    """"light" or "dark": what is on screen now."""
    return _resolved(_chosen)


def chosen_theme() -> str:
    """"system", "light" or "dark": what the user (or `--theme=`) chose."""
    return _chosen


def _resolved(theme: str) -> str:
    return ("dark" if is_dark() else "light") if theme == "system" else theme


_CHECK_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="13" height="13" viewBox="0 0 13 13">'
    '<path d="M2.5 6.8 L5.3 9.5 L10.6 3.6" fill="none" stroke="{color}" stroke-width="2" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)


def _check_mark(color: str) -> str:
    """A check-mark image for the style sheet (a style sheet takes images by file name only)."""
    import tempfile
    from pathlib import Path

    path = Path(tempfile.gettempdir()) / f"pasa-desktop-check-{color.lstrip('#')}.svg"
    if not path.exists():
        try:
            path.write_text(_CHECK_SVG.format(color=color), encoding="utf-8")
        except OSError:
            return ""  # the filled box still shows the state
    return path.as_posix()


def style_sheet(palette: QPalette, dark: bool) -> str:
    highlight = palette.color(QPalette.ColorRole.Highlight)
    return _SHEET.format(
        check=_check_mark(palette.color(QPalette.ColorRole.HighlightedText).name()),
        highlight=highlight.name(),
        highlight_dark=highlight.darker(130).name(),
        highlighted_text=palette.color(QPalette.ColorRole.HighlightedText).name(),
        frame="#9aa3ad" if dark else "#7d8590",
        base=palette.color(QPalette.ColorRole.Base).name(),
        disabled="#5c626b" if dark else "#c0c4c8",
    )


def apply_theme(app: QApplication, theme: str = "system", *, force: str = "") -> None:
    """Fusion in `theme` ("system" follows the system's scheme, and its changes). `force` ("light" |
    "dark", from `pasa --theme=`) wins over the saved choice at start-up (`apply_saved_theme`); a theme
    the user picks later (View → Theme) is shown."""
    global _following, _forced, _chosen
    if force in ("light", "dark"):
        _forced = theme = force
    else:
        _forced = ""
    _chosen = theme if theme in THEMES else "system"
    app.setStyle("Fusion")
    dark = _resolved(_chosen) == "dark"
    palette = dark_palette() if dark else light_palette(app)
    app.setPalette(palette)
    app.setStyleSheet(style_sheet(palette, dark))
    _reparse_links(app)
    if not _following:
        _following = True
        QGuiApplication.styleHints().colorSchemeChanged.connect(
            lambda _scheme: apply_theme(app, "system") if _chosen == "system" and not _forced else None)


def _reparse_links(app: QApplication) -> None:
    """Labels parse their HTML once, taking the link colour from the palette of that moment: dark-blue
    links on a dark background after a switch unless their text is set again."""
    import shiboken6
    from PySide6.QtWidgets import QLabel

    # The labels of the open windows only: app.allWidgets() also hands back widgets that are half torn down
    # (seen crashing the test run with a segmentation fault after a switch), and those show no link anyway.
    for top in app.topLevelWidgets():
        for widget in top.findChildren(QLabel):
            if not shiboken6.isValid(widget) or widget.textFormat() == Qt.TextFormat.PlainText:
                continue
            if "<a " in (text := widget.text()):
                widget.clear()
                widget.setText(text)


def apply_saved_theme(app: QApplication, theme: str) -> None:
    """The theme from the settings, when the window opens (unless `pasa --theme=` fixed one)."""
    if not _forced and theme != _chosen:
        apply_theme(app, theme)
