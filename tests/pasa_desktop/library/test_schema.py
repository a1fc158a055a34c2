"""Opening, migrating and refusing files: WAL, foreign keys, schema version, clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pasa_desktop.library import Library, LibraryError, open_library
from pasa_desktop.library.migrations import SCHEMA_VERSION


def test_new_library_has_schema_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "lib.sqlite"
    lib = open_library(path)
    with lib._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA user_version").scalar() == SCHEMA_VERSION
        history = conn.exec_driver_sql("SELECT version FROM schema_history").all()
    assert [h[0] for h in history] == list(range(1, SCHEMA_VERSION + 1))
    lib.close()
    # Reopening is a no-op migration and keeps the data.
    lib = open_library(path)
    assert lib.runs() == []
    lib.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    open_library(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(LibraryError, match="newer PaSa Desktop"):
        open_library(path)


def test_not_a_database_is_a_clear_error_and_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my notes, not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(LibraryError, match="not a PaSa Desktop library"):
        open_library(path)
    assert path.read_bytes() == before


def test_closed_library_refuses_work(library: Library) -> None:
    library.close()
    with pytest.raises(LibraryError, match="closed"):
        library.runs()
    library.close()  # twice is fine


def test_foreign_keys_cascade_run_delete(library: Library) -> None:
    from engine.events import FoundBy, PapersFound
    from tests.pasa_desktop.library.conftest import make_paper

    run = library.create_run("q", {})
    library.record(run, PapersFound((make_paper(1),), (FoundBy("query", query="q"),)))
    library.delete_run(run)
    with library._engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM run_paper").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM run_event").scalar() == 0
    assert library.count_papers() == 1  # papers outlive the search that found them


def test_a_version_1_file_is_migrated_with_its_data(tmp_path: Path) -> None:
    """Build a real schema-1 file with schema 1's own step, fill it, and open it with today's code."""
    from sqlalchemy import create_engine

    from pasa_desktop.library.migrations import MIGRATIONS

    path = tmp_path / "old.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        MIGRATIONS[0](conn)
        conn.exec_driver_sql("INSERT INTO schema_history(version, applied) VALUES (1, '2026-01-01')")
        conn.exec_driver_sql("PRAGMA user_version = 1")
    engine.dispose()
    lib = open_library(path)
    from tests.pasa_desktop.library.conftest import make_paper

    pid = lib.add_paper(make_paper(1)).paper_id
    lib.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [r[0] for r in con.execute("SELECT version FROM schema_history ORDER BY version")] == list(
        range(1, SCHEMA_VERSION + 1)
    )
    assert con.execute("SELECT count(*) FROM zotero_item").fetchone()[0] == 0
    con.close()
    assert (tmp_path / "old.schema-v1.backup.sqlite").is_file()  # the file as it was, before the upgrade
    lib = open_library(path)
    lib.mark_zotero_pushed("web:/users/1", [(pid, "ABCD1234")])
    assert lib.zotero_pushed("web:/users/1", [pid, 99]) == {pid}
    lib.close()
