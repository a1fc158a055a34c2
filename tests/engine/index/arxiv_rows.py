"""Rows in the format of arXiv's public metadata snapshot (arxiv-metadata-oai-snapshot.json), for tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

_TOPICS = [
    ("Gradient coding", "stragglers in distributed training", "cs.DC cs.LG"),
    ("Graph neural networks (GNNs)", "message passing over molecular graphs", "cs.LG stat.ML"),
    ("Variational inference", "posterior approximation with normalising flows", "stat.ML"),
    ("Contrastive pretraining", "image representations without labels", "cs.CV"),
    ("Retrieval augmented generation", "grounding language models in documents", "cs.CL"),
    ("Lattice gauge theory", "quark confinement on the lattice", "hep-lat"),
    ("Elliptic curves", "rational points and modular forms", "math.NT"),
    ("Dark matter halos", "galaxy rotation curves", "astro-ph.CO"),
    ("Reinforcement learning from human feedback", "reward models for alignment", "cs.LG cs.AI"),
    ("Quantum error correction", "surface codes and logical qubits", "quant-ph"),
]
_APPLICATIONS = ["robotics", "healthcare", "climate", "finance", "education", "genomics", "traffic", "energy"]


def snapshot_row(i: int) -> dict[str, Any]:
    title, abstract, categories = _TOPICS[i % len(_TOPICS)]
    application = _APPLICATIONS[(i // len(_TOPICS)) % len(_APPLICATIONS)]
    year = 2015 + i % 9
    return {
        "id": f"{year % 100:02d}{1 + i % 12:02d}.{10000 + i:05d}",
        "submitter": "Ann Lee",
        "authors": f"Ann Lee, Bo Chen and Writer {i}",
        "title": f"{title} for {application}: study {i}",
        "comments": "12 pages",
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": categories,
        "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
        "abstract": f"  We study {abstract} in {application}. Paper number {i} reports experiments.\n",
        "versions": [{"version": "v1", "created": f"Mon, 2 Apr {year} 19:18:42 GMT"}],
        "update_date": f"{year + 1}-01-15",
        "authors_parsed": [["Lee", "Ann", ""], ["Chen", "Bo", ""], [str(i), "Writer", ""]],
    }


def write_snapshot(path: Path, n: int, *, extra: tuple[str, ...] = ()) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(snapshot_row(i)) + "\n")
        for line in extra:
            fh.write(line + "\n")
    return path
