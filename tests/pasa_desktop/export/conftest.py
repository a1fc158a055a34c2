"""A library with a handful of realistic papers (an arXiv preprint, a conference paper, awkward text)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound
from engine.papers import Paper
from pasa_desktop.library import Library, open_library


def _paper(key: str, title: str, authors: tuple[str, ...], year: int, source: str, **more: str) -> Paper:
    return Paper(id=key, title=title, authors=authors, year=year, source=source, **more)  # type: ignore[arg-type]


PAPERS = (
    _paper(
        "a", "Attention Is All You Need", ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar"), 2017, "arxiv",
        arxiv_id="1706.03762v7", abstract="The dominant sequence transduction models...",
    ),
    _paper(
        "b", "Deep Residual Learning for Image Recognition", ("Kaiming He", "Xiangyu Zhang"), 2016, "s2",
        venue="CVPR", doi="10.1109/CVPR.2016.90",
    ),
    _paper(
        "c", "BERT: Pre-training of Deep Bidirectional Transformers & 100% of $x_1$ {braces}",
        ("Jacob Devlin", "Ming-Wei Chang"), 2019, "s2", venue="Journal of Machine Learning Research",
        arxiv_id="1810.04805",
    ),
    _paper("d", "Über die Möglichkeit: ein Beispiel", ("José Müller-Łukasz",), 2020, "local"),
)  # fmt: skip


def write_file(folder: Path, name: str, content: str | bytes) -> Path:
    """A file to import, written byte for byte (str as UTF-8)."""
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Library]:
    """A library with nothing in it yet (imports land here)."""
    with open_library(tmp_path / "empty.sqlite") as lib:
        yield lib


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
    lib.keep([4])  # kept by the user, so the whole library is all four (an unkept find is not exported)
    yield lib
    lib.close()
