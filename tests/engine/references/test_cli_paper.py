"""`pasa paper` and `pasa cache` end to end: real files, a real index, no network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.sources.cache import DiskCache
from engine.sources.local_index import build_index
from pasa_desktop.cli.main import main
from tests.engine.fulltext.test_unarxive import RECORD
from tests.engine.references.test_resolver import ROWS


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = Path(os.environ["PASA_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    build_index(corpus, data / "index.sqlite")
    return data


def test_paper_sections_and_references_offline(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fulltext = tmp_path / "unarxive.jsonl"
    fulltext.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    code = main(["paper", "arXiv:2212.00001v1", "--offline", "--fulltext", str(fulltext), "--sections"])
    out = capsys.readouterr().out
    assert code == 0
    assert "A Synthetic Paper  [arxiv:2212.00001, from unarxive]" in out
    assert "3 Results 3.1 Relative  (1 cites)" in out
    assert "→ Attention is All you Need  [1706.03762]  entry-link" in out
    assert "→ BERT: Pre-training" in out and "unresolved (parsed title: —)" in out

    assert main(["paper", "2212.00001", "--offline", "--fulltext", str(fulltext), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in payload["references"]] == ["entry-link", "arxiv-id", "none"]


def test_paper_bad_input_is_a_clear_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paper", "not-an-id", "--offline"]) == 2
    assert "not an arXiv identifier" in capsys.readouterr().err
    assert main(["paper", "2212.00001", "--offline"]) == 2  # no full-text source at all
    assert "no full-text source" in capsys.readouterr().err
    assert main(["paper", "2212.00001", "--offline", "--fulltext", "/nonexistent/x.jsonl"]) == 2


def test_cache_info_and_clear(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = DiskCache(data_dir / "cache")
    cache.put("arxiv", "k1", b"x")
    cache.put("fulltext", "k2", b"y")
    cache.close()
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "2 entries" in out and "fulltext: 1" in out
    assert main(["cache", "clear"]) == 0
    assert "Removed 2 cached entries" in capsys.readouterr().out
    assert DiskCache(data_dir / "cache").stats() == {}
