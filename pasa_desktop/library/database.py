"""The SQLite engine behind a library: pragmas, explicit transactions, and error translation.

The engine runs the driver in autocommit mode and every write is an explicit `BEGIN IMMEDIATE`:
the write lock is taken up front, so two processes never deadlock upgrading a read lock, and a
writer that cannot get the lock within the busy timeout gets `LibraryLocked` instead of a hang.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from pasa_desktop.library.errors import LibraryError, LibraryLocked


def make_engine(path: Path, *, busy_timeout_s: float, durable: bool = False, read_only: str = "") -> Engine:
    """The engine for one library file. `read_only`: "" (read-write), "ro" (SQLite's read-only mode, for
    a file the user cannot write) or "immutable" (a folder the user cannot write: SQLite cannot create
    the WAL's shared-memory file there, so it reads the main file without locks; changes still in a
    -wal file beside it are not seen)."""
    if read_only:
        mode = "mode=ro&immutable=1" if read_only == "immutable" else "mode=ro"
        uri = f"file:{quote(str(path))}?{mode}"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, check_same_thread=False)

        engine = create_engine("sqlite://", creator=connect, isolation_level="AUTOCOMMIT")
    else:
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
        if read_only:  # nothing to set up for writing, and a read-only file cannot change journal mode
            cur.close()
            return
        # WAL: readers never block the writer (the UI reads while a search writes).
        cur.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives the process dying (kill -9); FULL also fsyncs every
        # commit so it survives power loss, at the cost of one disk flush per engine event.
        cur.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        cur.close()

    return engine


def _repair_hint(path: Path) -> str:
    from pasa_desktop.library.backups import describe, latest_backup

    latest = latest_backup(path)
    if latest is None:
        return "`pasa library check` tells what is wrong; no backup of it exists yet"
    return f"`pasa library check` tells what is wrong; `pasa library restore` puts back the backup {describe(latest)}"


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def translate(exc: BaseException, path: Path) -> LibraryError:
    """Turn a driver error into the library's error tree with a message a user can act on."""
    original = getattr(exc, "orig", exc)
    if _is_locked(original):
        return LibraryLocked(
            f"The library {path} is busy: another PaSa Desktop process is writing to it",
            hint="wait for it to finish or close the other window",
        )
    text = str(original).lower()
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return LibraryError(
            f"{path} is not a PaSa Desktop library (or it is damaged): {original}", hint=_repair_hint(path)
        )
    if "foreign key constraint" in text:
        return LibraryError(f"Library {path}: that refers to a search run or paper that does not exist")
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return LibraryError(f"Cannot write the library {path}: {original}", hint="check the folder's permissions")
    return LibraryError(f"Library error in {path}: {original}")


class Rows:
    """The few result accessors the library uses, over a DB-API cursor (no ORM cost on hot paths)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def first(self) -> Any:
        return self._cursor.fetchone()

    def one(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise LibraryError("expected a row, found none")
        return row

    def all(self) -> list[Any]:
        return self._cursor.fetchall()

    def scalar(self) -> Any:
        row = self._cursor.fetchone()
        return None if row is None else row[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def new_id(self) -> int:
        """The rowid an INSERT just created."""
        if self._cursor.lastrowid is None:
            raise LibraryError("the insert created no row")
        return int(self._cursor.lastrowid)


class Db:
    """One pooled SQLite connection inside a transaction. SQL with `?` parameters, rows as tuples.

    sqlmodel defines and creates the schema; statements on the library's hot paths (one engine event,
    one search) go straight to the driver, which is about four times cheaper per statement.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return Rows(self._raw.execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._raw.executemany(sql, rows)


@contextmanager
def _transaction(engine: Engine, path: Path, begin: str) -> Iterator[Db]:
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        try:
            raw.execute(begin)
        except sqlite3.Error as exc:
            raise translate(exc, path) from exc
        try:
            yield Db(raw)
        except sqlite3.Error as exc:
            raw.execute("ROLLBACK")
            raise translate(exc, path) from exc
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        try:
            raw.execute("COMMIT")
        except sqlite3.Error as exc:
            raw.execute("ROLLBACK")
            raise translate(exc, path) from exc


def write_transaction(engine: Engine, path: Path) -> AbstractContextManager[Db]:
    """One atomic unit of work: everything inside commits together or not at all."""
    return _transaction(engine, path, "BEGIN IMMEDIATE")


def read_transaction(engine: Engine, path: Path) -> AbstractContextManager[Db]:
    """A consistent snapshot for multi-statement reads (WAL readers never wait for writers)."""
    return _transaction(engine, path, "BEGIN")


@contextmanager
def schema_transaction(engine: Engine, path: Path) -> Iterator[Connection]:
    """A write transaction on the SQLAlchemy connection, for sqlmodel's `create_all` in migrations."""
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
        conn.exec_driver_sql("COMMIT")
