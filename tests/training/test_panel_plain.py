"""The training panel says what is missing in plain words, and never leaves a training process behind."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMainWindow

from pasa_desktop import training_service as training
from tests.training.fake_job import FAKE_JOB, group_alive
from training.config import parse_config
from training.launch import LocalLauncher, children, read_handle
from training.metrics import MetricsWriter, read_status, write_status
from ui.training_needs import in_panel_terms
from ui.training_panel import TrainingPanel

# A job stuck where SIGTERM cannot reach Python code (here: it ignores the signal outright).
DEAF_JOB = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"]


def _panel(qtbot) -> TrainingPanel:  # type: ignore[no-untyped-def]
    panel = TrainingPanel(poll_ms=50)
    qtbot.addWidget(panel)
    return panel


def test_missing_torch_is_said_in_plain_words_and_nothing_starts(  # type: ignore[no-untyped-def]
    qtbot, small_index: Path, queries_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules is how Python itself spells "not importable": find_spec("torch") returns None
    # and `import torch` raises the very ModuleNotFoundError users saw.
    monkeypatch.setitem(sys.modules, "torch", None)
    panel = _panel(qtbot)
    panel.queries_file.setText(str(queries_file))
    panel.index_file.setText(str(small_index))
    panel.output_dir.setText(str(tmp_path / "job"))
    before = set(children())
    panel.local_selector_button.click()
    text = panel.status_label.text()
    assert "PyTorch" in text and "scripts/setup.sh dev" in text and "not installed" in text
    assert "Searching does not need it" in text
    assert "ModuleNotFoundError" not in text and "No module named" not in text
    # The same answer `pasa train local-selector` gives: the app layer's check, in the panel's words.
    config = training.local_selector_job(queries=queries_file, index=small_index, out=tmp_path / "job")
    assert text == f"Cannot launch: {in_panel_terms(training.check_job(config).text())}"
    assert panel.job_dir is None and panel.state == "idle" and panel.local_selector_button.isEnabled()
    assert set(children()) == before and not (tmp_path / "job").exists()  # no process, no job directory
    panel.shutdown()


def test_config_terms_become_the_panels_fields(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = _panel(qtbot)
    panel.kind.setCurrentText("sft")
    panel.model_path.setText(str(tmp_path))
    panel.launch()  # no SFT rows
    text = panel.status_label.text()
    assert "[data]" not in text and "job file" not in text
    assert "“SFT rows” field on the Job tab" in text and "Build Selector data" in text
    panel.kind.setCurrentText("local-selector")
    # No output folder given: the job goes where `pasa train local-selector` puts it (the app's data folder).
    assert panel.job_config().output_path == training.default_job_dir("local-selector")
    panel.launch_local_selector()  # no query file anywhere
    text = panel.status_label.text()
    assert "[data] queries" not in text and "“Queries” field" in text and "training a local Selector" in text
    panel.shutdown()


def test_a_failed_jobs_raw_error_is_translated(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A job run by another Python (or before the check existed) that died on the import is explained."""
    job = tmp_path / "job"
    writer = MetricsWriter(job)
    (job / "job.json").write_text(f'{{"mode": "local", "pid": {os.getpid()}}}')
    write_status(job, "running", "local-selector selector started", pid=os.getpid())
    panel = _panel(qtbot)
    panel.attach(job)
    write_status(job, "failed", "ModuleNotFoundError: No module named 'torch'")
    qtbot.waitUntil(lambda: panel.state == "failed", timeout=5000)
    text = panel.status_label.text()
    assert "ModuleNotFoundError" not in text and "PyTorch (torch) is not installed" in text
    assert "scripts/setup.sh dev" in text
    writer.close()
    panel.shutdown()


def test_in_panel_terms_leaves_plain_text_alone(tmp_path: Path) -> None:
    assert in_panel_terms("finished; checkpoint step-5") == "finished; checkpoint step-5"
    # The service's GPU note names the command line's switches; the panel names its own fields.
    config = training.job_from_form({"job": {"kind": "sft"}, "model": {"path": str(tmp_path)}})
    note = training.gpu_need(config, cuda=False)
    assert note is not None
    said = in_panel_terms(note.message)
    assert "“Launch on: ssh”" in said and "“Smoke run”" in said and "--smoke" not in said and "[launch]" not in said
    assert "“Model” field" in in_panel_terms("a ppo job needs [model] path (set path to a transformers checkpoint directory)")


def test_closing_the_window_stops_a_job_started_here(qtbot, small_index: Path, queries_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A real local-selector job started with the panel's button through the project's launcher:
    closing the window terminates its process group, and its pid is gone (reaped, no zombie)."""
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = TrainingPanel(poll_ms=50)
    window.setCentralWidget(panel)
    window.show()
    panel.queries_file.setText(str(queries_file))
    panel.index_file.setText(str(small_index))
    panel.output_dir.setText(str(tmp_path / "job"))
    panel.local_selector_button.click()
    qtbot.waitUntil(lambda: panel.job_dir is not None, timeout=10_000)
    assert panel.job_dir is not None
    pid = int(read_handle(panel.job_dir)["pid"])
    assert pid in children() and group_alive(pid)
    qtbot.waitUntil(lambda: panel.state == "running", timeout=30_000)  # its cancel handler is installed
    window.close()
    assert not group_alive(pid) and not Path(f"/proc/{pid}").exists()
    assert pid not in children()
    assert read_status(panel.job_dir)["state"] in ("cancelled", "failed", "finished")


def test_cancel_kills_a_job_that_ignores_sigterm(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = parse_config({"job": {"kind": "local-selector", "output_dir": str(tmp_path / "job")}})
    job = LocalLauncher().start(config, command=DEAF_JOB)
    pid = int(read_handle(job)["pid"])
    write_status(job, "running", "deaf job", pid=pid)
    panel = _panel(qtbot)
    panel.attach(job)
    qtbot.waitUntil(lambda: panel.cancel_button.isEnabled(), timeout=5000)
    started = time.monotonic()
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: panel.state == "cancelled", timeout=15_000)
    assert time.monotonic() - started < 12
    assert not group_alive(pid) and not Path(f"/proc/{pid}").exists()
    assert "killed" in read_status(job)["message"]
    panel.shutdown()


def test_closing_stops_every_job_this_app_started(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two jobs started here, the panel watching only the second: closing stops both."""
    launcher = LocalLauncher()
    jobs = []
    for name in ("a", "b"):
        config = parse_config({"job": {"kind": "local-selector", "output_dir": str(tmp_path / name)}})
        jobs.append(launcher.start(config, command=[*FAKE_JOB, str(tmp_path / name)]))
    pids = [int(read_handle(j)["pid"]) for j in jobs]
    panel = _panel(qtbot)
    panel.show()
    panel.attach(jobs[1])
    panel.close()
    for pid in pids:
        assert not group_alive(pid) and not Path(f"/proc/{pid}").exists()
