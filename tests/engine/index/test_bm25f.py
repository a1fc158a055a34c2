"""BM25F over the index's own postings: built with the index, stemmed as FTS5 stems, robust to stale files."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np

from engine.sources.bm25f import Bm25fRanker, postings_current, postings_dir
from engine.sources.local_index import LocalIndex, build_index, ensure_postings


def _corpus(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


FILLER = " ".join(f"word{i}" for i in range(120))


def test_a_title_scores_the_same_with_or_without_an_abstract(tmp_path: Path) -> None:
    # FTS5's bm25() normalises by the whole row's length: a row with no abstract is ~17x shorter than
    # average, so its title alone outranks the same title above an abstract. BM25F judges titles
    # against titles.
    title = "Stragglers in Distributed Systems"
    rows = [
        {"id": "title-only", "title": title, "abstract": ""},
        {"id": "with-abstract", "title": title, "abstract": FILLER},
        {"id": "answer", "title": "Gradient Coding", "abstract": "Coded computation tolerates stragglers. " + FILLER},
    ]
    rows += [{"id": f"other{i}", "title": f"Unrelated topic {i}", "abstract": FILLER} for i in range(30)]
    index = LocalIndex(build_index(_corpus(tmp_path, rows), tmp_path / "index.sqlite").path)
    assert index.bm25f is not None
    index.bm25f = index.bm25f.with_params(index.bm25f.params, feedback=None)  # one pass: field scores only
    index.dense = None  # and no fusion with the dense ranking (tests/engine/index/test_dense.py)
    scores = dict((p.id, s) for p, s in index.search_sync("stragglers in distributed systems", limit=5))
    assert scores["title-only"] == scores["with-abstract"] > scores["answer"]
    fts = dict((p.id, s) for p, s in index.search_sync(title, limit=5, title_weight=10.0))
    assert fts["title-only"] > fts["with-abstract"]


def test_postings_match_fts5_stems_and_counts(small_index: Path) -> None:
    ranker = Bm25fRanker(postings_dir(small_index))
    assert ranker.stems(["Networks", "learning", "networks", "graph-based"]) == ["network", "learn", "graph", "base"]
    # Every paper whose FTS5 row holds the word has a posting for it, and no other paper does.
    con = sqlite3.connect(small_index)
    expected = {r[0] for r in con.execute("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'transformers'")}
    assert len(expected) > 10
    scores = ranker.scores(["transformers"])
    assert set(np.flatnonzero(scores > 0).tolist()) == expected
    assert ranker.n_rows == con.execute("SELECT max(rowid) + 1 FROM papers").fetchone()[0]


def test_stale_or_missing_postings_fall_back_to_fts5_until_ensured(tmp_path: Path, small_index: Path) -> None:
    copy = tmp_path / "index.sqlite"
    shutil.copy(small_index, copy)
    assert not postings_current(copy)  # none beside the copy
    index = LocalIndex(copy)
    assert index.bm25f is None
    assert index.search_sync("graph neural networks", limit=5)  # FTS5 bm25() still answers
    assert ensure_postings(copy) is True
    assert ensure_postings(copy) is False
    assert LocalIndex(copy).bm25f is not None
    # Postings from another build of the index are stale.
    meta = postings_dir(copy) / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "build_id": "elsewhere"}))
    assert not postings_current(copy)
    assert LocalIndex(copy).bm25f is None
    # So are damaged ones (a file missing or truncated): the search falls back, never crashes.
    ensure_postings(copy)
    (postings_dir(copy) / "docs.npy").unlink()
    assert not postings_current(copy) and LocalIndex(copy).bm25f is None
    ensure_postings(copy)
    (postings_dir(copy) / "docs.npy").write_bytes(b"garbage")
    index = LocalIndex(copy)
    assert index.bm25f is None and index.search_sync("graph neural networks", limit=5)


def test_phrases_use_fts5_and_words_use_bm25f(small_index: Path) -> None:
    index = LocalIndex(small_index)
    phrase = index.search_sync('"neural network" pruning', limit=20)
    assert phrase
    assert all("neural network" in (p.title + " " + p.abstract).lower() for p, _ in phrase[:3])
    words = index.search_sync("neural network pruning", limit=20)
    assert words and [p.id for p, _ in words] != [p.id for p, _ in phrase]


def test_feedback_finds_a_paper_that_shares_no_word_with_the_question(tmp_path: Path) -> None:
    rows = [
        {
            "id": "hit",
            "title": "Gradient coding for stragglers",
            "abstract": "Erasure redundancy tolerates slow workers.",
        },
        {"id": "cousin", "title": "Erasure redundancy tolerates slow workers", "abstract": "Polynomial. " + FILLER},
        {"id": "late", "title": "Erasure redundancy tolerates slow workers again", "abstract": "", "year": 2030},
    ]
    rows += [{"id": f"other{i}", "title": f"Unrelated topic {i}", "abstract": FILLER} for i in range(30)]
    index = LocalIndex(build_index(_corpus(tmp_path, rows), tmp_path / "index.sqlite").path)
    assert index.bm25f is not None and index.bm25f.feedback is not None
    index.dense = None  # BM25F and its feedback alone (the dense ranking is tests/engine/index/test_dense.py's)
    found = [p.id for p, _ in index.search_sync("gradient coding stragglers", limit=5, before=date(2025, 1, 1))]
    assert found[:2] == ["hit", "cousin"] and "late" not in found
    index.bm25f = index.bm25f.with_params(index.bm25f.params, feedback=None)
    assert [p.id for p, _ in index.search_sync("gradient coding stragglers", limit=5)] == ["hit"]
