"""Fixtures for the desktop app's tests: a real library in a tmp dir and the real window, offscreen."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.models.base import ChatModel
from pasa_desktop.gui_controller import AppServices
from pasa_desktop.library import Library, open_library
from pasa_desktop.settings import Settings
from pasa_testing.scripted import ScriptedModel
from tests.conftest import shared_data
from tests.ui.scripted_search import InThreadSearch, ScriptedSearch

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = open_library(tmp_path / "library.sqlite")
    yield lib
    lib.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings()
    s.paths.library = str(tmp_path / "library.sqlite")
    return s


def reasoner(_name: str) -> ScriptedModel:
    return ScriptedModel(lambda prompt: "It studies coded computation against stragglers, as asked.")


@pytest.fixture
def make_window(qtbot, settings: Settings, library: Library):  # type: ignore[no-untyped-def]
    """Build the main window around a stream factory (default: a scripted search on the real library)."""
    from ui.main_window import MainWindow

    made: list[MainWindow] = []

    def make(stream: Callable | str | None = "scripted", show: bool = True,  # type: ignore[type-arg]
             search_models: Callable[[str], ScriptedModel] | None = None,
             model_loader: Callable[[str], ChatModel] = reasoner) -> MainWindow:
        """stream: a StreamFactory (served from a thread over a pipe), "scripted" (ScriptedSearch on the library)
        or None (the app's SearchService in a child process, whose models `search_models` makes: a module-level
        function, sent to it by name). `model_loader` makes the models the window explains with."""
        factory: Any = ScriptedSearch(library) if stream == "scripted" else stream
        services = AppServices(settings, launcher=InThreadSearch(factory) if factory is not None else None,
                               model_loader=model_loader, library=library, search_model_loader=search_models)
        window = MainWindow(services)
        qtbot.addWidget(window)
        window.resize(1440, 920)
        if show:
            window.show()
        window.finish_startup()
        qtbot.waitUntil(lambda: window.search_panel.plots is not None and services.library_ready(), timeout=10_000)
        made.append(window)
        return window

    yield make
    for window in made:
        window.services.search.close(3.0)


def corpus_sample(target: Path, n: int = 800) -> Path:
    """The first `n` papers with abstracts of the shared corpus, written to `target` (JSON lines) for a small
    real index; skips (fails under CI) without the shared data."""
    kept = 0
    with gzip.open(shared_data("corpus/papers.jsonl.gz"), "rt", encoding="utf-8") as fh, \
            target.open("w", encoding="utf-8") as out:
        for line in fh:
            if json.loads(line).get("abstract"):
                out.write(line)
                kept += 1
                if kept == n:
                    break
    return target


def screenshot(widget, name: str) -> Path:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()  # pending layout requests first: grab what a user would see
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path
