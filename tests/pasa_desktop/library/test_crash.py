"""kill -9 in the middle of a search, then resume: nothing reported as found or scored is lost.

The search is the real engine loop (offline index from the real corpus, scripted models) recording
into a real library file in a subprocess; the parent kills it with SIGKILL mid-run.
"""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.events import PaperScored
from engine.sources.local_index import build_index
from pasa_desktop.library import open_library
from tests.conftest import REPO, shared_data

DRIVER = Path(__file__).with_name("search_driver.py")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = shared_data("corpus/papers.jsonl.gz")
    folder = tmp_path_factory.mktemp("crash-index")
    rows = folder / "corpus.jsonl"
    with gzip.open(corpus, "rt", encoding="utf-8") as fh, rows.open("w", encoding="utf-8") as out:
        out.writelines(itertools.islice(fh, 1500))
    build_index(rows, folder / "index.sqlite")
    return folder / "index.sqlite"


def _driver(index: Path, library: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(DRIVER), "--index", str(index), "--library", str(library), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_kill_9_mid_search_loses_nothing_reported_and_resume_does_not_rescore(index: Path, tmp_path: Path) -> None:
    lib_path = tmp_path / "library.sqlite"
    proc = _driver(index, lib_path, "--delay", "0.02")
    assert proc.stdout is not None
    found: set[str] = set()
    scored: dict[str, float] = {}
    run_id = None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        kind, _, rest = line.strip().partition(" ")
        if kind == "RUN":
            run_id = int(rest)
        elif kind == "FOUND":
            found.add(rest)
        elif kind == "SCORED":
            key, value = rest.rsplit(" ", 1)
            scored[key] = float(value)
            if len(scored) >= 12:
                os.kill(proc.pid, signal.SIGKILL)
                break
        assert time.monotonic() < deadline, "the search never got going"
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert run_id is not None and found and scored

    library = open_library(lib_path)
    rows = {r.key: r for r in library.run_papers(run_id)}
    assert found <= set(rows), f"lost papers: {found - set(rows)}"
    for key, value in scored.items():
        assert rows[key].score == pytest.approx(value), key
    assert library.run(run_id).status == "interrupted"  # killed: never finished, nobody holds it
    with library._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    library.close()

    resumed = _driver(index, lib_path, "--resume", str(run_id), "--delay", "0")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    library = open_library(lib_path)
    final = {r.key: r for r in library.run_papers(run_id)}
    assert library.run(run_id).status == "done"
    assert set(rows) <= set(final)
    for key, value in scored.items():
        assert final[key].score == pytest.approx(value)
    scored_twice = [
        k for k, n in Counter(e.key for e in library.run_events(run_id) if isinstance(e, PaperScored)).items() if n > 1
    ]
    assert scored_twice == [], "papers scored before the crash were scored again"
    assert all(r.score is not None for r in final.values())
    library.close()
