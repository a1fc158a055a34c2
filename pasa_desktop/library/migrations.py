"""Schema versions. `PRAGMA user_version` holds the version; each step runs in the opening transaction.

Add a migration by appending a function to `MIGRATIONS`: step N takes a version-N file to N+1.
Never edit a released step; a file written by a newer version is refused (it may hold data we'd lose).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Table
from sqlmodel import SQLModel

from pasa_desktop.library import tables
from pasa_desktop.library.errors import LibraryError

_TABLES = (
    tables.PaperTable,
    tables.PaperSourceTable,
    tables.RunTable,
    tables.RunEventTable,
    tables.RunPaperTable,
    tables.RunQueryTable,
    tables.TagTable,
    tables.PaperTagTable,
    tables.NoteTable,
    tables.CollectionTable,
    tables.CollectionPaperTable,
    tables.AttachmentTable,
)


def _table(model: type[SQLModel]) -> Table:
    table = getattr(model, "__table__", None)
    assert isinstance(table, Table), model
    return table


def _v1(conn: Connection) -> None:
    # Only our tables: SQLModel.metadata is process-global and other modules may add theirs.
    SQLModel.metadata.create_all(conn, tables=[_table(t) for t in _TABLES])
    for sql in (
        # Contentful FTS5 kept in step by the library code (notes and attachments feed it too).
        "CREATE VIRTUAL TABLE paper_fts USING fts5(title, authors, abstract, notes, fulltext,"
        " tokenize='porter unicode61 remove_diacritics 2')",
        # NULL parents would not collide under a plain UNIQUE(parent_id, name).
        "CREATE UNIQUE INDEX ux_collection_parent_name ON collection(coalesce(parent_id, 0), name)",
        "CREATE INDEX ix_paper_added ON paper(added)",
        "CREATE INDEX ix_run_paper_selected ON run_paper(run_id, selected)",
        "CREATE TABLE schema_history (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)",
    ):
        conn.exec_driver_sql(sql)


def _v2(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn, tables=[_table(tables.ZoteroItemTable)])


def _v3(conn: Connection) -> None:
    for sql in (
        # Run ownership (leases.py): who is searching the run now, and when it last said so.
        "ALTER TABLE run ADD COLUMN owner_pid INTEGER",
        "ALTER TABLE run ADD COLUMN owner_host TEXT",
        "ALTER TABLE run ADD COLUMN heartbeat TEXT",
        # Papers the user deleted or merged away (tombstones.py): a running search must not bring them
        # back. target_id NULL = deleted; else merged into that paper.
        "CREATE TABLE paper_gone (id INTEGER PRIMARY KEY, paper_id INTEGER NOT NULL, target_id INTEGER,"
        " arxiv_id TEXT, doi TEXT, title_key TEXT NOT NULL, first_author_key TEXT NOT NULL DEFAULT '',"
        " year INTEGER, gone TEXT NOT NULL)",
        "CREATE INDEX ix_paper_gone_arxiv ON paper_gone(arxiv_id)",
        "CREATE INDEX ix_paper_gone_doi ON paper_gone(doi)",
        "CREATE INDEX ix_paper_gone_title ON paper_gone(title_key)",
    ):
        conn.exec_driver_sql(sql)


def _v4(conn: Connection) -> None:
    for sql in (
        # What the library holds (issue #17; finder.library_set_sql): most of it is derived from what the
        # user did to a paper; `kept` is the one explicit mark (Keep, or a paper added to the library directly).
        "ALTER TABLE paper ADD COLUMN kept INTEGER NOT NULL DEFAULT 0",
        # Imported papers are found by their records' source ("import:<file>").
        "CREATE INDEX ix_paper_source_source ON paper_source(source)",
        # Before this step a paper no search found could only have been added directly: it stays.
        "UPDATE paper SET kept = 1 WHERE NOT EXISTS (SELECT 1 FROM run_paper rp WHERE rp.paper_id = paper.id)",
    ):
        conn.exec_driver_sql(sql)


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())


def migrate(conn: Connection) -> int:
    """Bring the file to SCHEMA_VERSION inside the caller's write transaction; returns the old version."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise LibraryError(
            f"This library was written by a newer PaSa Desktop (schema {version}, this one knows {SCHEMA_VERSION})",
            hint="upgrade PaSa Desktop or open another library",
        )
    for step in range(version, SCHEMA_VERSION):
        MIGRATIONS[step](conn)
        conn.exec_driver_sql(
            "INSERT INTO schema_history(version, applied) VALUES (?, ?)",
            (step + 1, datetime.now(UTC).isoformat(timespec="seconds")),
        )
        conn.exec_driver_sql(f"PRAGMA user_version = {step + 1}")
    return version


def backup_copy(path: Path, version: int) -> Path:
    """Copy the file, as it is, beside itself before upgrading it: `<name>.schema-v<N>.backup<.ext>`.

    Made through SQLite's backup API from a read-only connection of its own, before the upgrade takes
    the write lock (a backup from inside the write transaction waits for itself forever): one
    consistent snapshot, WAL content included. A failed copy stops the upgrade.
    """
    target = path.with_name(f"{path.stem}.schema-v{version}.backup{path.suffix}")
    if target.exists():  # an earlier copy of this version stays; this one gets a time stamp
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = path.with_name(f"{path.stem}.schema-v{version}.{stamp}.backup{path.suffix}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise LibraryError(
            f"Could not back up {path} before upgrading it: {exc}",
            hint="free some disk space or check the folder's permissions",
        ) from exc
    finally:
        source.close()
    return target
