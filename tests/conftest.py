"""Shared test fixtures: the real data beside the clone, and small real indexes built from it.

Tests that need ../shared/data skip with the reason where it is absent (a user's clone), but under
CI=true a missing file is a failure, never a skip.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PASA_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(relative: str) -> Path:
    """Path to a file under ../shared/data; skip (or fail under CI) when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        reason = f"shared data file missing: {path}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real user data/config directories or reaches a model hub."""
    home = tmp_path_factory.mktemp("pasa-home")
    monkeypatch.setenv("PASA_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("PASA_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def _iter_corpus(path: Path) -> Iterator[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


@pytest.fixture(scope="session")
def dev_queries() -> list[dict[str, object]]:
    path = shared_data("queries/dev.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def corpus_slice(tmp_path_factory: pytest.TempPathFactory, dev_queries: list[dict[str, object]]) -> Path:
    """A small slice of the real corpus as JSON lines: the gold papers of 10 dev queries plus 3,000 others."""
    from engine.papers import normalise_title

    corpus = shared_data("corpus/papers.jsonl.gz")
    gold = {normalise_title(str(t)) for q in dev_queries[:10] for t in q["answer"]}  # type: ignore[attr-defined]
    out = tmp_path_factory.mktemp("corpus") / "slice.jsonl"
    kept = others = 0
    with out.open("w", encoding="utf-8") as fh:
        for row in _iter_corpus(corpus):
            is_gold = normalise_title(str(row.get("title", ""))) in gold
            if is_gold or (others < 3000 and row.get("abstract")):
                fh.write(json.dumps(row) + "\n")
                kept += 1
                others += 0 if is_gold else 1
            if others >= 3000 and kept >= 3000 + len(gold):
                break
    return out


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory, corpus_slice: Path) -> Path:
    """A real offline index (SQLite FTS5) built from `corpus_slice`."""
    from engine.sources.local_index import build_index

    target = tmp_path_factory.mktemp("index") / "index.sqlite"
    build_index(corpus_slice, target)
    return target


@pytest.fixture(scope="session")
def unarxive_fixture() -> Path:
    return shared_data("fixtures/unarXive_data_sample.tar.gz")
