"""The SQLite engine behind a library: pragmas, explicit transactions, and error translation.

The engine runs the driver in autocommit mode and every write is an explicit `BEGIN IMMEDIATE`:
the write lock is taken up front, so two processes never deadlock upgrading a read lock, and a
writer that cannot get the lock within the busy timeout gets `LibraryLocked` instead of a hang.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from pasa_desktop.library.errors import LibraryError, LibraryLocked


def make_engine(path: Path, *, busy_timeout_s: float, durable: bool = True) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        # WAL: readers never block the writer (the UI reads while a search writes).
        cur.execute("PRAGMA journal_mode = WAL")
        # FULL fsyncs the WAL on every commit, so a search's events survive power loss too.
        cur.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        cur.close()

    return engine


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def translate(exc: DBAPIError | sqlite3.Error, path: Path) -> LibraryError:
    """Turn a driver error into the library's error tree with a message a user can act on."""
    original = getattr(exc, "orig", exc)
    if _is_locked(original):
        return LibraryLocked(
            f"The library {path} is busy: another PaSa Desktop process is writing to it",
            hint="wait for it to finish or close the other window",
        )
    text = str(original).lower()
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return LibraryError(f"{path} is not a PaSa Desktop library (or it is damaged): {original}")
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return LibraryError(f"Cannot write the library {path}: {original}", hint="check the folder's permissions")
    return LibraryError(f"Library error in {path}: {original}")


@contextmanager
def write_transaction(engine: Engine, path: Path) -> Iterator[Connection]:
    """One atomic unit of work: everything inside commits together or not at all."""
    with engine.connect() as conn:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except DBAPIError as exc:
            raise translate(exc, path) from exc
        try:
            yield conn
        except DBAPIError as exc:
            conn.exec_driver_sql("ROLLBACK")
            raise translate(exc, path) from exc
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        try:
            conn.exec_driver_sql("COMMIT")
        except DBAPIError as exc:
            conn.exec_driver_sql("ROLLBACK")
            raise translate(exc, path) from exc


@contextmanager
def read_transaction(engine: Engine, path: Path) -> Iterator[Connection]:
    """A consistent snapshot for multi-statement reads (WAL readers never wait for writers)."""
    with engine.connect() as conn:
        try:
            conn.exec_driver_sql("BEGIN")
            yield conn
        except DBAPIError as exc:
            conn.exec_driver_sql("ROLLBACK")
            raise translate(exc, path) from exc
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")
