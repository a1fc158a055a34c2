"""Automatic backups of the library file, an integrity check, and a restore that loses nothing.

Like Zotero's `zotero.sqlite.bak`: when a library is opened for writing and its newest backup is more
than a day old, a copy is taken through SQLite's online backup API (a consistent snapshot, WAL content
included, safe while another process writes) into `<stem>-backups/` beside it; the newest `KEEP` copies
stay. `check` runs `PRAGMA integrity_check`; `restore` first moves the current file (and its -wal and
-shm) aside as `<stem>.damaged-<time><suffix>`, never deleting it, then copies a verified backup in.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pasa_desktop.library.errors import LibraryError

KEEP = 7  # a week of daily copies
INTERVAL_S = 24 * 3600.0
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    taken: datetime
    size: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    path: Path
    ok: bool
    problems: tuple[str, ...]
    schema_version: int | None
    papers: int | None
    runs: int | None


def backup_dir(library: Path) -> Path:
    return library.with_name(f"{library.stem}-backups")


def list_backups(library: Path) -> list[Backup]:
    """Backups of `library`, newest first."""
    folder = backup_dir(library)
    found: list[Backup] = []
    if not folder.is_dir():
        return found
    prefix = f"{library.stem}-"
    for item in folder.iterdir():
        name = item.name
        if not (name.startswith(prefix) and name.endswith(library.suffix or ".sqlite")) or not item.is_file():
            continue
        stamp = name[len(prefix) : len(name) - len(library.suffix or ".sqlite")]
        try:
            taken = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue
        found.append(Backup(item, taken, item.stat().st_size))
    return sorted(found, key=lambda b: b.taken, reverse=True)


def latest_backup(library: Path) -> Backup | None:
    backups = list_backups(library)
    return backups[0] if backups else None


def backup_due(library: Path, *, interval_s: float = INTERVAL_S, now: float | None = None) -> bool:
    latest = latest_backup(library)
    if latest is None:
        return True
    return (now if now is not None else time.time()) - latest.taken.timestamp() >= interval_s


def _private_dir(folder: Path) -> None:
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of the SQLite file `source` at `target` (0600), written to a temporary name first."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            # The copy is a stand-alone file: no WAL beside it that a move could leave behind.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()


def take_backup(library: Path, *, keep: int = KEEP) -> Backup:
    """Copy the library now; drop the oldest copies beyond `keep`. Raises LibraryError on failure."""
    folder = backup_dir(library)
    taken = datetime.now(UTC).replace(microsecond=0)
    target = folder / f"{library.stem}-{taken.strftime(_STAMP)}{library.suffix or '.sqlite'}"
    try:
        _private_dir(folder)
        _copy(library, target)
    except (OSError, sqlite3.Error) as exc:
        raise LibraryError(f"Could not back up {library}: {exc}", hint="free some disk space") from exc
    for old in list_backups(library)[max(keep, 1) :]:
        old.path.unlink(missing_ok=True)
    return Backup(target, taken, target.stat().st_size)


def check(library: Path) -> CheckReport:
    """`PRAGMA integrity_check` and the basic shape of a library, read-only (the file is not changed)."""
    problems: list[str] = []
    version = papers = runs = None
    if not library.is_file():
        return CheckReport(library, False, (f"{library} does not exist or is not a file",), None, None, None)
    # In a folder the user cannot write, SQLite cannot create the -shm a WAL reader needs ("attempt to
    # write a readonly database", which is no damage): read the file as it is, as the library then does.
    immutable = "" if os.access(library.parent, os.W_OK) else "&immutable=1"
    try:
        conn = sqlite3.connect(f"file:{library}?mode=ro{immutable}", uri=True)
    except sqlite3.Error as exc:
        return CheckReport(library, False, (f"cannot open: {exc}",), None, None, None)
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(20)")]
        if rows != ["ok"]:
            problems.extend(rows)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            problems.append("this file holds no PaSa Desktop library (schema version 0)")
        else:
            papers = int(conn.execute("SELECT count(*) FROM paper").fetchone()[0])
            runs = int(conn.execute("SELECT count(*) FROM run").fetchone()[0])
    except sqlite3.Error as exc:
        problems.append(str(exc))
    finally:
        conn.close()
    return CheckReport(library, not problems, tuple(problems), version, papers, runs)


def restore(library: Path, backup: Path | None = None) -> tuple[Backup | Path, Path | None]:
    """Put a backup in place of `library`; returns (what was restored, where the old file went).

    Without `backup`, the newest backup that passes the integrity check. The current file is moved
    aside (never deleted). Close every PaSa Desktop window using the library first.
    """
    chosen: Backup | Path
    if backup is None:
        candidates = [b for b in list_backups(library) if check(b.path).ok]
        if not candidates:
            raise LibraryError(
                f"No usable backup of {library} (looked in {backup_dir(library)})",
                hint="a backup is taken automatically once a day when the library is opened",
            )
        chosen, source = candidates[0], candidates[0].path
    else:
        if not backup.is_file():
            raise LibraryError(f"{backup} is not a file")
        report = check(backup)
        if not report.ok:
            raise LibraryError(f"{backup} is itself damaged: {'; '.join(report.problems[:3])}")
        chosen = source = backup
    moved: Path | None = None
    stamp = datetime.now(UTC).strftime(_STAMP)
    try:
        if library.exists():
            moved = library.with_name(f"{library.stem}.damaged-{stamp}{library.suffix}")
            os.replace(library, moved)
            for side in ("-wal", "-shm"):
                extra = Path(f"{library}{side}")
                if extra.exists():
                    os.replace(extra, Path(f"{moved}{side}"))
        _copy(source, library)
    except (OSError, sqlite3.Error) as exc:
        raise LibraryError(f"Could not restore {library} from {source}: {exc}") from exc
    return chosen, moved


def describe(backup: Backup) -> str:
    return f"{backup.path} (taken {backup.taken.strftime('%Y-%m-%d %H:%M')} UTC, {backup.size:,} bytes)"
