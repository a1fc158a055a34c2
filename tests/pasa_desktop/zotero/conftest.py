"""Zotero tests use the export tests' small library and a fake Zotero on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pasa_desktop.export.conftest import library  # noqa: F401 - re-exported fixture
from tests.pasa_desktop.zotero.fake_zotero import FakeZotero


@pytest.fixture
def zotero() -> Iterator[FakeZotero]:
    with FakeZotero() as server:
        yield server
