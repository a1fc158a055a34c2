"""Fault-suite fixtures: a small user library at the configured path (PASA_DATA_DIR is a tmp dir)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
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


# Root ignores file modes (CAP_DAC_OVERRIDE) and may change them (CAP_FOWNER), so as root (CI) a command
# run under `read_only` goes without those powers: the kernel then checks the modes for it as for any user.
WITHOUT_ROOT_POWERS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown", "--inh-caps=-all"]
NOBODY = 65534


@contextmanager
def read_only(*folders: Path) -> Iterator[list[str]]:
    """Folders 0555 and files 0444 (as root, also someone else's, so that not even chmod helps) for the
    block; yields the prefix a command needs to meet them as a user would (`setpriv …` as root, else none)."""
    root = os.geteuid() == 0
    for folder in folders:
        for path in [*folder.rglob("*"), folder]:
            if root:
                os.chown(path, NOBODY, NOBODY)
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
    try:
        yield WITHOUT_ROOT_POWERS if root else []
    finally:
        for folder in folders:
            for path in [folder, *folder.rglob("*")]:
                if root:
                    os.chown(path, 0, 0)
                os.chmod(path, 0o700 if path.is_dir() else 0o600)


def library_dump(path: Path) -> str:
    """Every row of a library file as SQL text (to look for secrets in all of it)."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()
