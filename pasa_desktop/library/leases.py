"""Run ownership: a running search holds its run through a lease (pid, host, heartbeat) in the run row.

Why: a run killed with kill -9 or SIGTERM never records its end, so "running" alone cannot tell a live
search from a dead one; and a second process resuming a run that is still being searched doubles its
events. The lease answers both. The owner writes a heartbeat every HEARTBEAT_S; the lease is live while
the owning process exists (checked by pid on the same host) and its heartbeat is younger than STALE_S
(the only check possible for another host's process, and the guard against a recycled pid). On Linux a
same-host owner is told apart from a recycled pid by its start time, so a live search that stopped
beating (frozen, suspended, swapping) still holds its run instead of reading "interrupted".

Functions take an open connection inside the caller's write transaction (claiming is check-and-set).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.errors import InputError
from pasa_desktop.library.database import Db
from pasa_desktop.library.errors import LibraryError

HEARTBEAT_S = 5.0
STALE_S = 60.0
# What `RunSummary.status` says of a run whose owner died before recording its end (resumable).
INTERRUPTED = "interrupted"


class RunHeld(LibraryError, InputError):
    """The run is held by another live process (resume refused: exit code 2 on the command line)."""


@dataclass(frozen=True, slots=True)
class Owner:
    pid: int
    host: str
    heartbeat: str  # UTC ISO-8601

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


def this_host() -> str:
    return socket.gethostname()


def _now() -> datetime:
    return datetime.now(UTC)


def pid_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of Linux /proc/<pid>/stat (state first), split after the ")" that ends the command name."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_ended(pid: int) -> bool:
    """A zombie (killed, not yet reaped by its parent) still has a pid but will never search again."""
    fields = _proc_stat(pid)
    return fields is not None and fields[0] in ("Z", "X")


def process_started(pid: int) -> datetime | None:
    """When process `pid` started (Linux /proc); None where that cannot be read."""
    fields = _proc_stat(pid)
    try:
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        ticks = int(fields[19]) if fields is not None else None  # field 22: starttime, clock ticks since boot
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return None if ticks is None else _now() - timedelta(seconds=uptime_s - ticks / hz)


def owner_alive(owner: Owner | None, *, now: datetime | None = None) -> bool:
    if owner is None:
        return False
    try:
        beat = datetime.fromisoformat(owner.heartbeat)
    except ValueError:
        return False
    local = owner.host == this_host()
    if local and (not pid_exists(owner.pid) or process_ended(owner.pid)):
        return False
    if ((now or _now()) - beat).total_seconds() <= STALE_S:
        return True
    if not local:
        return False
    # Stale: the same process (started before it last beat; 1 s of slack for clock ticks) is only frozen,
    # a process that started later got a dead owner's pid.
    started = process_started(owner.pid)
    return started is not None and started <= beat + timedelta(seconds=1)


def owner_of(conn: Db, run_id: int) -> Owner | None:
    row = conn.execute("SELECT owner_pid, owner_host, heartbeat FROM run WHERE id = ?", (run_id,)).first()
    if row is None or row[0] is None:
        return None
    return Owner(int(row[0]), row[1] or "", row[2] or "")


def effective_status(status: str, owner: Owner | None) -> str:
    """What a reader should be told: a "running" run whose owner is gone was interrupted (resumable)."""
    if status == "running" and not owner_alive(owner):
        return INTERRUPTED
    return status


def claim(conn: Db, run_id: int, *, pid: int | None = None, host: str | None = None) -> None:
    """Take the run for this process; RunHeld when another live process holds it."""
    if conn.execute("SELECT 1 FROM run WHERE id = ?", (run_id,)).first() is None:
        raise LibraryError(f"No search run {run_id} in the library", hint="pasa history")
    pid = os.getpid() if pid is None else pid
    host = this_host() if host is None else host
    current = owner_of(conn, run_id)
    if current is not None and (current.pid, current.host) != (pid, host) and owner_alive(current):
        raise RunHeld(
            f"run {run_id} is still being searched by {current.describe()}",
            hint=f"wait for it to finish, or stop it (kill {current.pid}) and resume then",
        )
    conn.execute(
        "UPDATE run SET owner_pid = ?, owner_host = ?, heartbeat = ? WHERE id = ?",
        (pid, host, _now().isoformat(timespec="milliseconds"), run_id),
    )


def beat(conn: Db, run_id: int, pid: int | None = None) -> None:
    """Refresh this process's heartbeat (nothing if it no longer holds the run)."""
    conn.execute(
        "UPDATE run SET heartbeat = ? WHERE id = ? AND owner_pid = ? AND owner_host = ?",
        (_now().isoformat(timespec="milliseconds"), run_id, os.getpid() if pid is None else pid, this_host()),
    )


def release(conn: Db, run_id: int, pid: int | None = None) -> None:
    conn.execute(
        "UPDATE run SET owner_pid = NULL, owner_host = NULL, heartbeat = NULL"
        " WHERE id = ? AND owner_pid = ? AND owner_host = ?",
        (run_id, os.getpid() if pid is None else pid, this_host()),
    )
