"""Who holds a run, and what the library says when its holder died; the library wins over a running search.

A second real process holds a run (it creates it and waits); this process must be refused, see the run as
"running" while that process lives, and as "interrupted" (resumable) once it is killed with SIGKILL.
Deletions and merges made while a search runs survive the events the search records afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound, RankedPaper, SearchFinished, SearchStatus
from pasa_desktop.library import Library, leases, open_library
from pasa_desktop.library.leases import RunHeld
from tests.conftest import REPO
from tests.pasa_desktop.library.conftest import make_paper

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pasa_desktop.library import open_library
    lib = open_library(Path(sys.argv[1]))
    print(lib.create_run("held elsewhere", {}), flush=True)
    time.sleep(120)
    """
)


def _holder(path: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def test_a_run_held_by_a_live_process_is_refused_then_reads_interrupted_when_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    open_library(path).close()
    proc, run_id = _holder(path)
    try:
        with open_library(path) as library:
            assert library.run(run_id).status == "running"
            with pytest.raises(RunHeld) as refused:
                library.claim_run(run_id)
            assert f"process {proc.pid}" in str(refused.value)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            assert library.run(run_id).status == "interrupted"
            assert [r.status for r in library.runs()] == ["interrupted"]
            library.claim_run(run_id)  # the dead holder's lease no longer counts
            assert library.run(run_id).status == "running"
            library.record(run_id, SearchFinished(SearchStatus.CANCELLED, message="stopped"))
            assert library.run(run_id).status == "cancelled"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times are read from Linux /proc")
def test_a_frozen_holder_still_holds_its_run(tmp_path: Path) -> None:
    """A live search that stopped beating (SIGSTOP: frozen, suspended) is not "interrupted": resuming it
    would run the same search twice. Only a pid that started after the last heartbeat is a stranger."""
    path = tmp_path / "library.sqlite"
    open_library(path).close()
    proc, run_id = _holder(path)
    try:
        os.kill(proc.pid, signal.SIGSTOP)
        with open_library(path) as library, library._read() as conn:
            owner = leases.owner_of(conn, run_id)
        assert owner is not None and owner.pid == proc.pid
        later = datetime.fromisoformat(owner.heartbeat) + timedelta(seconds=leases.STALE_S * 3)
        assert leases.owner_alive(owner, now=later)
        recycled = leases.Owner(owner.pid, owner.host, "2020-01-01T00:00:00.000+00:00")
        assert not leases.owner_alive(recycled, now=later)
        proc.kill()  # killed but not yet reaped (a zombie): gone, though its pid still exists
        for _ in range(100):
            if leases.process_ended(proc.pid):
                break
            time.sleep(0.05)
        assert not leases.owner_alive(owner)
    finally:
        proc.kill()
        proc.wait(10)


def test_a_stale_heartbeat_reads_interrupted_and_release_lets_go(library: Library) -> None:
    run = library.create_run("q", {})
    assert library.run(run).status == "running"
    # A heartbeat older than the process that now has the holder's pid: that pid was recycled (here: this
    # test's own process), so the holder is gone.
    with library._write() as conn:
        conn.execute("UPDATE run SET heartbeat = '2020-01-01T00:00:00.000+00:00' WHERE id = ?", (run,))
    assert library.run(run).status == "interrupted"
    library.claim_run(run)
    library.heartbeat_run(run)
    assert library.run(run).status == "running"
    library.release_run(run)
    assert library.run(run).status == "interrupted"


def test_the_finishing_step_stores_the_engines_selection_as_it_says(library: Library) -> None:
    """PaperScored said False (the live P(True) rule); the final ranking selected it: the library says so."""
    run = library.create_run("q", {})
    a, b = make_paper(1), make_paper(2)
    how = FoundBy("query", query="q", rank=1)
    library.record(run, PapersFound((a, b), (how, how)))
    library.record(run, PaperScored(a.key, 0.07, False))
    library.record(run, PaperScored(b.key, 0.9, True))
    library.record(run, SearchFinished(SearchStatus.DONE, results=(
        RankedPaper(a, 2.0, 0.07, True, (how,)), RankedPaper(b, 1.0, 0.9, False, (how,)))))
    assert [r.key for r in library.run_papers(run, selected_only=True)] == [a.key]
    assert library.run(run).selected == 1


def test_a_paper_deleted_during_a_search_stays_deleted(library: Library) -> None:
    run = library.create_run("q", {})
    a, b = make_paper(1), make_paper(2)
    how = FoundBy("query", query="q", rank=1)
    library.record(run, PapersFound((a, b), (how, how)))
    gone = {r.key: r.paper.id for r in library.run_papers(run)}[a.key]
    assert library.delete_papers([gone]) == 1
    # The search goes on: it scores the paper and reports it again in its final ranking.
    library.record(run, PaperScored(a.key, 0.9, True))
    library.record(run, SearchFinished(SearchStatus.DONE, results=(
        RankedPaper(a, 2.0, 0.9, True, (how,)), RankedPaper(b, 1.0, None, False, (how,)))))
    assert library.count_papers() == 1
    assert [r.key for r in library.run_papers(run)] == [b.key]
    assert library.run(run).found == 1 and library.run(run).selected == 0
    # A search started afterwards may find it again: that is a new question.
    later = library.create_run("q again", {})
    library.record(later, PapersFound((a,), (how,)))
    assert library.count_papers() == 2


def test_a_paper_merged_during_a_search_stays_merged_and_the_run_links_the_kept_one(library: Library) -> None:
    run = library.create_run("q", {})
    a = make_paper(1)
    b = make_paper(2, title=a.title, arxiv_id="2101.20002")  # the same work under another arXiv id
    how = FoundBy("query", query="q", rank=1)
    library.record(run, PapersFound((a, b), (how, how)))
    ids = {r.key: r.paper.id for r in library.run_papers(run)}
    keep, drop = ids[a.key], ids[b.key]
    library.merge_papers(keep, drop)
    # Later events of the same search: a score for the merged-away key, then another record of it.
    library.record(run, PaperScored(b.key, 0.8, True))
    other = b.with_updates(id="s2:1234", arxiv_id=None, source="semantic_scholar")  # found by title
    assert other.key != b.key
    library.record(run, PapersFound((other,), (how,)))
    library.record(run, SearchFinished(SearchStatus.DONE, results=(
        RankedPaper(b, 2.0, 0.8, True, (how,)), RankedPaper(a, 1.0, None, False, (how,)),
        RankedPaper(other, 0.5, None, False, (how,)))))
    assert library.count_papers() == 1
    rows = library.run_papers(run)
    assert [r.paper.id for r in rows] == [keep]  # listed once
    assert rows[0].selected is True
    assert [r.paper.id for r in library.run_papers(run, selected_only=True)] == [keep]
    summary = library.run(run)
    assert (summary.found, summary.selected) == (1, 1)
