"""Fixtures for library tests: a real library file in a tmp dir, and small real-shaped papers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.papers import Paper
from pasa_desktop.library import Library, open_library


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = open_library(tmp_path / "library.sqlite")
    yield lib
    lib.close()


def make_paper(i: int, **changes: object) -> Paper:
    base = Paper(
        id=f"test:{i}",
        title=f"Gradient Coding for Straggler Mitigation, Study {i}",
        abstract=f"We study coded computation in distributed training with slow workers (paper {i}).",
        authors=(f"Ada Lovelace{i}", "Alan Turing"),
        year=2015 + i % 10,
        arxiv_id=f"2101.{10000 + i:05d}",
        source="local",
    )
    return base.with_updates(**changes) if changes else base
