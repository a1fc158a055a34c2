"""A small arXiv-format index built once per module and copied for each test; the loopback HTTP fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.sources.bm25f import postings_dir
from engine.sources.local_index import build_index
from tests.engine.index.arxiv_rows import write_snapshot
from tests.engine.sources.fake_server import client, notices, server, sleeps

__all__ = ["client", "notices", "server", "sleeps"]

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def built_snapshot_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of 40 papers in arXiv's snapshot format, with its BM25F, acronym and dense rankings."""
    root = tmp_path_factory.mktemp("snapshot-index")
    source = write_snapshot(root / "arxiv-metadata-oai-snapshot.json.gz", 40)
    return build_index(source, root / "index.sqlite").path


@pytest.fixture()
def snapshot_index(built_snapshot_index: Path, tmp_path: Path) -> Path:
    """A private copy of `built_snapshot_index` (the file and its rankings) for a test to change."""
    target = tmp_path / "index" / "index.sqlite"
    target.parent.mkdir()
    shutil.copy(built_snapshot_index, target)
    shutil.copytree(postings_dir(built_snapshot_index), postings_dir(target))
    return target
