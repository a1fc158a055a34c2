"""Launchers: a local process and SSH (a real sshd on loopback when openssh-server is installed).

Both watch a job only through the files it writes, so pause, cancel, a killed process and a dead
connection are all seen the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.training.fake_job import FAKE_JOB
from training.config import parse_config
from training.launch import LocalLauncher, SSHLauncher, launcher_for, read_handle
from training.metrics import FINAL_STATES, read_metrics, read_status


def _wait(launcher: LocalLauncher | SSHLauncher, job: Path, states: set[str] | frozenset[str], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = launcher.poll(job).state
        if state in states:
            return state
        time.sleep(0.2)
    raise AssertionError(f"job did not reach {states}: {read_status(job)}")


def _wait_metrics(job: Path, n: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(read_metrics(job)) < n:
        assert time.monotonic() < deadline, "no metrics"
        time.sleep(0.1)


def test_local_pause_resume_cancel(tmp_path: Path) -> None:
    config = parse_config({"job": {"kind": "local-selector", "output_dir": str(tmp_path / "job")}})
    launcher = LocalLauncher()
    job = launcher.start(config, command=[*FAKE_JOB, str(tmp_path / "job")])
    assert (job / "job.toml").exists() and read_handle(job)["mode"] == "local"
    _wait_metrics(job, 3)
    launcher.signal(job, "pause")
    assert launcher.poll(job).state == "paused"
    time.sleep(0.3)
    frozen = len(read_metrics(job))
    time.sleep(0.5)
    assert len(read_metrics(job)) == frozen  # a paused job writes nothing
    launcher.signal(job, "resume")
    _wait_metrics(job, frozen + 2)
    launcher.signal(job, "cancel")
    assert _wait(launcher, job, FINAL_STATES) == "cancelled"


def test_local_killed_process_is_reported(tmp_path: Path) -> None:
    config = parse_config({"job": {"kind": "local-selector", "output_dir": str(tmp_path / "job")}})
    launcher = LocalLauncher()
    job = launcher.start(config, command=[*FAKE_JOB, str(tmp_path / "job")])
    _wait_metrics(job, 2)
    os.kill(read_handle(job)["pid"], signal.SIGKILL)
    assert _wait(launcher, job, FINAL_STATES) == "failed"
    assert "without a final status" in read_status(job)["message"]
    # Re-attaching later (a fresh launcher, as after an app restart) sees the same final state.
    assert launcher_for(job).poll(job).state == "failed"


@pytest.mark.slow
def test_local_real_runner_smoke_job(tiny_qwen2: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    row = {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "True\nReason: x"}]}
    rows.write_text(json.dumps(row) + "\n")
    config = parse_config({
        "job": {"kind": "sft", "smoke": True, "output_dir": str(tmp_path / "job")},
        "model": {"path": str(tiny_qwen2)},
        "data": {"train": str(rows)},
    })
    launcher = LocalLauncher()
    job = launcher.start(config)
    assert _wait(launcher, job, FINAL_STATES, timeout=300) == "finished", (job / "log.txt").read_text()[-2000:]
    assert [r["step"] for r in read_metrics(job) if "loss" in r and "event" not in r] == [1, 2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def loopback_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A real OpenSSH server on 127.0.0.1 with a throw-away host key and client key."""
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    if sshd is None or shutil.which("ssh-keygen") is None:
        if os.environ.get("CI", "").lower() == "true" and os.environ.get("PASA_REQUIRE_SSHD"):
            pytest.fail("openssh-server is not installed")
        pytest.skip("openssh-server is not installed (apt-get install openssh-server)")
    root = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True)
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    os.chmod(root / "authorized_keys", 0o600)
    try:
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege-separation directory sshd insists on
    except OSError as exc:
        pytest.skip(f"cannot prepare sshd's /run/sshd ({exc}); the test needs root")
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPidFile {root / 'sshd.pid'}\n"
        "StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\n"
    )
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    try:
        yield {
            "host": f"{user}@127.0.0.1", "port": port, "identity_file": str(root / "client_key"),
            "options": ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"],
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.slow
def test_ssh_job_streams_survives_a_dead_connection_and_is_cancelled(
    loopback_sshd: dict[str, object], tmp_path: Path
) -> None:
    remote_root = tmp_path / "remote"
    launcher = SSHLauncher(
        str(loopback_sshd["host"]), port=int(loopback_sshd["port"]),  # type: ignore[call-overload]
        identity_file=str(loopback_sshd["identity_file"]), options=list(loopback_sshd["options"]),  # type: ignore[call-overload]
        remote_dir=str(remote_root), python=sys.executable,
    )
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"qid": "q", "question": "x", "answer": []}\n')
    # The real runner on the remote, with a job it must reject (no index): a final status comes back.
    config = parse_config({
        "job": {"kind": "local-selector", "output_dir": str(tmp_path / "bad")},
        "data": {"queries": str(queries)},
    })
    bad = launcher.start(config)
    assert (remote_root / "code" / "training" / "runner.py").exists()
    assert (remote_root / "jobs" / "bad" / "data").is_dir()  # the data travelled with the job
    assert _wait(launcher, bad, FINAL_STATES) == "failed"
    assert "index" in read_status(bad)["message"]

    # A long job (the protocol's fake) copied as test code: metrics stream back into the local mirror.
    config = parse_config({"job": {"kind": "local-selector", "output_dir": str(tmp_path / "long")}})
    job = launcher.start(config)
    handle = read_handle(job)
    _wait(launcher, job, FINAL_STATES)  # the real runner rejects this job at once (no queries)
    fake = (Path(__file__).parent / "fake_job.py").read_text()
    upload = launcher.run(
        f"mkdir -p {remote_root}/code/tests/training && cat > {remote_root}/code/tests/training/fake_job.py && "
        f"touch {remote_root}/code/tests/__init__.py {remote_root}/code/tests/training/__init__.py",
        stdin=fake.encode(),
    )
    assert upload.returncode == 0, upload.stderr
    done = launcher.run(
        f"rm -f {handle['remote_job']}/status.json {handle['remote_job']}/metrics.jsonl; "
        f"cd {remote_root}/code; PYTHONPATH=. setsid nohup {sys.executable} -m tests.training.fake_job "
        f"{handle['remote_job']} > /dev/null 2>&1 < /dev/null & echo $!"
    )
    assert done.returncode == 0, done.stderr
    handle["pid"] = int(done.stdout.decode().split()[-1])
    (job / "job.json").write_text(json.dumps(handle))
    _wait(launcher, job, {"running"})
    deadline = time.monotonic() + 30
    while len(read_metrics(job)) < 5 and time.monotonic() < deadline:
        launcher.poll(job)
        time.sleep(0.2)
    seen = len(read_metrics(job))
    assert seen >= 5

    # The connection dies (wrong port): reported, nothing lost, the job keeps running there.
    dead = SSHLauncher.from_handle({**handle, "port": _free_port()})
    result = dead.poll(job)
    assert result.connection_error and "keeps running" in result.message
    assert result.state == "running"

    # Re-attach (a launcher rebuilt from job.json, as after an app restart) resumes from the mirror.
    again = launcher_for(job)
    assert isinstance(again, SSHLauncher)
    again.identity_file = str(loopback_sshd["identity_file"])
    again.poll(job)
    steps = [r["step"] for r in read_metrics(job)]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) > seen  # no gap, no duplicate
    again.signal(job, "pause")
    assert again.poll(job).state == "paused"
    again.signal(job, "cancel")
    assert _wait(again, job, FINAL_STATES) == "cancelled"
