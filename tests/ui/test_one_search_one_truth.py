"""One search, one truth (#14): the same scripted search through `pasa search` and through the window's
controller, and every view of it agrees on what was selected.

The command line runs as a user runs it (a subprocess of the real `pasa` entry point, scripted models handed
in by profile name: tests/pasa_desktop/cli/scripted_pasa.py); the window runs its real search process (ProcessSearch, a
child process handed the same `scripted_models` as its model loader), on a real index built from the shared corpus,
into one real library. For a finished run, a cancelled one, and one killed with SIGKILL and resumed, the
selected set is the same in `--json`, `pasa show --selected`, `pasa export --selected`, `pasa history`,
the Search tab and the Library view.

The agent settings make the bug this guards against visible: the Selector's live rule (P(True) > 0.99)
says False for almost every paper, while the final ranking selects the best three not clearly rejected
(select_rule "top_unrejected"); a library that kept the live answer would show 0 selected.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from engine.events import PaperScored
from engine.models.profiles import ModelProfile
from pasa_desktop.library import Library, open_library
from tests.conftest import REPO
from tests.pasa_desktop.cli.scripted_pasa import scripted_models
from tests.ui.conftest import corpus_sample

QUERY = "neural networks for language modelling"
SEARCH_TAB, LIBRARY_TAB = 0, 1


@pytest.fixture(scope="module")
def prepared_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 800 papers with abstracts of the real corpus, indexed once with all its rankings."""
    from engine.sources import index_lifecycle

    folder = tmp_path_factory.mktemp("one-truth-index")
    corpus = corpus_sample(folder / "corpus.jsonl")
    index = folder / "index.sqlite"
    index_lifecycle.ensure_ready(index, corpus)
    return index


