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
    from tests.library.conftest import make_paper

    run = library.create_run("q", {})
    library.record(run, PapersFound((make_paper(1),), (FoundBy("query", query="q"),)))
    library.delete_run(run)
    with library._engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM run_paper").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM run_event").scalar() == 0
    assert library.count_papers() == 1  # papers outlive the search that found them
