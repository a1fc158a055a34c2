"""A library with a handful of realistic papers (an arXiv preprint, a conference paper, awkward text)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound
from engine.papers import Paper
from pasa_desktop.library import Library, open_library

PAPERS = (
    Paper(
        id="a",
        title="Attention Is All You Need",
        authors=("Ashish Vaswani", "Noam Shazeer", "Niki Parmar"),
        year=2017,
        arxiv_id="1706.03762v7",
        abstract="The dominant sequence transduction models...",
        source="arxiv",
    ),
    Paper(
        id="b",
        title="Deep Residual Learning for Image Recognition",
        authors=("Kaiming He", "Xiangyu Zhang"),
        year=2016,
        venue="CVPR",
        doi="10.1109/CVPR.2016.90",
        source="s2",
    ),
    Paper(
        id="c",
        title="BERT: Pre-training of Deep Bidirectional Transformers & 100% of $x_1$ {braces}",
        authors=("Jacob Devlin", "Ming-Wei Chang"),
        year=2019,
        venue="Journal of Machine Learning Research",
        arxiv_id="1810.04805",
        source="s2",
    ),
    Paper(
        id="d", title="Über die Möglichkeit: ein Beispiel", authors=("José Müller-Łukasz",), year=2020, source="local"
    ),
)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = open_library(tmp_path / "library.sqlite")
    run = lib.create_run("transformers", {})
    lib.record(run, PapersFound(PAPERS, tuple(FoundBy("query", query="transformers") for _ in PAPERS)))
    lib.record(run, PaperScored(PAPERS[0].key, 0.93, True, "Introduces the Transformer."))
    lib.record(run, PaperScored(PAPERS[2].key, 0.81, True, "Pre-trains Transformers."))
    lib.record(run, PaperScored(PAPERS[1].key, 0.20, False, "Vision, not language."))
    lib.add_tag(1, "nlp")
    lib.add_tag(3, "nlp")
    lib.add_note(1, "Read section 3 first.")
    lib.add_to_collection(lib.ensure_collection_path("Thesis/Background"), [1, 2])
    yield lib
    lib.close()