@pytest.fixture
def env(settings, prepared_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The window's settings (the `settings` fixture, library at tmp_path/library.sqlite) written for the CLI too."""
    settings.paths.index = str(prepared_index)
    settings.sources.enabled = ["local"]
    settings.profiles += [ModelProfile(name="crawler"), ModelProfile(name="selector")]
    settings.crawler_profile, settings.selector_profile = "crawler", "selector"
    settings.agent = settings.agent.model_copy(update={
        "max_queries": 3, "crawler_queries": "on", "results_per_query": 10, "expand_layers": 0, "score_top": 12,
        "select_rule": "top_unrejected", "select_k": 3, "select_threshold": 0.99, "max_seconds": 600.0,
    })
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(settings.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("PASA_TEST_SELECTOR_DELAY", "0")
    base = {k: v for k, v in os.environ.items() if not k.startswith("PASA_")}
    return {**base, "PYTHONPATH": str(REPO), "PASA_DATA_DIR": str(tmp_path / "data"),
            "PASA_CONFIG_DIR": str(config), "PASA_TEST_SELECTOR_DELAY": "0", "COLUMNS": "200"}


# -- the command line -------------------------------------------------------------------------------


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.pasa_desktop.cli.scripted_pasa", *args]


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_argv(*args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def cli_start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(_argv(*args), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _title(text: str) -> str:
    return " ".join(text.split())


def json_selected(stdout: str) -> tuple[dict[str, Any], set[str]]:
    out = json.loads(stdout)
    return out, {_title(p["title"]) for p in out["papers"] if p["selected"]}


def cli_views(run_id: int, env: dict[str, str], library: Library, tmp_path: Path) -> dict[str, Any]:
    """What `pasa show --selected`, `pasa export --selected` and `pasa history` say about a run."""
    show = cli("show", str(run_id), "--selected", "--limit", "0", env=env)
    assert show.returncode == 0, show.stderr
    ids = [int(m) for m in re.findall(r"\[(\d+)\]", show.stdout)]
    target = tmp_path / f"run{run_id}.json"
    export = cli("export", "--format", "csljson", "--run", str(run_id), "--selected", "-o", str(target), env=env)
    assert export.returncode == 0, export.stderr
    exported = json.loads(target.read_text(encoding="utf-8"))
    history = cli("history", env=env)
    assert history.returncode == 0, history.stderr
    line = next(row.split() for row in history.stdout.splitlines() if row.split()[:1] == [str(run_id)])
    return {
        "show": {_title(p.title) for p in library.papers(ids)},
        "export": {_title(item["title"]) for item in exported},
        "history": (line[1], int(line[6])),
    }


def wait_for_scores(library_path: Path, n: int, proc: subprocess.Popen[str] | None = None) -> int:
    """Poll the library (as another reader would) until the newest run has `n` scored papers; its id."""
    deadline = time.monotonic() + 240
    while True:
        assert proc is None or proc.poll() is None, proc.communicate()[1] if proc else ""
        assert time.monotonic() < deadline, "the search never scored enough papers"
        with open_library(library_path) as reader:
            runs = reader.runs()
            if runs and runs[0].scored >= n and runs[0].status == "running":
                return runs[0].id
        time.sleep(0.1)


# -- the window -------------------------------------------------------------------------------------


def window_views(window: Any, run_id: int) -> dict[str, set[str]]:
    """The Search tab's selected rows, and the Library view's for the same run."""
    tab = {_title(r.title) for r in window.search_panel.results.model.all_rows() if r.selected}
    window.tabs.setCurrentIndex(LIBRARY_TAB)
    window._show_run(run_id)
    library_view = {_title(r.title) for r in window.library_panel.results.model.all_rows() if r.selected}
    window.tabs.setCurrentIndex(SEARCH_TAB)
    return {"search tab": tab, "library view": library_view}


def window_search(qtbot: Any, window: Any) -> None:
    window.search_panel.set_preset("standard")  # the user's own budgets, as the command line without --preset
    window.search_panel.query.setPlainText(QUERY)
    window.search_panel.search_button.click()


def wait_idle(qtbot: Any, window: Any, timeout_ms: int = 240_000) -> None:
    qtbot.waitUntil(lambda: not window.services.search.running and window.search_panel.search_button.isEnabled(),
                    timeout=timeout_ms)


def agree(expected: set[str], views: dict[str, Any]) -> None:
    for name, value in views.items():
        if name == "history":
            assert value[1] == len(expected), (name, value, expected)
        else:
            assert value == expected, (name, value, expected)


def test_one_scripted_search_agrees_everywhere(qtbot, make_window, library: Library, env, settings,  # type: ignore[no-untyped-def]
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library_path = Path(settings.paths.library)
    window = make_window(stream=None, search_models=scripted_models)  # SearchService in a child process

    # 1. Finished, through the command line.
    done = cli("search", QUERY, "--json", env=env)
    assert done.returncode == 0, done.stderr
    out, finished_set = json_selected(done.stdout)
    cli_run = out["run_id"]
    assert out["status"] == "done" and len(finished_set) == 3
    live_false = {e.key for e in library.run_events(cli_run) if isinstance(e, PaperScored) and not e.selected}
    assert live_false, "the live rule must disagree with the final ranking for this test to mean anything"
    views = cli_views(cli_run, env, library, tmp_path)
    assert views["history"][0] == "done"
    agree(finished_set, views)
    agree(finished_set, {"library view": window_views(window, cli_run)["library view"]})

    # 2. Finished, through the window: the same search finds the same papers.
    window_search(qtbot, window)
    wait_idle(qtbot, window)
    assert window.state.finished is not None and window.state.finished.status.value == "done"
    gui_run = window.run_id
    assert gui_run != cli_run
    agree(finished_set, window_views(window, gui_run))
    agree(finished_set, cli_views(gui_run, env, library, tmp_path))

    # 3. Cancelled, through the command line (Ctrl-C mid-scoring).
    slow = {**env, "PASA_TEST_SELECTOR_DELAY": "0.4"}
    proc = cli_start("search", QUERY, "--json", env=slow)
    cancelled_run = wait_for_scores(library_path, 3, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    out, cancelled_set = json_selected(stdout)
    assert out["status"] == "cancelled" and out["run_id"] == cancelled_run
    views = cli_views(cancelled_run, env, library, tmp_path)
    assert views["history"][0] == "cancelled"
    agree(cancelled_set, views)
    agree(cancelled_set, {"library view": window_views(window, cancelled_run)["library view"]})

    # 4. Cancelled, through the window.
    monkeypatch.setenv("PASA_TEST_SELECTOR_DELAY", "0.4")
    window_search(qtbot, window)
    qtbot.waitUntil(lambda: len(window.state.scores) >= 3, timeout=240_000)
    window.search_panel.cancel_button.click()
    wait_idle(qtbot, window, 10_000)
    gui_cancelled = window.run_id
    assert library.run(gui_cancelled).status == "cancelled"
    views = window_views(window, gui_cancelled)
    agree(views["search tab"], views)
    agree(views["search tab"], cli_views(gui_cancelled, env, library, tmp_path))

    # 5. Killed with SIGKILL and resumed, through the command line. While it runs, a resume is refused.
    slower = {**env, "PASA_TEST_SELECTOR_DELAY": "2"}  # still running when the second process asks
    proc = cli_start("search", QUERY, "--json", env=slower)
    killed_run = wait_for_scores(library_path, 2, proc)
    held = cli("search", "--resume", str(killed_run), env=env)
    assert held.returncode == 2, held.stderr
    assert f"run {killed_run} is still being searched by process {proc.pid}" in held.stderr
    proc.kill()
    proc.communicate(timeout=30)
    assert cli_views(killed_run, env, library, tmp_path)["history"][0] == "interrupted"
    shown = cli("show", str(killed_run), env=env).stdout
    assert "status interrupted" in shown and f"pasa search --resume {killed_run}" in shown
    resumed = cli("search", "--resume", str(killed_run), "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    out, resumed_set = json_selected(resumed.stdout)
    assert out["status"] == "done" and out["run_id"] == killed_run and len(resumed_set) == 3
    views = cli_views(killed_run, env, library, tmp_path)
    assert views["history"][0] == "done"
    agree(resumed_set, views)
    agree(resumed_set, {"library view": window_views(window, killed_run)["library view"]})

    # 6. Killed with SIGKILL and resumed, through the window. Resume shows the recovered rows at once.
    window_search(qtbot, window)
    qtbot.waitUntil(lambda: len(window.state.scores) >= 3, timeout=240_000)
    gui_killed = window.run_id
    (child,) = [p for p in multiprocessing.active_children() if p.name == "pasa-search"]
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    wait_idle(qtbot, window, 30_000)
    assert any("ended unexpectedly" in m[2] for m in window.notifications.messages())
    assert library.run(gui_killed).status == "interrupted"
    recovered = library.run(gui_killed).found
    monkeypatch.setenv("PASA_TEST_SELECTOR_DELAY", "0")
    window.tabs.setCurrentIndex(LIBRARY_TAB)
    window.refresh_library()
    panel = window.library_panel
    row = next(i for i in range(panel.runs.count()) if panel.runs.item(i).data(Qt.ItemDataRole.UserRole) == gui_killed)
    panel.runs.setCurrentRow(row)
    assert panel.resume_button.isEnabled()
    started = time.monotonic()
    panel.resume_button.click()
    qtbot.waitUntil(lambda: window.search_panel.results.model.total() >= recovered
                    and len(window.state.papers) >= recovered, timeout=1_000)
    assert time.monotonic() - started < 1.0
    tree = window.search_panel.tree_model
    assert tree.rowCount(tree.index(0, 0)) > 0  # the recovered crawl tree: the search queries
    wait_idle(qtbot, window)
    assert window.state.finished is not None and window.state.finished.status.value == "done"
    assert window.run_id == gui_killed and library.run(gui_killed).status == "done"
    views = window_views(window, gui_killed)
    assert len(views["search tab"]) == 3
    agree(views["search tab"], views)
    agree(views["search tab"], cli_views(gui_killed, env, library, tmp_path))


def test_a_delete_and_a_merge_during_a_real_search_are_kept(library: Library, env, settings,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    """`pasa search` runs (a slow Selector); meanwhile the user deletes one of its papers and merges two
    others. When it finishes, the deleted paper is still gone and the merged one is one paper, listed once."""
    proc = cli_start("search", QUERY, "--json", env={**env, "PASA_TEST_SELECTOR_DELAY": "0.5"})
    run_id = wait_for_scores(Path(settings.paths.library), 1, proc)
    rows = library.run_papers(run_id)
    assert len(rows) >= 3
    gone, keep, drop = rows[0].paper, rows[1].paper, rows[2].paper
    assert library.delete_papers([gone.id]) == 1
    library.merge_papers(keep.id, drop.id)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    out = json.loads(stdout)
    assert out["status"] == "done"
    reported = {_title(p["title"]) for p in out["papers"]}
    assert {_title(gone.title), _title(drop.title)} <= reported  # the search did report them again
    titles = [_title(p.title) for p in library.search("", limit=None)]
    assert _title(gone.title) not in titles  # deleted stays deleted
    assert _title(drop.title) not in titles and titles.count(_title(keep.title)) == 1  # merged stays merged
    final = library.run_papers(run_id)
    assert [r.paper.id for r in final].count(keep.id) == 1
    assert gone.id not in {r.paper.id for r in final} and drop.id not in {r.paper.id for r in final}
    shown = cli("show", str(run_id), "--limit", "0", env=env).stdout
    assert shown.count(f"[{keep.id}]") == 1 and f"[{gone.id}]" not in shown
