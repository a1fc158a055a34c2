"""The app layer's training service, directly: what a job needs, starting, following, pausing and
cancelling a real child process, checkpoints, and the same answer from `pasa train` as from the service."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from engine.errors import InputError
from pasa_desktop import training_service as training
from pasa_desktop.cli.main import main
from tests.training.fake_job import FAKE_JOB, group_alive
from training.launch import LocalLauncher, read_handle
from training.metrics import MetricsWriter, write_status


def _queries(tmp_path: Path) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text(json.dumps({"qid": "q1", "question": "graph networks", "answer": ["A"]}) + "\n")
    return path


def _index(tmp_path: Path) -> Path:
    path = tmp_path / "index.sqlite"
    path.write_bytes(b"")  # only its existence is checked before a start
    return path


def test_missing_torch_is_one_blocking_need_in_plain_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules is how Python spells "not importable": find_spec returns None.
    monkeypatch.setitem(sys.modules, "torch", None)
    config = training.local_selector_job(queries=_queries(tmp_path), index=_index(tmp_path), out=tmp_path / "job")
    check = training.check_job(config)
    assert not check.ok and [n.kind for n in check.blocking] == ["package"]
    text = check.text()
    assert "Training a local Selector needs PyTorch (torch)" in text and "not installed" in text
    assert training.SETUP_COMMAND in text and "Searching does not need it" in text
    with pytest.raises(InputError) as raised:
        training.start(config)  # refused before any process or directory exists
    assert raised.value.message == text
    assert not (tmp_path / "job").exists() and training.own_jobs() == []


def test_settings_and_missing_data_name_what_provides_them(tmp_path: Path) -> None:
    config = training.job_from_form({
        "job": {"kind": "sft", "output_dir": str(tmp_path / "job")},
        "model": {"path": str(tmp_path)},
        "data": {"eval": str(tmp_path / "held-out.jsonl")},
    })
    check = training.check_job(config)
    kinds = [n.kind for n in check.blocking]
    assert kinds[:2] == ["setting", "data"]
    text = check.text()
    assert "an sft job needs [data] train" in text  # the setting, and the command that builds the rows
    assert f"no held-out SFT rows file at {tmp_path / 'held-out.jsonl'}" in text
    assert "build them with `pasa train data`" in text
    local = training.local_selector_job(queries=None, index=tmp_path / "no-index.sqlite", out=tmp_path / "j")
    text = training.check_job(local).text()
    assert "needs [data] queries" in text and "no paper index file at" in text and "pasa index build" in text


def test_a_remote_job_is_not_checked_against_this_pythons_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    config = training.job_from_form({
        "job": {"kind": "ppo", "role": "crawler", "output_dir": str(tmp_path / "job")},
        "model": {"path": "/remote/models/sft"},  # the remote machine's own path
        "data": {"queries": str(_queries(tmp_path))},
        "launch": {"mode": "ssh", "host": "me@gpu-box"},
    })
    assert training.check_job(config, probe_gpu=True).ok
    assert training.gpu_need(config, cuda=False) is None


def test_a_full_run_without_a_gpu_is_a_note_not_a_refusal(tmp_path: Path) -> None:
    raw: dict[str, dict[str, object]] = {
        "job": {"kind": "sft", "output_dir": str(tmp_path / "job")}, "model": {"path": str(tmp_path)},
           "data": {"train": str(_queries(tmp_path))}}
    config = training.job_from_form(raw)
    note = training.gpu_need(config, cuda=False)
    assert note is not None and not note.blocking and note.kind == "gpu"
    assert "No CUDA GPU" in note.message and "--smoke" in note.message
    assert training.gpu_need(config, cuda=True) is None
    raw["job"]["smoke"] = True
    assert training.gpu_need(training.job_from_form(raw), cuda=False) is None


def test_plain_error_rewrites_a_missing_module_and_leaves_the_rest() -> None:
    text = training.plain_error("failed: ModuleNotFoundError: No module named 'trl.trainer'")
    assert text.startswith("failed: TRL is not installed") and "No module named" not in text
    assert training.plain_error("finished; checkpoint step-5") == "finished; checkpoint step-5"


def test_start_follow_pause_resume_and_cancel_a_real_process(tmp_path: Path) -> None:
    """A child that speaks the job protocol: the watch sees its points, pause stops its stream,
    cancel ends its whole process group (reaped, nothing left behind)."""
    config = training.job_from_form({"job": {"kind": "local-selector", "output_dir": str(tmp_path / "job")}})
    job = LocalLauncher().start(config, command=[*FAKE_JOB, str(tmp_path / "job")])
    pid = int(read_handle(job)["pid"])
    assert pid in training.own_jobs()
    watch = training.JobWatch(job)
    deadline = time.monotonic() + 30
    points: list[training.MetricPoint] = []
    while len(points) < 3 and time.monotonic() < deadline:
        points += watch.read_new()[0]
        time.sleep(0.05)
    assert [p.step for p in points[:3]] == [1.0, 2.0, 3.0] and points[0].values == {"loss": 1.0}
    assert watch.poll().state == "running"
    training.pause(job)
    assert watch.poll().state == "paused"
    time.sleep(0.3)
    watch.read_new()
    time.sleep(0.3)
    assert watch.read_new() == ([], [])  # a stopped process writes nothing
    training.resume(job)
    assert watch.poll().state == "running"
    training.control(job, "cancel")
    status = watch.poll()
    assert status.final and status.state == "cancelled"
    assert not group_alive(pid) and not Path(f"/proc/{pid}").exists()
    assert pid not in training.own_jobs()


def test_stop_own_jobs_leaves_no_process(tmp_path: Path) -> None:
    config = training.job_from_form({"job": {"kind": "local-selector", "output_dir": str(tmp_path / "a")}})
    job = LocalLauncher().start(config, command=[*FAKE_JOB, str(tmp_path / "a")])
    pid = int(read_handle(job)["pid"])
    training.stop_own_jobs(grace_s=3.0)
    assert not group_alive(pid) and training.own_jobs() == []


def test_a_killed_job_reads_failed(tmp_path: Path) -> None:
    config = training.job_from_form({"job": {"kind": "local-selector", "output_dir": str(tmp_path / "job")}})
    job = LocalLauncher().start(config, command=[*FAKE_JOB, str(tmp_path / "job")])
    pid = int(read_handle(job)["pid"])
    os.killpg(pid, 9)
    watch = training.JobWatch(job)
    deadline = time.monotonic() + 10
    while not watch.poll().final and time.monotonic() < deadline:
        time.sleep(0.05)
    status = watch.poll()
    assert status.state == "failed" and "without a final status" in status.message


def test_follow_reports_points_events_and_the_final_status(tmp_path: Path) -> None:
    writer = MetricsWriter(tmp_path)
    writer.write(step=1, loss=0.5, lr=1e-5, note="not a metric")
    writer.write(loss=0.4)  # no step: not a point
    writer.event("checkpoint", "saved step-1")
    writer.close()
    (tmp_path / "job.json").write_text(json.dumps({"mode": "local", "pid": 0}))
    write_status(tmp_path, "failed", "ModuleNotFoundError: No module named 'torch'")
    points: list[training.MetricPoint] = []
    events: list[training.JobEvent] = []
    statuses: list[training.JobStatus] = []
    final = training.follow(tmp_path, points.append, events.append, statuses.append, interval_s=0.01)
    assert points == [training.MetricPoint(1.0, {"loss": 0.5, "lr": 1e-5})]
    assert events == [training.JobEvent("checkpoint", "saved step-1")]
    assert statuses == [final] and final.state == "failed"
    assert "PyTorch (torch) is not installed" in final.message  # said in plain words, for the CLI too


def test_checkpoints_and_their_profiles(tmp_path: Path) -> None:
    from engine.models.cross_encoder import META_FILE

    root = tmp_path / "checkpoints"
    (root / "step-1").mkdir(parents=True)
    (root / "step-2.tmp").mkdir()  # an interrupted save: not listed
    time.sleep(0.01)
    (root / "final").mkdir()
    (root / "final" / META_FILE).write_text("{}")
    assert [p.name for p in training.checkpoints(tmp_path)] == ["step-1", "final"]
    assert training.checkpoint_profile(root / "final", "local").kind == "cross-encoder"
    assert training.checkpoint_profile(root / "step-1", "sft").kind == "transformers"
    write_status(tmp_path, "finished", "finished", checkpoint=str(root / "final"))
    assert training.final_checkpoint(tmp_path) == str(root / "final")
    training.register_profile(training.checkpoint_profile(root / "final", "local"))
    from pasa_desktop.settings import load_settings

    assert [p.path for p in load_settings().profiles if p.name == "local"] == [str(root / "final")]


def test_the_command_line_gives_the_services_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    queries, index = _queries(tmp_path), _index(tmp_path)
    out = tmp_path / "job"
    code = main(["train", "local-selector", "--queries", str(queries), "--index", str(index), "--out", str(out)])
    assert code == 2 and not out.exists()
    said = capsys.readouterr().err
    expected = training.check_job(training.local_selector_job(queries=queries, index=index, out=out)).text()
    assert said.strip() == f"pasa: {expected}"
    assert "ModuleNotFoundError" not in said
    job_file = tmp_path / "job.toml"
    job_file.write_text(f'[job]\nkind = "sft"\noutput_dir = "{out}"\n[model]\npath = "{tmp_path}"\n')
    assert main(["train", "sft", "--config", str(job_file)]) == 2
    said = capsys.readouterr().err
    assert said.strip() == f"pasa: {training.check_job(training.load_job(job_file)).text()}"
    assert "needs [data] train" in said and "PyTorch" in said


def test_data_preview_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        training.preview_data(tmp_path / "rows.jsonl")
    with pytest.raises(InputError, match="Crawler data needs a query file"):
        training.build_data("crawler", tmp_path / "out.jsonl", queries=None)


def test_library_decisions_are_described_as_a_file_you_write(tmp_path: Path) -> None:
    """No command exports the library's decisions: the hint gives the format instead of naming an export,
    and a file in that format is read."""
    missing = tmp_path / "decisions.jsonl"
    with pytest.raises(InputError) as raised:
        training.build_data("selector", tmp_path / "rows.jsonl", queries=None, decisions=missing)
    assert '"decision": "accept"|"reject"' in raised.value.message and "no export" in raised.value.message
    missing.write_text("".join(json.dumps({"query": "coded computation", "title": t, "abstract": "a", "decision": d})
                               + "\n" for t, d in (("Gradient Coding", "accept"), ("Word2vec", "reject"))))
    built = training.build_data("selector", tmp_path / "rows.jsonl", queries=None, decisions=missing)
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 2 and built is not None
