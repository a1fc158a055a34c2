"""Help → About: the version, the model profiles in use and where the library and index live."""

from __future__ import annotations

import html
import platform
import sys
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.errors import PasaError
from engine.models.profiles import ModelProfile, embedded_model_path
from pasa_desktop import __version__
from pasa_desktop.settings import Settings, data_dir, settings_file


def describe_profile(profile: ModelProfile) -> str:
    """One line a user recognises: the backend and the model it runs."""
    if profile.kind == "embedded":
        try:
            where = embedded_model_path().name
        except PasaError:
            where = "not installed"
        return f"{profile.name} — embedded llama.cpp ({where})"
    if profile.kind == "openai":
        return f"{profile.name} — OpenAI-compatible server {profile.base_url} ({profile.model or 'default model'})"
    return f"{profile.name} — {profile.kind} ({profile.path or 'no path set'})"


def about_rows(settings: Settings) -> list[tuple[str, str]]:
    def profile_line(name: str) -> str:
        try:
            return describe_profile(settings.profile(name))
        except PasaError as exc:
            return str(exc)

    from pasa_desktop.selector_setup import awaits_preparation

    selector = profile_line(settings.selector_profile)
    if awaits_preparation(settings):  # a search started now has no Selector (selector_setup.selector_for_search)
        selector += " — not prepared yet: searches score and select nothing until it is"
    build = "bundle" if getattr(sys, "frozen", False) else "source"
    return [
        ("Version", f"PaSa Desktop {__version__} ({build})"),
        ("Crawler model", profile_line(settings.crawler_profile)),
        ("Selector model", selector),
        ("Library", str(settings.library_path())),
        ("Offline index", str(settings.index_path())),
        ("Data folder", str(data_dir())),
        ("Settings file", str(settings_file())),
        ("Runtime", f"Python {platform.python_version()}, Qt for Python {pyside_version}, {platform.system()}"),
    ]


def _icon_path() -> Path | None:
    try:
        from pasa_desktop.desktop_entry import resources_dir

        path = resources_dir() / "pasa-desktop.png"
    except PasaError:
        return None
    return path if path.is_file() else None


class AboutDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About PaSa Desktop")
        self.rows = about_rows(settings)
        icon = QLabel()
        path = _icon_path()
        if path is not None:
            icon.setPixmap(QPixmap(str(path)).scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        table = "".join(
            f"<tr><td style='padding-right:12px'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
            for k, v in self.rows[1:]
        )
        self.text = QLabel(
            f"<h2>PaSa Desktop {html.escape(__version__)}</h2>"
            "<p>A literature manager around a PaSa-style paper-search agent (arXiv 2501.10120).</p>"
            f"<table>{table}</table>"
        )
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setWordWrap(True)
        self.text.setMinimumWidth(520)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(buttons)
