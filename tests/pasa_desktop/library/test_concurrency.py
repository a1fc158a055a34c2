"""Two processes on one library: both work safely, or the second gets a clear LibraryLocked."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pasa_desktop.library import LibraryLocked, open_library
from pasa_desktop.library.migrations import SCHEMA_VERSION
from tests.conftest import REPO
from tests.pasa_desktop.library.conftest import make_paper

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from engine.events import FoundBy, PapersFound, PaperScored
    from pasa_desktop.library import open_library
    from tests.pasa_desktop.library.conftest import make_paper

    lib = open_library(Path(sys.argv[1]), busy_timeout_s=30)
    offset = int(sys.argv[2])
    run = lib.create_run(f"writer {offset}", {})
    for i in range(offset, offset + 40):
        p = make_paper(i)
        lib.record(run, PapersFound((p,), (FoundBy("query", query="q"),)))
        lib.record(run, PaperScored(p.key, 0.5, True))
        if i % 10 == 0:
            lib.add_tag(lib.run_papers(run)[0].paper.id, f"w{offset}")
    lib.close()
    """
)


def test_two_processes_write_concurrently_without_corruption(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    open_library(path).close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Overlapping ranges: the two writers find some of the same papers.
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(offset)], env=env, stderr=subprocess.PIPE)
        for offset in (0, 20)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    lib = open_library(path)
    runs = lib.runs()
    assert len(runs) == 2 and all(r.found == 40 and r.scored == 40 for r in runs)
    assert lib.count_papers() == 60  # 0..59, the overlap stored once
    with lib._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    lib.close()


def test_a_held_write_lock_gives_library_locked_and_reads_still_work(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    lib = open_library(path)
    lib.add_paper(make_paper(1))
    lib.close()
    other = sqlite3.connect(path, isolation_level=None)  # another process's long transaction
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO tag(name) VALUES ('held')")
    try:
        second = open_library(path, busy_timeout_s=0.2)  # opening an up-to-date library needs no lock
        assert second.count_papers() == 1  # WAL: readers are not blocked
        with pytest.raises(LibraryLocked, match="another PaSa Desktop process") as info:
            second.add_paper(make_paper(2))
        assert info.value.hint
        assert second.count_papers() == 1  # nothing half-written
    finally:
        other.execute("ROLLBACK")
        other.close()
    second.add_paper(make_paper(2))
    assert second.count_papers() == 2
    second.close()


def test_opening_a_new_library_while_another_process_creates_it(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = (
        "import sys; from pathlib import Path; from pasa_desktop.library import open_library; "
        "open_library(Path(sys.argv[1]), busy_timeout_s=30).close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], env=env, stderr=subprocess.PIPE) for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    lib = open_library(path)
    with lib._engine.connect() as conn:
        # Each step ran exactly once although several processes raced to create the file.
        assert conn.exec_driver_sql("SELECT count(*) FROM schema_history").scalar() == SCHEMA_VERSION
    lib.close()


def test_one_process_two_threads_recording_and_reading(tmp_path: Path) -> None:
    """The GUI reads (tables, search) on its thread while the search thread records events."""
    import threading

    from engine.events import FoundBy, PaperScored, PapersFound

    lib = open_library(tmp_path / "library.sqlite")
    run = lib.create_run("q", {})
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(150):
                p = make_paper(i)
                lib.record(run, PapersFound((p,), (FoundBy("query", query="q"),)))
                lib.record(run, PaperScored(p.key, 0.5, i % 2 == 0))
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not done.is_set():
        rows = lib.run_papers(run)
        assert all(r.paper.id for r in rows)
        lib.search("coded", limit=20)
        lib.runs()
        reads += 1
    thread.join()
    assert errors == [] and reads > 0
    assert lib.run(run).found == 150 and lib.run(run).scored == 150
    lib.close()
