"""What keeps retrieval fast at millions of papers (issue #18): the exact top-k selection shared by the
rankings (engine/sources/topk.py) and the dense ranking's prefilter (engine/sources/dense.py), which a
large index gets at build time or from `pasa index repair`, and without which it still ranks exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.events import Notice
from engine.sources import dense, index_lifecycle
from engine.sources.bm25f import postings_dir
from engine.sources.local_index import LocalIndex, build_index
from engine.sources.topk import best_rows
from tests.engine.index.test_quantised import _corpus, needs_model


def _reference(scores: np.ndarray, limit: int, floor: float = 0.0) -> list[int]:
    rows = [i for i in range(len(scores)) if scores[i] > floor]
    return sorted(rows, key=lambda i: (-scores[i], (i * 0x9E3779B1) & 0xFFFFFFFF))[:limit]


def test_equal_scores_do_not_favour_the_first_rows() -> None:
    # Rows are numbered in the order papers were added: a benchmark's real papers come before its
    # distractors, a snapshot's old papers before new ones. Ties must not prefer either.
    scores = np.ones(100_000, dtype=np.float32)
    first = best_rows(scores, 1000)
    assert len(set(first.tolist())) == 1000
    assert 0.3 < float(np.mean(first < 50_000)) < 0.7
    assert best_rows(scores, 1000).tolist() == first.tolist()  # and the same every time


@pytest.mark.parametrize("size", [0, 1, 50, 70_000, 300_000])
@pytest.mark.parametrize("limit", [1, 5, 300, 100_000])
def test_best_rows_is_exact_with_ties_and_floors(size: int, limit: int) -> None:
    rng = np.random.default_rng(size + limit)
    # Few distinct values, many zeros and negatives: ties at the cut and rows below the floor.
    scores = rng.integers(-3, 40, size).astype(np.float32) / 4
    scores[rng.random(size) < 0.5] = 0.0
    got = best_rows(scores, limit).tolist()
    assert got == _reference(scores, limit)
    assert best_rows(scores, limit, floor=-np.inf).tolist() == _reference(scores, limit, -np.inf)


def test_best_rows_falls_back_when_the_sample_misses_the_best_rows() -> None:
    # The best rows sit between the sample's strides, so the sampled threshold admits too few of them.
    scores = np.zeros(200_000, dtype=np.float32)
    scores[1::64] = 1.0
    scores[::64] = 0.5
    assert best_rows(scores, 10).tolist() == _reference(scores, 10)
    assert best_rows(scores, 5000).tolist() == _reference(scores, 5000)


def _clustered_codes(directory: Path, rows: int = 20_000, dim: int = 64) -> np.ndarray:
    """int8 codes and scales of unit vectors around a shared direction, as the index writes them."""
    rng = np.random.default_rng(18)
    centres = rng.standard_normal((40, dim)).astype(np.float32)
    raw = centres[rng.integers(0, 40, rows)] + 0.5 * rng.standard_normal((rows, dim)).astype(np.float32)
    raw += 3 * rng.standard_normal(dim).astype(np.float32)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    unit[7] = 0.0  # a row without text
    mean = unit[np.abs(unit).max(axis=1) > 0].mean(axis=0)
    codes, scale = dense.quantise(unit, mean)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / dense.I8_FILE, codes)
    np.save(directory / dense.SCALE_FILE, scale)
    np.save(directory / dense.MEAN_FILE, mean)
    return unit


def test_the_prefilter_keeps_the_exact_best_rows_among_its_candidates(tmp_path: Path) -> None:
    unit = _clustered_codes(tmp_path, dim=64)
    dense.write_prefilter(tmp_path, dims=24)
    pre = dense._Prefilter(tmp_path, len(unit), unit.shape[1])
    assert pre.codes.dtype == np.int8 and pre.codes.shape == (len(unit), 24)
    rng = np.random.default_rng(3)
    kept = []
    for _ in range(20):
        query = unit[rng.integers(0, len(unit))] + 0.3 * rng.standard_normal(unit.shape[1]).astype(np.float32)
        query /= np.linalg.norm(query)
        exact = set(best_rows(unit @ query, 100, floor=-np.inf).tolist())
        candidates = set(best_rows(pre.approximate(query), 2000, floor=-np.inf).tolist())
        kept.append(len(exact & candidates) / 100)
    # A tenth of the rows as candidates holds (nearly) all of the exact best 100.
    assert np.mean(kept) > 0.97


def test_a_prefilter_that_does_not_fit_its_codes_is_refused(tmp_path: Path) -> None:
    unit = _clustered_codes(tmp_path)
    dense.write_prefilter(tmp_path, dims=16)
    np.save(tmp_path / dense.PRE_FILE, np.zeros((len(unit) - 1, 16), dtype=np.int8))
    with pytest.raises(ValueError, match="prefilter does not match"):
        dense._Prefilter(tmp_path, len(unit), unit.shape[1])


@needs_model
def test_a_large_index_ranks_through_its_prefilter_and_repairs_a_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "Large" made small: the 41-paper corpus gets the prefilter a 2.5M-paper index gets.
    monkeypatch.setattr(dense, "PREFILTER_MIN_ROWS", 10)
    monkeypatch.setattr(dense, "PRE_CANDIDATES_MIN", 1000)  # every row a candidate: the exact ranking
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    directory = postings_dir(built)
    assert all((directory / name).is_file() for name in dense.PRE_FILES)
    assert index_lifecycle.check(built).state == "ready"
    exact = dense.DenseRanker(directory, prefilter_min_rows=10**9)
    filtered = dense.DenseRanker(directory)
    assert filtered.prefiltered and not exact.prefiltered
    question = "graph neural networks for protein folding"
    assert filtered.top(question, 10) == exact.top(question, 10)
    late = np.zeros(exact.n_rows, dtype=np.bool_)
    late[exact.top(question, 3)] = True
    assert filtered.top(question, 10, exclude=late) == exact.top(question, 10, exclude=late)

    # Few candidates: what comes back is scored exactly, in the exact ranking's order.
    monkeypatch.setattr(dense, "PRE_CANDIDATES_MIN", 8)
    few = dense.DenseRanker(directory)
    scores = exact.scores(question)
    got = few.top(question, 5)
    assert len(got) == 5 and [float(scores[r]) for r in got] == sorted((float(scores[r]) for r in got), reverse=True)

    # An index built before the prefilter (or with a damaged one) ranks exactly; repair writes it.
    for name in dense.PRE_FILES:
        (directory / name).unlink()
    health = index_lifecycle.check(built)
    assert health.state == "dense_unfiltered" and health.repairable and "prefilter" in health.detail
    monkeypatch.setattr(dense, "PRE_CANDIDATES_MIN", 1000)
    index = LocalIndex(built)
    assert index.dense is not None and not index.dense.prefiltered
    before = [p.id for p, _ in index.search_sync(question, limit=10)]
    notices: list[Notice] = []
    after = index_lifecycle.repair(health, notify=notices.append)
    assert after.state == "ready" and any("prefilter" in n.message for n in notices)
    again = LocalIndex(built)
    assert again.dense is not None and again.dense.prefiltered
    assert [p.id for p, _ in again.search_sync(question, limit=10)] == before


@needs_model
def test_a_small_index_gets_no_prefilter(tmp_path: Path) -> None:
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    directory = postings_dir(built)
    assert not any((directory / name).exists() for name in dense.PRE_FILES)
    assert index_lifecycle.check(built).state == "ready"
    assert not dense.DenseRanker(directory).prefiltered
    # A copy with a prefilter below the size that uses one still ranks exactly.
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    dense.write_prefilter(copy)
    assert not dense.DenseRanker(copy).prefiltered
    assert json.loads((directory / "meta.json").read_text())["dense"] is True
