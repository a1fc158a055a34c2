"""Upgrading keeps the library: a file made by the previous schema version is backed up, then migrated,
and every row of every table it had survives.

The previous version's file is filled through today's Library API, then taken back to the previous
schema by undoing the last step (`DOWNGRADE`), exactly: the previous version's code cannot be run
alone any more, since today's writes (run leases) use the newest columns.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound, QueryIssued, SearchFinished, SearchStatus
from pasa_desktop.library import migrations, open_library
from tests.pasa_desktop.library.conftest import make_paper

PREVIOUS = migrations.SCHEMA_VERSION - 1

# The inverse of the newest migration step (migrations._v3: run leases and the deleted/merged papers
# table). A new step needs its own inverse here, so that the upgrade from the version before it is tested.
DOWNGRADE = {
    3: [
        "DROP INDEX ix_paper_gone_arxiv",
        "DROP INDEX ix_paper_gone_doi",
        "DROP INDEX ix_paper_gone_title",
        "DROP TABLE paper_gone",
        "ALTER TABLE run DROP COLUMN owner_pid",
        "ALTER TABLE run DROP COLUMN owner_host",
        "ALTER TABLE run DROP COLUMN heartbeat",
        "DELETE FROM schema_history WHERE version = 3",
    ],
    4: [  # migrations._v4: the library's explicit keep mark and the index that finds imported papers
        "DROP INDEX ix_paper_source_source",
        "ALTER TABLE paper DROP COLUMN kept",
        "DELETE FROM schema_history WHERE version = 4",
    ],
}


def columns_of(path: Path) -> dict[str, list[str]]:
    """The columns of every ordinary table (FTS shadow tables are checked through search instead)."""
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'paper_fts%'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {n: [c[1] for c in con.execute(f'PRAGMA table_info("{n}")')] for n in names}
    finally:
        con.close()


def tables_of(path: Path, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every ordinary table, read through `columns` (default: the file's own)."""
    columns = columns or columns_of(path)
    con = sqlite3.connect(path)
    try:
        out: dict[str, list[tuple[object, ...]]] = {}
        for name, cols in columns.items():
            listed = ", ".join(f'"{c}"' for c in cols)
            out[name] = sorted(con.execute(f'SELECT {listed} FROM "{name}"').fetchall(), key=repr)
        return out
    finally:
        con.close()


def user_version(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("PRAGMA user_version").fetchone()[0])
    finally:
        con.close()


@pytest.fixture
def previous_library(tmp_path: Path) -> Path:
    if PREVIOUS < 1:
        pytest.skip("schema 1 is the first version: nothing to upgrade from")
    assert migrations.SCHEMA_VERSION in DOWNGRADE, "add the inverse of the newest migration step to DOWNGRADE"
    path = tmp_path / "library.sqlite"
    # Filled through today's API, then taken back one schema step.
    lib = open_library(path)
    papers = [make_paper(i) for i in range(1, 6)]
    run = lib.create_run("coded computation against stragglers", {"preset": "quick"})
    lib.record(run, QueryIssued("gradient coding stragglers"))
    lib.record(run, PapersFound(tuple(papers), tuple(FoundBy("query", query="gradient coding") for _ in papers)))
    for i, paper in enumerate(papers):
        lib.record(run, PaperScored(paper.key, 0.2 * i, i >= 3, reason=f"reason {i}"))
    lib.record(run, SearchFinished(SearchStatus.DONE, seconds=1.5))
    ids = [r.paper_id for r in lib.add_papers([make_paper(7), make_paper(8)])]
    lib.add_tag(ids[0], "to-read")
    lib.add_note(ids[0], "Théorème: a note with ünïcode and 'quotes'")
    lib.add_to_collection(lib.ensure_collection_path("Thesis/Chapter 2"), ids)
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% tiny\n")
    lib.attach(ids[1], pdf)
    lib.set_rating(ids[1], 4)
    lib.close()
    for name in path.parent.glob("library-backups"):  # today's daily backup is not the old version's
        for item in name.iterdir():
            item.unlink()
        name.rmdir()
    con = sqlite3.connect(path)
    try:
        for sql in DOWNGRADE[migrations.SCHEMA_VERSION]:
            con.execute(sql)
        con.execute(f"PRAGMA user_version = {PREVIOUS}")
        con.commit()
    finally:
        con.close()
    assert user_version(path) == PREVIOUS
    return path


def test_upgrade_backs_up_then_keeps_every_row(previous_library: Path) -> None:
    before = tables_of(previous_library)
    assert sum(len(rows) for rows in before.values()) > 20
    lib = open_library(previous_library)  # today's code: migrates forward on first open
    try:
        assert lib.count_papers() == 7
        assert [r.title for r in lib.search("Théorème")]  # notes still reach full-text search
        assert len(lib.run_events(lib.runs()[0].id)) >= 8
    finally:
        lib.close()
    assert user_version(previous_library) == migrations.SCHEMA_VERSION
    after = tables_of(previous_library, columns_of(previous_library.with_name(
        f"library.schema-v{PREVIOUS}.backup.sqlite")))
    for table, rows in before.items():
        if table == "schema_history":  # gains one row per applied step
            assert after[table][: len(rows)] == rows and len(after[table]) == migrations.SCHEMA_VERSION
            continue
        assert after[table] == rows, f"{table} changed in the upgrade"
    backup = previous_library.with_name(f"library.schema-v{PREVIOUS}.backup.sqlite")
    assert backup.is_file()
    assert user_version(backup) == PREVIOUS
    assert tables_of(backup) == before


def test_the_backup_is_made_once_per_upgrade(previous_library: Path) -> None:
    open_library(previous_library).close()
    open_library(previous_library).close()  # already current: no second copy
    copies = sorted(p.name for p in previous_library.parent.glob("library.schema-v*"))
    assert copies == [f"library.schema-v{PREVIOUS}.backup.sqlite"]


def test_an_earlier_backup_is_never_overwritten(previous_library: Path) -> None:
    older = previous_library.with_name(f"library.schema-v{PREVIOUS}.backup.sqlite")
    older.write_bytes(b"an earlier copy the user may still want")
    open_library(previous_library).close()
    assert older.read_bytes() == b"an earlier copy the user may still want"
    stamped = [p for p in previous_library.parent.glob(f"library.schema-v{PREVIOUS}.*.backup.sqlite")]
    assert len(stamped) == 1 and user_version(stamped[0]) == PREVIOUS


def test_a_new_library_needs_no_backup(tmp_path: Path) -> None:
    open_library(tmp_path / "fresh.sqlite").close()
    assert [p.name for p in tmp_path.iterdir() if "backup" in p.name] == []
