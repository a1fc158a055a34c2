"""Building from arXiv's metadata snapshot: streamed, limited by category, resumable after an interruption."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.sources import snapshot
from engine.sources.local_index import LocalIndex, arxiv_id_year, build_index
from tests.engine.index.arxiv_rows import snapshot_row, write_snapshot


def _ids(index: Path) -> list[str]:
    con = sqlite3.connect(index)
    try:
        return [str(r[0]) for r in con.execute("SELECT id FROM papers ORDER BY id")]
    finally:
        con.close()


def test_category_patterns_are_shell_style_and_checked() -> None:
    keep = snapshot.CategoryFilter(snapshot.parse_categories("cs.*, stat.ML"))
    assert keep.matches("math.NT cs.LG") and keep.matches("stat.ML") and not keep.matches("stat.ME")
    assert not keep.matches(None)  # the project's corpus has no categories: a filter does not keep it
    assert snapshot.CategoryFilter().matches(None)
    assert snapshot.parse_categories(["hep-th", "cs.*,hep-th"]) == ("hep-th", "cs.*")
    with pytest.raises(InputError, match="category pattern"):
        snapshot.parse_categories("cs.LG;rm -rf")


def test_year_comes_from_the_first_version_or_the_id_not_the_last_revision() -> None:
    assert arxiv_id_year("2106.15928") == 2021 and arxiv_id_year("hep-th/9901001") == 1999
    assert arxiv_id_year("math.GT/0309136") == 2003 and arxiv_id_year("not-an-id") is None


def test_stream_resumes_at_a_byte_offset_of_a_gzipped_file(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path / "s.json.gz", 20, extra=("{broken",))
    lines = list(snapshot.stream(path))
    assert len(lines) == 21 and lines[-1].row is None  # the corrupt line is reported, not fatal
    rest = list(snapshot.stream(path, start=lines[9].offset))
    assert [line.row for line in rest] == [line.row for line in lines[10:]]


def test_snapshot_build_keeps_only_the_categories_asked_for(tmp_path: Path) -> None:
    source = write_snapshot(tmp_path / "arxiv-metadata-oai-snapshot.json.gz", 40)
    report = build_index(source, tmp_path / "index.sqlite", categories="cs.*,stat.ML")
    wanted = {
        f"arxiv:{r['id']}"
        for r in map(snapshot_row, range(40))
        if snapshot.CategoryFilter(("cs.*", "stat.ML")).keeps(r)
    }
    assert report.added == len(wanted) and report.filtered == 40 - len(wanted) > 0
    assert set(_ids(tmp_path / "index.sqlite")) == wanted
    index = LocalIndex(tmp_path / "index.sqlite")
    (paper,) = index.by_ids_sync([snapshot_row(1)["id"]])
    assert paper.year == 2016 and paper.authors == ("Ann Lee", "Bo Chen", "Writer 1")
    assert index.bm25f is not None  # its BM25F postings came with it
    con = sqlite3.connect(tmp_path / "index.sqlite")
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    con.close()
    assert json.loads(meta["categories"]) == ["cs.*", "stat.ML"] and "build_offset" not in meta


def test_an_interrupted_build_resumes_where_it_stopped(tmp_path: Path) -> None:
    source = write_snapshot(tmp_path / "snapshot.json.gz", 60, extra=("not json",))
    target = tmp_path / "index.sqlite"
    calls = 0

    def interrupt(done: int, total: int, added: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # after three committed chunks of ten
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index(source, target, chunk=10, progress=interrupt)
    assert not target.exists() and target.with_name("index.sqlite.building").is_file()
    seen: list[int] = []
    report = build_index(source, target, chunk=10, progress=lambda d, t, added: seen.append(added))
    assert report.resumed_at > 0 and seen[0] == 40  # continued after the 30 papers already indexed
    assert (report.added, report.skipped, report.duplicates) == (60, 1, 0)
    whole = build_index(source, tmp_path / "whole.sqlite", chunk=10)
    assert _ids(target) == _ids(tmp_path / "whole.sqlite") and whole.resumed_at == 0
    assert not target.with_name("index.sqlite.building").exists()


def test_a_different_file_or_filter_starts_over(tmp_path: Path) -> None:
    source = write_snapshot(tmp_path / "snapshot.jsonl", 30)
    target = tmp_path / "index.sqlite"

    def stop(done: int, total: int, added: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index(source, target, chunk=10, progress=stop)
    report = build_index(source, target, chunk=10, categories="cs.*")  # another filter: not a resume
    assert report.resumed_at == 0 and report.added == len(_ids(target)) < 30


def test_an_unusable_corpus_never_replaces_a_working_index(tmp_path: Path) -> None:
    target = tmp_path / "index.sqlite"
    build_index(write_snapshot(tmp_path / "good.jsonl", 12), target)
    fake = tmp_path / "fake.json.gz"
    fake.write_bytes(b"this is not gzip")
    with pytest.raises(InputError, match="not gzip-compressed"):
        build_index(fake, target)
    with pytest.raises(InputError, match=r"no usable papers .*30 outside q-fin\.\*"):
        build_index(write_snapshot(tmp_path / "cs.jsonl", 30), target, categories="q-fin.*")
    assert len(_ids(target)) == 12 and not target.with_name("index.sqlite.building").exists()
