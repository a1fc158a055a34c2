"""The offline index: built from real corpus rows, searched with BM25, never an FTS syntax error."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from engine.errors import ConfigError, InputError
from engine.sources.local_index import LocalIndex, build_index, fts_match


def test_search_ranks_title_matches_first(small_index: Path, dev_queries: list[dict[str, object]]) -> None:
    index = LocalIndex(small_index)
    assert index.count() > 3000
    # Every gold title of the sliced dev queries is findable by its own title.
    for q in dev_queries[:10]:
        for title in q["answer"]:  # type: ignore[attr-defined]
            hits = index.search_sync(str(title), limit=5)
            assert any(p.title_key == __import__("engine.papers").papers.normalise_title(str(title)) for p, _ in hits)


@pytest.mark.parametrize(
    "text",
    ["NEAR(a b)", '"unbalanced', "((()", "*", "a AND OR NOT b", "title:foo", "^x", "-", "'; DROP TABLE papers;--", ""],
)
def test_hostile_queries_never_raise(small_index: Path, text: str) -> None:
    index = LocalIndex(small_index)
    index.search_sync(text, limit=5)  # no sqlite3.OperationalError
    match = fts_match(text)
    assert "NEAR(" not in match and "*" not in match


def test_match_title_and_ids(small_index: Path, corpus_slice: Path) -> None:
    rows = [json.loads(line) for line in corpus_slice.read_text().splitlines()[:200]]
    with_arxiv = next(r for r in rows if r.get("arxiv_id"))
    index = LocalIndex(small_index)
    assert index.match_title_sync(with_arxiv["title"].upper() + ".").id == with_arxiv["id"]  # type: ignore[union-attr]
    (found,) = index.by_ids_sync([with_arxiv["arxiv_id"] + "v3"])
    assert found.id == with_arxiv["id"]
    assert index.match_title_sync("A completely unrelated title about cooking pasta al dente") is None


def test_year_cut_off(small_index: Path) -> None:
    index = LocalIndex(small_index)
    hits = index.search_sync("learning", limit=50, before=date(2019, 1, 1))
    assert hits and all(p.year is None or p.year <= 2019 for p, _ in hits)


def test_build_skips_corrupt_lines_and_reads_arxiv_snapshots(tmp_path: Path) -> None:
    corpus = tmp_path / "mixed.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as fh:
        fh.write(
            json.dumps(
                {"id": "p1", "title": "Gradient Coding", "abstract": "stragglers", "authors": ["A B"], "year": 2017}
            )
            + "\n"
        )
        fh.write("{not json\n")
        fh.write("[1, 2]\n")
        fh.write(json.dumps({"id": "p2", "title": ""}) + "\n")
        fh.write(
            json.dumps(
                {
                    "id": "2106.15928",
                    "title": "A Snapshot\n  Paper",
                    "abstract": "  about coded computing ",
                    "authors": "Ann Lee, Bo Chen and Cy Dee",
                    "categories": "cs.LG cs.DC",
                    "update_date": "2021-07-01",
                }
            )
            + "\n"
        )
    report = build_index(corpus, tmp_path / "index.sqlite")
    assert (report.added, report.skipped) == (2, 3)
    index = LocalIndex(tmp_path / "index.sqlite")
    (snap,) = index.by_ids_sync(["2106.15928"])
    assert snap.title == "A Snapshot Paper"
    assert snap.authors == ("Ann Lee", "Bo Chen", "Cy Dee")
    assert snap.year == 2021


def test_missing_or_wrong_index_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pasa index build"):
        LocalIndex(tmp_path / "nope.sqlite")
    bogus = tmp_path / "bogus.sqlite"
    sqlite3.connect(bogus).execute("CREATE TABLE x(y)").connection.commit()
    with pytest.raises(ConfigError, match="rebuild"):
        LocalIndex(bogus)
    with pytest.raises(InputError):
        build_index(tmp_path / "missing.jsonl", tmp_path / "i.sqlite")
