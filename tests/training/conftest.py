"""Fixtures for the training tests: a tiny Qwen2 built in the test, a small real index, query files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# A handful of real-format corpus rows: two topics, so BM25 retrieves gold and non-gold papers.
CORPUS = [
    ("p1", "Graph neural networks for molecule property prediction", "We predict molecular properties with graph neural networks."),
    ("p2", "A survey of molecular property prediction", "A survey of methods for molecule property prediction with deep learning."),
    ("p3", "Speech translation with transformers", "We translate speech audio to text with transformers."),
    ("p4", "Graph attention networks", "Attention on graphs for node classification and molecule graphs."),
    ("p5", "Message passing for quantum chemistry", "Neural message passing predicts molecule properties from graphs."),
    ("p6", "Robust speech recognition", "Speech recognition robust to noise with large transformers."),
    ("p7", "Contrastive learning of molecular graphs", "Self-supervised contrastive learning on molecular graph data."),
    ("p8", "End-to-end speech translation survey", "A survey of end-to-end speech translation models."),
]
QUERIES = [
    {"qid": "q1", "question": "graph neural networks that predict molecule properties",
     "answer": ["A survey of molecular property prediction", "Message passing for quantum chemistry"],
     "answer_arxiv_id": ["", ""], "source_meta": {"published_time": ""}},
    {"qid": "q2", "question": "speech translation models built on transformers",
     "answer": ["End-to-end speech translation survey"], "answer_arxiv_id": [""]},
    {"qid": "q3", "question": "contrastive self-supervised learning for molecular graphs",
     "answer": ["Contrastive learning of molecular graphs"], "answer_arxiv_id": [""]},
    {"qid": "q4", "question": "noise robust speech recognition", "answer": ["Robust speech recognition"],
     "answer_arxiv_id": [""]},
]


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pasa_testing.tiny import build_tiny_qwen2

    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.sources.local_index import build_index

    root = tmp_path_factory.mktemp("index")
    corpus = root / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": i, "title": t, "abstract": a, "year": 2020}) + "\n" for i, t, a in CORPUS)
    )
    build_index(corpus, root / "index.sqlite")
    return root / "index.sqlite"


@pytest.fixture
def queries_file(tmp_path: Path) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUERIES) + "{not json\n")
    return path
