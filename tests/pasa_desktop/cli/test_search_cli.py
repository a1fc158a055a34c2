"""`pasa search` / `pasa index` / `pasa eval` as a user runs them: real subprocesses, the real embedded
model (SmolLM2 GGUF through llama.cpp), a real index built from a slice of the corpus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pasa_desktop.cli.conftest import pasa

QUERY = "papers that use coded computation against stragglers in distributed training, not gradient accumulation"


def test_empty_query_exits_2(user_env: dict[str, str]) -> None:
    result = pasa("search", "   ", env=user_env)
    assert result.returncode == 2
    assert "query is empty" in result.stderr


def test_missing_index_names_the_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASA_")}
    env.update(PASA_DATA_DIR=str(tmp_path / "empty"), PASA_CONFIG_DIR=str(tmp_path / "cfg"))
    result = pasa("search", "coded computation", env=env)
    assert result.returncode == 1
    assert "pasa index build" in result.stderr


def test_index_build_from_a_corpus_file(tmp_path: Path, corpus_slice: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASA_")}
    env.update(PASA_DATA_DIR=str(tmp_path / "d"), PASA_CONFIG_DIR=str(tmp_path / "c"))
    result = pasa("index", "build", "--from", str(corpus_slice), env=env)
    assert result.returncode == 0, result.stderr
    assert "Indexed" in result.stderr
    info = pasa("index", "info", env=env)
    assert "papers" in info.stdout and (tmp_path / "d" / "index.sqlite").exists()
    assert "ranking: BM25F" in info.stdout
    # An index from before BM25F (no postings beside it) gets them from `pasa index ensure` (./run.sh).
    shutil.rmtree(tmp_path / "d" / "index.sqlite.bm25f")
    assert "ranking: FTS5" in pasa("index", "info", env=env).stdout
    ensure = pasa("index", "ensure", env=env)
    assert ensure.returncode == 0, ensure.stderr
    assert "BM25F" in ensure.stderr
    assert "ranking: BM25F" in pasa("index", "info", env=env).stdout


@pytest.mark.slow
def test_real_search_json_then_history(user_env: dict[str, str]) -> None:
    result = pasa("search", QUERY, "--preset", "quick", "--max-seconds", "600", "--json", env=user_env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "done" and out["run_id"] == 1
    assert len(out["papers"]) >= 10
    first = out["papers"][0]
    assert {"id", "title", "score", "selected", "found_by", "year", "venue"} <= first.keys()
    assert all(0.0 <= p["score"] <= 1.0 for p in out["papers"] if p["score"] is not None)
    table = pasa("search", QUERY, "--preset", "quick", "--max-seconds", "600", "--top", "5", env=user_env)
    assert table.returncode == 0 and "found by" in table.stdout and "Q1" in table.stdout


@pytest.mark.slow
def test_ctrl_c_stops_fast_keeps_results_and_resumes(user_env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        # The embedded model as Selector: it scores slowly enough to be interrupted mid-scoring (the default
        # relevance Selector is not prepared here, and a search then scores nothing).
        [sys.executable, "-m", "pasa_desktop.cli.main", "search", QUERY, "--max-seconds", "600",
         "--selector-model", "embedded"],
        env=user_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the library holds scored papers, then interrupt.
    from pasa_desktop.library import LibraryError, open_library

    library_path = Path(user_env["PASA_DATA_DIR"]) / "library.sqlite"
    deadline = time.monotonic() + 240
    scored = 0
    while time.monotonic() < deadline and scored < 3:
        time.sleep(0.5)
        if library_path.exists():
            lib = open_library(library_path)
            try:
                scored = sum(1 for e in lib.run_events(1) if type(e).__name__ == "PaperScored")
            except LibraryError:  # the run is not recorded yet
                scored = 0
            finally:
                lib.close()
    assert scored >= 3, "the search never started scoring"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5.0  # stops within a second; process teardown adds a little
    assert proc.returncode == 0, stderr
    assert "cancelled" in stdout and "--resume 1" in stderr
    resumed = pasa("search", "--resume", "1", "--selector-model", "embedded", "--json", env=user_env)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["status"] == "done" and out["run_id"] == 1
