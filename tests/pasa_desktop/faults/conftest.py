"""Fault-suite fixtures: a small user library at the configured path (PASA_DATA_DIR is a tmp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound, SearchFinished, SearchStatus
from pasa_desktop.library import open_library
from pasa_desktop.settings import load_settings
from tests.pasa_desktop.library.conftest import make_paper

# The title an imported file could carry: a window-title change, a screen clear and a bidi override.
HOSTILE_TITLE = "Evil \x1b]0;pwned\x07 title \x1b[2J with \u202eoverride"


@pytest.fixture
def user_library() -> Path:
    path = load_settings().library_path()
    lib = open_library(path)
    run = lib.create_run("coded computation \x1b[31mred\x1b[0m against stragglers", {})
    papers = (make_paper(1, title=HOSTILE_TITLE), make_paper(2))
    lib.record(run, PapersFound(papers, tuple(FoundBy("query", query="coded computation", rank=i) for i in (1, 2))))
    lib.record(run, PaperScored(papers[0].key, 0.9, True, "reason"))
    lib.record(run, SearchFinished(SearchStatus.DONE, seconds=1.0))
    lib.close()
    return path
