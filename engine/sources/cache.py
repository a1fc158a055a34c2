"""A disk cache for HTTP responses and parsed full texts, so a repeated or resumed search costs no network.

One SQLite file holds `(namespace, key) -> bytes` with the time it was stored. SQLite (not one file per
entry) because it is atomic, survives a crash mid-write and is cleared in one statement. Reads and
writes are small and quick, so they run inline on the event loop behind a lock.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    stored_at REAL NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (namespace, key)
)
"""


def cache_key(*parts: object) -> str:
    """A stable key from request parts (method, URL, sorted params, body): a SHA-256 hex digest."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DiskCache:
    """`namespace/key -> bytes` in one SQLite file. Corrupt files are moved aside, never silently lost."""

    FILE_NAME = "cache.sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / self.FILE_NAME
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
                conn.execute(_SCHEMA)
            except sqlite3.DatabaseError:
                # A broken cache file is only a cache: keep it aside for inspection and start afresh.
                self.path.replace(self.path.with_suffix(".broken.sqlite"))
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
                conn.execute(_SCHEMA)
            conn.execute("PRAGMA journal_mode=WAL")
            self._conn = conn
        return self._conn

    def get(self, namespace: str, key: str, *, max_age_s: float | None = None) -> bytes | None:
        with self._lock:
            row = (
                self._connect()
                .execute("SELECT stored_at, value FROM entries WHERE namespace=? AND key=?", (namespace, key))
                .fetchone()
            )
        if row is None:
            return None
        stored_at, value = float(row[0]), bytes(row[1])
        if max_age_s is not None and time.time() - stored_at > max_age_s:
            return None
        return value

    def put(self, namespace: str, key: str, value: bytes) -> None:
        with self._lock:
            conn = self._connect()
            conn.execute(
                "INSERT OR REPLACE INTO entries(namespace, key, stored_at, value) VALUES (?, ?, ?, ?)",
                (namespace, key, time.time(), value),
            )
            conn.commit()

    def delete(self, namespace: str, key: str) -> None:
        with self._lock:
            conn = self._connect()
            conn.execute("DELETE FROM entries WHERE namespace=? AND key=?", (namespace, key))
            conn.commit()

    def get_json(self, namespace: str, key: str, *, max_age_s: float | None = None) -> Any:
        raw = self.get(namespace, key, max_age_s=max_age_s)
        if raw is None:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self.delete(namespace, key)
            return None

    def put_json(self, namespace: str, key: str, value: Any) -> None:
        self.put(namespace, key, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def stats(self) -> dict[str, int]:
        """Entries per namespace."""
        with self._lock:
            rows = (
                self._connect()
                .execute("SELECT namespace, COUNT(*) FROM entries GROUP BY namespace")
                .fetchall()
            )
        return {str(ns): int(n) for ns, n in rows}

    def clear(self, namespace: str | None = None) -> int:
        """Delete everything (or one namespace); returns how many entries went."""
        with self._lock:
            conn = self._connect()
            if namespace is None:
                cur = conn.execute("DELETE FROM entries")
            else:
                cur = conn.execute("DELETE FROM entries WHERE namespace=?", (namespace,))
            conn.commit()
            removed = cur.rowcount
            conn.execute("VACUUM")
        return int(removed)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
