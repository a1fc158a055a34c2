"""One answer to "is the index ready?": check, build, repair; damaged rankings are rebuilt, not silently
replaced by FTS5's ranking."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ConfigError
from engine.events import Notice
from engine.sources import dense, index_lifecycle
from engine.sources.bm25f import postings_dir
from engine.sources.local_index import LocalIndex
from tests.engine.index.arxiv_rows import write_snapshot


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _drop_terms(path: Path) -> None:
    path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:-3]), encoding="utf-8")


def _garbage(path: Path) -> None:
    path.write_bytes(b"garbage")


def _not_a_table(path: Path) -> None:
    path.write_text('{"GCN": 3}', encoding="utf-8")


DAMAGE: list[tuple[str, Callable[[Path], None]]] = [
    ("docs.npy", _garbage),
    ("tf_title.npy", _truncate),
    ("terms.txt", _drop_terms),
    ("acronyms.json", _not_a_table),
]
if dense.find_model() is not None:
    DAMAGE.append(("dense_i8.npy", _truncate))


def test_missing_index_is_built_from_the_corpus_or_named(tmp_path: Path) -> None:
    target = tmp_path / "index.sqlite"
    assert index_lifecycle.check(target).state == "missing"
    with pytest.raises(ConfigError, match="pasa index build"):
        index_lifecycle.ensure_ready(target, None)
    notices: list[Notice] = []
    corpus = write_snapshot(tmp_path / "snapshot.json.gz", 25)
    health = index_lifecycle.ensure_ready(target, corpus, notify=notices.append)
    assert health.ready and health.papers == 25 and "Building" in notices[0].message
    assert health.dense == (dense.find_model() is not None)
    assert index_lifecycle.ensure_ready(target, corpus, notify=notices.append).ready and len(notices) == 1


@pytest.mark.parametrize(("name", "damage"), DAMAGE, ids=[name for name, _ in DAMAGE])
def test_damaged_rankings_are_rebuilt_with_a_notice(
    snapshot_index: Path, name: str, damage: Callable[[Path], None]
) -> None:
    damage(postings_dir(snapshot_index) / name)
    health = index_lifecycle.check(snapshot_index)
    assert health.state == "postings_damaged" and not health.ready and health.repairable
    # Until repaired, the index still answers (FTS5) and says why.
    fallback = LocalIndex(snapshot_index)
    assert fallback.bm25f is None and fallback.fallback_reason and fallback.search_sync("gradient coding", limit=3)
    notices: list[Notice] = []
    repaired = index_lifecycle.ensure_ready(snapshot_index, None, notify=notices.append)
    assert repaired.ready, repaired.detail
    assert notices[0].level == "warning" and "damaged" in notices[0].message
    index = LocalIndex(snapshot_index)
    assert index.bm25f is not None and index.fallback_reason is None
    assert (index.dense is not None) == (dense.find_model() is not None)


def test_missing_postings_are_written_once(snapshot_index: Path) -> None:
    import shutil

    shutil.rmtree(postings_dir(snapshot_index))
    assert index_lifecycle.check(snapshot_index).state == "postings_missing"
    notices: list[Notice] = []
    assert index_lifecycle.ensure_ready(snapshot_index, notify=notices.append).ready
    assert [n.level for n in notices] == ["info"] and "Preparing" in notices[0].message


def test_fts5_only_while_the_rebuild_cannot_run(snapshot_index: Path) -> None:
    _garbage(postings_dir(snapshot_index) / "docs.npy")
    # Something in the way of the rebuild (here a file where its working folder goes).
    postings_dir(snapshot_index).with_name("index.sqlite.bm25f.building").write_text("in the way")
    notices: list[Notice] = []
    health = index_lifecycle.ensure_ready(snapshot_index, notify=notices.append)
    assert health.state == "postings_damaged" and "FTS5" in health.ranking
    assert [n.level for n in notices] == ["warning", "warning"] and "Could not rebuild" in notices[1].message
    index = LocalIndex(snapshot_index)
    assert index.bm25f is None and "damaged" in str(index.fallback_reason)
    assert index.search_sync("quantum error correction", limit=3)


def test_an_unreadable_index_is_rebuilt_from_the_corpus(tmp_path: Path) -> None:
    target = tmp_path / "index.sqlite"
    target.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    assert index_lifecycle.check(target).state == "broken"
    notices: list[Notice] = []
    corpus = write_snapshot(tmp_path / "snapshot.jsonl", 12)
    assert index_lifecycle.ensure_ready(target, corpus, notify=notices.append).papers == 12
    assert notices[0].level == "warning" and "unreadable" in notices[0].message
    assert target.with_name("index.sqlite.damaged").read_bytes().startswith(b"SQLite format 3")  # kept aside


def test_a_database_of_something_else_is_never_overwritten(tmp_path: Path) -> None:
    import sqlite3

    library = tmp_path / "library.sqlite"  # paths.index pointed at the library by mistake
    con = sqlite3.connect(library)
    con.execute("CREATE TABLE paper(id INTEGER PRIMARY KEY, title TEXT)")
    con.commit()
    con.close()
    before = library.read_bytes()
    assert index_lifecycle.check(library).state == "foreign"
    with pytest.raises(ConfigError, match="not a PaSa index"):
        index_lifecycle.ensure_ready(library, write_snapshot(tmp_path / "snapshot.jsonl", 5))
    assert library.read_bytes() == before


def test_health_reports_state_for_the_cli(snapshot_index: Path) -> None:
    health = index_lifecycle.check(snapshot_index)
    assert health.ready and health.papers == 40 and health.last_update is None and health.categories == ()
    assert "ready, 40 papers" in health.describe()
    meta = json.loads((postings_dir(snapshot_index) / "meta.json").read_text())
    meta["build_id"] = "elsewhere"
    (postings_dir(snapshot_index) / "meta.json").write_text(json.dumps(meta))
    assert index_lifecycle.check(snapshot_index).state == "postings_stale"
    assert np.load(postings_dir(snapshot_index) / "years.npy").shape[0] == 41  # rowids 1..40 (+ row 0)


def test_a_second_writer_waits_for_the_first_and_finds_the_work_done(snapshot_index: Path) -> None:
    import shutil
    import threading
    import time

    from engine.sources.bm25f import build_postings
    from engine.sources.local_index import writer_lock

    shutil.rmtree(postings_dir(snapshot_index))
    health = index_lifecycle.check(snapshot_index)
    results: list[index_lifecycle.IndexHealth] = []
    notices: list[Notice] = []
    with writer_lock(snapshot_index):  # e.g. `pasa index update` writing while a search starts
        second = threading.Thread(target=lambda: results.append(index_lifecycle.repair(health, notify=notices.append)))
        second.start()
        time.sleep(0.3)
        assert second.is_alive() and not results  # waiting, not writing the same files
        build_postings(snapshot_index)
    second.join(60)
    assert results[0].ready and notices == []  # nothing left to repair, so nothing said
