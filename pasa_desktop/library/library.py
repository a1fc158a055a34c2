"""The library: one SQLite file (plus a files folder beside it) holding every search and every paper.

`open_library(path)` creates or migrates it. Every public method is one transaction; `record` persists
one engine event as it arrives, so a crash loses at most the event being written.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from engine.events import Event, FoundBy, Progress, event_from_dict
from engine.papers import Paper
from pasa_desktop.library import attachments, backups, catalogue, leases, merges, recorder, tombstones
from pasa_desktop.library.database import (
    Db,
    make_engine,
    read_transaction,
    schema_transaction,
    translate,
    write_transaction,
)
from pasa_desktop.library.errors import LibraryError
from pasa_desktop.library.finder import Filters, id_query, library_set_sql
from pasa_desktop.library.migrations import SCHEMA_VERSION, backup_copy, migrate, schema_version
from pasa_desktop.library.organiser import Organiser
from pasa_desktop.library.rows import (
    NewEntry,
    PaperRow,
    RunPaperRow,
    RunQueryRow,
    RunSummary,
    UpsertResult,
)
from pasa_desktop.settings import private_dir

# Counted per library paper: a run that found one paper under two keys (two records that a merge made
# one) lists it once, as `run_papers` does.
_RUN_COLUMNS = (
    "r.id, r.query, r.status, r.started, r.finished, r.seconds, r.message,"
    " (SELECT count(*) FROM run_query q WHERE q.run_id = r.id),"
    " (SELECT count(DISTINCT rp.paper_id) FROM run_paper rp WHERE rp.run_id = r.id),"
    " (SELECT count(DISTINCT rp.paper_id) FROM run_paper rp WHERE rp.run_id = r.id AND rp.score IS NOT NULL),"
    " (SELECT count(DISTINCT rp.paper_id) FROM run_paper rp WHERE rp.run_id = r.id AND rp.selected = 1),"
    " (SELECT count(DISTINCT rp.paper_id) FROM run_paper rp WHERE rp.run_id = r.id"
    " AND rp.sections_expanded IS NOT NULL AND rp.sections_expanded != '[]'),"
    " r.owner_pid, r.owner_host, r.heartbeat"
)


def _summary(row: Sequence[Any]) -> RunSummary:
    owner = leases.Owner(int(row[12]), row[13] or "", row[14] or "") if row[12] is not None else None
    return RunSummary(
        id=int(row[0]),
        query=row[1],
        status=leases.effective_status(row[2], owner),
        started=row[3],
        finished=row[4],
        seconds=float(row[5] or 0.0),
        message=row[6] or "",
        queries=int(row[7]),
        found=int(row[8]),
        scored=int(row[9]),
        selected=int(row[10]),
        expanded=int(row[11]),
    )


class Library(Organiser):
    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0, durable: bool = False, read_only: str = "") -> None:
        self.path = Path(path)
        self.files_dir = self.path.with_name(self.path.stem + "-files")
        # "" = read-write; "ro" / "immutable" when the file or its folder is not writable (see make_engine).
        self.read_only = read_only
        self._engine = make_engine(self.path, busy_timeout_s=busy_timeout_s, durable=durable, read_only=read_only)
        # Progress events are frequent: the latest is kept here and written with the next real event.
        self._progress: dict[int, Progress] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- plumbing ---------------------------------------------------------------------------------
    def _write(self) -> AbstractContextManager[Db]:
        self._check_open()
        return write_transaction(self._engine, self.path)

    def _read(self) -> AbstractContextManager[Db]:
        self._check_open()
        return read_transaction(self._engine, self.path)

    def _check_open(self) -> None:
        if self._closed:
            raise LibraryError(f"The library {self.path} is closed")

    def _migrate(self) -> None:
        # Up-to-date files need no write lock, so opening never waits for another process's search.
        with self._engine.connect() as conn:
            current = schema_version(conn)
        if current == SCHEMA_VERSION:
            return
        if self.read_only and current < SCHEMA_VERSION:
            raise LibraryError(
                f"The library {self.path} needs an upgrade to schema {SCHEMA_VERSION}, but it is read-only here"
                if current
                else f"There is no library at {self.path}, and its folder is read-only",
                hint="open it once where it can be written",
            )
        if 0 < current < SCHEMA_VERSION:
            backup_copy(self.path, current)  # the user's data as it was, before any step touches it
        with schema_transaction(self._engine, self.path) as conn:
            migrate(conn)  # re-checks inside the lock: another process may have migrated meanwhile

    def close(self) -> None:
        if self._closed:
            return
        with self._lock:
            pending = dict(self._progress)
            self._progress.clear()
        if pending:
            with self._write() as conn:
                for run_id, progress in pending.items():
                    recorder.set_progress(conn, run_id, progress)
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------------------------
    def create_run(self, query: str, settings: dict[str, Any]) -> int:
        """A new run, held by this process (leases.py) until its end is recorded or it is released."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO run(query, settings, status, message, started, seconds) VALUES (?, ?, 'running', '', ?, 0)",
                (query, json.dumps(settings, ensure_ascii=False, default=str), catalogue.now()),
            )
            leases.claim(conn, cur.new_id)
            return cur.new_id

    def claim_run(self, run_id: int) -> None:
        """Hold the run for this process (leases.py); RunHeld when another live process holds it."""
        with self._write() as conn:
            leases.claim(conn, run_id)

    def heartbeat_run(self, run_id: int) -> None:
        with self._write() as conn:
            leases.beat(conn, run_id)

    def release_run(self, run_id: int) -> None:
        """Let go of the run (after its end is recorded, or when this process stops searching it)."""
        with self._write() as conn:
            leases.release(conn, run_id)

    def record(self, run_id: int, event: Event) -> None:
        """Persist one event's effect in its own transaction (cheap: a few indexed statements)."""
        if isinstance(event, Progress):
            with self._lock:
                self._progress[run_id] = event
            return
        with self._lock:
            progress = self._progress.pop(run_id, None)
        with self._write() as conn:
            if progress is not None:
                recorder.set_progress(conn, run_id, progress)
            seq = recorder.log_event(conn, run_id, event)
            recorder.apply(conn, run_id, event, seq)

    def run_events(self, run_id: int) -> list[Event]:
        """The run's logged events in order (Progress excluded), for the engine to rebuild its state."""
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute("SELECT id, data FROM run_event WHERE run_id = ? ORDER BY id", (run_id,)).all()
        events: list[Event] = []
        for event_id, data in rows:
            try:
                events.append(event_from_dict(json.loads(data)))
            except (KeyError, TypeError, ValueError) as exc:
                raise LibraryError(f"Run {run_id}: logged event {event_id} cannot be read back ({exc})") from exc
        return events

    def run_settings(self, run_id: int) -> dict[str, Any]:
        with self._read() as conn:
            self._require_run(conn, run_id)
            row = conn.execute("SELECT settings FROM run WHERE id = ?", (run_id,)).one()
        value = json.loads(row[0] or "{}")
        return value if isinstance(value, dict) else {}

    def last_progress(self, run_id: int) -> Progress | None:
        with self._lock:
            if run_id in self._progress:
                return self._progress[run_id]
        with self._read() as conn:
            row = conn.execute("SELECT last_progress FROM run WHERE id = ?", (run_id,)).first()
        if not row or not row[0]:
            return None
        event = event_from_dict(json.loads(row[0]))
        return event if isinstance(event, Progress) else None

    def _require_run(self, conn: Db, run_id: int) -> None:
        if conn.execute("SELECT 1 FROM run WHERE id = ?", (run_id,)).first() is None:
            raise LibraryError(f"No search run {run_id} in the library", hint="pasa history")

    def runs(self, *, limit: int | None = None) -> list[RunSummary]:
        sql = f"SELECT {_RUN_COLUMNS} FROM run r ORDER BY r.id DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        with self._read() as conn:
            return [_summary(r) for r in conn.execute(sql, params).all()]

    def run(self, run_id: int) -> RunSummary:
        with self._read() as conn:
            row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM run r WHERE r.id = ?", (run_id,)).first()
        if row is None:
            raise LibraryError(f"No search run {run_id} in the library", hint="pasa history")
        return _summary(row)

    def run_queries(self, run_id: int) -> list[RunQueryRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT query, origin, hits FROM run_query WHERE run_id = ? ORDER BY id", (run_id,)
            ).all()
        return [RunQueryRow(q, o, h) for q, o, h in rows]

    def run_papers(self, run_id: int, *, selected_only: bool = False) -> list[RunPaperRow]:
        """A run's papers, best first: by rank score, then selector score, then discovery order."""
        sql = (
            f"SELECT {catalogue.PAPER_COLUMNS}, rp.paper_key, rp.score, rp.selected, rp.found_by, rp.reason,"
            " rp.rank_score, rp.sections_chosen, rp.sections_expanded"
            " FROM run_paper rp JOIN paper p ON p.id = rp.paper_id WHERE rp.run_id = ?"
            + (" AND rp.selected = 1" if selected_only else "")
            + " ORDER BY rp.rank_score IS NULL, rp.rank_score DESC, rp.score IS NULL, rp.score DESC, rp.rowid"
        )
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(sql, (run_id,)).all()
        out: list[RunPaperRow] = []
        where: dict[int, int] = {}
        for row in rows:
            paper = catalogue.row_to_paper_row(row[:16])
            key, score, selected, found_by, reason, rank, chosen, expanded = row[16:]
            if paper.id in where:
                # One library paper the run found under two keys (merged records): listed once, at its
                # best rank, selected if either was.
                first = out[where[paper.id]]
                if selected and not first.selected:
                    out[where[paper.id]] = dataclasses.replace(first, selected=True)
                continue
            where[paper.id] = len(out)
            out.append(
                RunPaperRow(
                    paper=paper,
                    key=key,
                    score=score,
                    selected=None if selected is None else bool(selected),
                    found_by=tuple(FoundBy(**f) for f in json.loads(found_by or "[]")),
                    reason=reason or "",
                    rank_score=rank,
                    sections_chosen=tuple(json.loads(chosen or "[]")),
                    sections_expanded=None if expanded is None else tuple(json.loads(expanded)),
                )
            )
        return out

    def set_reason(self, run_id: int, paper_key: str, reason: str) -> None:
        """Store the Selector's reason when it is generated after the score (a second pass)."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE run_paper SET reason = ? WHERE run_id = ? AND paper_key = ?", (reason, run_id, paper_key)
            )
            if not cur.rowcount:
                raise LibraryError(f"Run {run_id} has no paper {paper_key!r}")

    def delete_run(self, run_id: int) -> None:
        """Forget a search (its event log and links); the papers stay in the library."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute("DELETE FROM run WHERE id = ?", (run_id,))

    # -- papers -----------------------------------------------------------------------------------
    def add_paper(self, paper: Paper, *, citekey: str | None = None) -> UpsertResult:
        """Add a paper to the library directly (kept: it is in "All papers", unlike what a search finds)."""
        with self._write() as conn:
            result = catalogue.upsert(conn, paper, citekey=citekey)
            conn.execute("UPDATE paper SET kept = 1 WHERE id = ?", (result.paper_id,))
            return result

    def add_papers(self, papers: Iterable[Paper]) -> list[UpsertResult]:
        """Many papers in one transaction (imports, benchmarks): all or nothing; all kept, as `add_paper`."""
        with self._write() as conn:
            results = [catalogue.upsert(conn, p) for p in papers]
            conn.executemany("UPDATE paper SET kept = 1 WHERE id = ?", [(r.paper_id,) for r in results])
            return results

    def add_entries(self, entries: Sequence[NewEntry]) -> list[UpsertResult]:
        """Papers with their tags and notes, all in one transaction (an import is all or nothing)."""
        results = []
        with self._write() as conn:
            for entry in entries:
                result = catalogue.upsert(conn, entry.paper, citekey=entry.citekey or None, log_merge=True)
                added_tags = []
                for tag in sorted({catalogue.squash(t) for t in entry.tags} - {""}):
                    conn.execute("INSERT OR IGNORE INTO tag(name) VALUES (?)", (tag,))
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO paper_tag(paper_id, tag_id) SELECT ?, id FROM tag WHERE name = ?",
                        (result.paper_id, tag),
                    )
                    if cur.rowcount:
                        added_tags.append(tag)
                known = {r[0] for r in conn.execute("SELECT text FROM note WHERE paper_id = ?", (result.paper_id,))}
                fresh = [n for n in entry.notes if n.strip() and n not in known]
                added_notes = []
                for note in fresh:
                    stamp = catalogue.now()
                    cur = conn.execute(
                        "INSERT INTO note(paper_id, text, created, updated) VALUES (?, ?, ?, ?)",
                        (result.paper_id, note, stamp, stamp),
                    )
                    added_notes.append(int(cur.lastrowid or 0))
                if fresh:
                    catalogue.reindex(conn, result.paper_id)
                if not result.created:  # so that `unmerge` can give them back to the record
                    catalogue.note_merge_additions(conn, result.paper_id, entry.paper, added_tags, added_notes)
                results.append(result)
        return results

    def notes_by_paper(self, paper_ids: Sequence[int]) -> dict[int, list[str]]:
        """Note texts for many papers at once (exports)."""
        out: dict[int, list[str]] = {}
        with self._read() as conn:
            for start in range(0, len(paper_ids), 500):
                chunk = tuple(paper_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for pid, text in conn.execute(
                    f"SELECT paper_id, text FROM note WHERE paper_id IN ({marks}) ORDER BY id", chunk
                ):
                    out.setdefault(int(pid), []).append(text)
        return out

    def paper(self, paper_id: int) -> PaperRow:
        rows = self.papers([paper_id])
        if not rows:
            raise LibraryError(f"No paper {paper_id} in the library", hint="pasa library search")
        return rows[0]

    def papers(self, paper_ids: Sequence[int]) -> list[PaperRow]:
        """Rows for these ids, in the order given (unknown ids are left out)."""
        if not paper_ids:
            return []
        with self._read() as conn:
            return self._rows(conn, paper_ids)

    def paper_sources(self, paper_id: int) -> list[Paper]:
        """Every record this paper was built from (merges keep them all)."""
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM paper_source WHERE paper_id = ? ORDER BY id", (paper_id,)).all()
        return [Paper.from_dict(json.loads(r[0])) for r in rows]

    def count_papers(self) -> int:
        """Every paper in the file, including those only a search found (see `count_library`)."""
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM paper").scalar_one())

    # -- what the library holds (finder.library_set_sql) ----------------------------------------------
    def count_library(self, *, with_selected: bool = True) -> int:
        """How many papers the library holds ("All papers"): kept, imported, or given something by the user."""
        with self._read() as conn:
            return int(conn.execute(f"SELECT count(*) FROM ({library_set_sql(with_selected)})").scalar_one())

    def in_library(self, paper_ids: Sequence[int], *, with_selected: bool = True) -> set[int]:
        """Which of these papers the library holds (the rest are only in the runs that found them)."""
        # The ids travel as one JSON array: no chunking under SQLite's limit on bound parameters.
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT value FROM json_each(?) WHERE value IN ({library_set_sql(with_selected)})",
                (json.dumps([int(i) for i in paper_ids]),),
            )
            return {int(r[0]) for r in rows}

    def keep(self, paper_ids: Sequence[int], kept: bool = True) -> None:
        """Keep papers a search found in the library (or take the mark back: `kept=False`; a paper the user
        tagged, rated, accepted… stays in the library all the same)."""
        with self._write() as conn:
            for pid in paper_ids:
                cur = conn.execute(
                    "UPDATE paper SET kept = ?, updated = ? WHERE id = ?", (int(kept), catalogue.now(), pid)
                )
                if not cur.rowcount:
                    raise LibraryError(f"No paper {pid} in the library", hint="pasa library search --all")

    def merge_papers(self, keep: int, drop: int) -> int:
        """Fold paper `drop` into `keep` (see `merges`); returns the record whose note undoes it (`unmerge`)."""
        if keep == drop:
            raise LibraryError("Cannot merge a paper into itself")
        with self._write() as conn:
            merges.require_papers(conn, keep, drop)
            return merges.merge(conn, keep, drop)

    def delete_papers(self, paper_ids: Sequence[int]) -> int:
        """Remove papers with their notes, tags, run links and attached files; returns how many went."""
        files: list[str] = []
        removed = 0
        with self._write() as conn:
            for pid in paper_ids:
                tombstones.remember(conn, pid, None)  # a running search must not bring it back
                files += [r[0] for r in conn.execute("SELECT path FROM attachment WHERE paper_id = ?", (pid,))]
                conn.execute("DELETE FROM paper_fts WHERE rowid = ?", (pid,))
                removed += conn.execute("DELETE FROM paper WHERE id = ?", (pid,)).rowcount
            still_used = {r[0] for r in conn.execute("SELECT path FROM attachment")}
        for relative in set(files) - still_used:
            attachments.inside(self.files_dir, relative).unlink(missing_ok=True)
        return removed

    def set_decision(self, paper_id: int, accepted: bool | None) -> None:
        self._set_paper_field(paper_id, "decision", None if accepted is None else int(accepted))

    def set_read(self, paper_id: int, read: bool = True) -> None:
        self._set_paper_field(paper_id, "read", int(read))

    def set_rating(self, paper_id: int, rating: int | None) -> None:
        if rating is not None and not 1 <= rating <= 5:
            raise LibraryError(f"A rating is 1 to 5 stars (got {rating})")
        self._set_paper_field(paper_id, "rating", rating)

    def _set_paper_field(self, paper_id: int, column: str, value: int | None) -> None:
        assert column in {"decision", "read", "rating"}
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE paper SET {column} = ?, updated = ? WHERE id = ?", (value, catalogue.now(), paper_id)
            )
            if not cur.rowcount:
                raise LibraryError(f"No paper {paper_id} in the library")

    # -- search -----------------------------------------------------------------------------------
    def search(
        self,
        text: str = "",
        *,
        tag: str | None = None,
        collection: int | str | None = None,
        year: int | tuple[int | None, int | None] | None = None,
        run: int | None = None,
        selected: bool | None = None,
        decision: bool | None = None,
        read: bool | None = None,
        library_only: bool = False,
        with_selected: bool = True,
        limit: int | None = 200,
        offset: int = 0,
    ) -> list[PaperRow]:
        """Full-text search with filters. Any user text is safe: it is never parsed as FTS5 syntax.

        `collection` is an id or a "Parent/Child" path and includes sub-collections; `selected` means
        selected by the Selector in `run` (or in any run when `run` is None); `year` is one year or a range.
        `library_only` keeps to the papers the library holds (`count_library`; `with_selected` as there).
        """
        with self._read() as conn:
            tree = None
            if collection is not None:
                tree = tuple(self._collection_tree(conn, self._collection_id(conn, collection)))
            filters = Filters(tag, tree, year, run, selected, decision, read, library_only, with_selected)
            sql, params = id_query(text, filters, limit, offset)
            try:
                ids = [int(r[0]) for r in conn.execute(sql, params)]
            except sqlite3.Error as exc:
                # match_expression never yields FTS syntax; anything else is a real error worth showing.
                raise translate(exc, self.path) from exc
            return self._rows(conn, ids)

    @staticmethod
    def _rows(conn: Db, paper_ids: Sequence[int]) -> list[PaperRow]:
        """Rows for these ids, in the order given (unknown ids are left out)."""
        found: dict[int, PaperRow] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = tuple(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(f"SELECT {catalogue.PAPER_COLUMNS} FROM paper p WHERE p.id IN ({marks})", chunk):
                found[int(row[0])] = catalogue.row_to_paper_row(row)
        return [found[i] for i in paper_ids if i in found]

    # -- attachments --------------------------------------------------------------------------------
    def attach(self, paper_id: int, file: Path, *, name: str | None = None) -> int:
        """Copy a file into the library folder, extract its text for search; returns the attachment id."""
        self.paper(paper_id)
        relative, digest, size = attachments.store(self.files_dir, paper_id, Path(file), name)
        stored = attachments.inside(self.files_dir, relative)
        mime = attachments.mime_of(stored)
        text = attachments.extract_text(stored, mime)
        with self._write() as conn:
            row = conn.execute(
                "SELECT id FROM attachment WHERE paper_id = ? AND sha256 = ?", (paper_id, digest)
            ).first()
            if row:
                return int(row[0])
            cur = conn.execute(
                "INSERT INTO attachment(paper_id, path, original_name, sha256, size, mime, text, added)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (paper_id, relative, Path(file).name, digest, size, mime, text, catalogue.now()),
            )
            catalogue.reindex(conn, paper_id)
            return cur.new_id


def _access_mode(path: Path) -> str:
    """The read-only mode to open the library in ("" when it can be written here; see make_engine)."""
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return "immutable" if path.exists() else ""
    if path.exists() and not os.access(path, os.W_OK):
        return "ro"
    return ""


def _create_private(path: Path) -> bool:
    """Create the folder (0700) and an empty file (0600) before SQLite does, so neither is world-readable
    (SQLite gives the -wal and -shm files the main file's mode). True when the file is new."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _backup_if_due(library: Library) -> None:
    """At most once a day, a copy of a library that holds something (see library.backups)."""
    try:
        if not backups.backup_due(library.path):
            return
        with library._read() as conn:
            if conn.execute("SELECT EXISTS(SELECT 1 FROM paper) OR EXISTS(SELECT 1 FROM run)").scalar() == 0:
                return
        backups.take_backup(library.path)
    except (LibraryError, OSError) as exc:
        # A failed backup must not stop the user's work, but it is never silent either.
        print(f"pasa: warning: {exc}", file=sys.stderr)


def open_library(
    path: Path,
    *,
    busy_timeout_s: float = 5.0,
    durable: bool = False,
    read_only: bool | None = None,
    backup: bool = True,
) -> Library:
    """Open (creating or migrating) the library at `path`.

    Every commit is durable against the app crashing or being killed (WAL). `durable=True` also
    fsyncs each commit (power loss loses nothing, at ~8 ms per event on a typical disk); by default a
    power cut may roll back the last few events, never corrupt the file — a resume redoes them.

    Raises LibraryError when the file is not a library or was written by a newer version, and
    LibraryLocked when another process keeps it locked past `busy_timeout_s`.
    """
    path = Path(path)
    if path.is_dir():
        raise LibraryError(f"{path} is a folder, not a library file", hint="set paths.library to a file name")
    if read_only is None:  # automatic: read-only where the user cannot write (history, show, export still work)
        mode = _access_mode(path) if path.parent.exists() else ""
    else:
        mode = ("ro" if os.access(path.parent, os.W_OK) else "immutable") if read_only else ""
    if mode and not path.exists():
        raise LibraryError(f"There is no library at {path}, and its folder is read-only")
    if not mode:
        try:
            _create_private(path)
        except OSError as exc:
            raise LibraryError(f"Cannot create the library {path}: {exc.strerror or exc}") from exc
    library = Library(path, busy_timeout_s=busy_timeout_s, durable=durable, read_only=mode)
    try:
        library._migrate()
    except (DBAPIError, sqlite3.Error) as exc:
        library._engine.dispose()
        raise translate(exc, path) from exc
    except BaseException:
        library._engine.dispose()
        raise
    if backup and not mode:
        _backup_if_due(library)
    return library
