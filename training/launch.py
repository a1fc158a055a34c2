"""Starting, watching, pausing and cancelling training jobs: on this machine, or on another over SSH.

Both launchers start the same entry point (`python -m training.runner JOB_DIR`) in its own session
(so it survives the app closing and can be paused as a process group) and then only read the files
it writes. A local job directory always mirrors the job: `job.toml`, `job.json` (how to reach the
process), `metrics.jsonl`, `status.json`, `log.txt`. For a remote job, `poll()` copies new metric
bytes and the status over SSH into that mirror, so the panel and `pasa train attach` read a remote
job exactly like a local one, and re-attaching after a restart resumes from the mirror's size.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InputError
from training.config import JobConfig, load_config
from training.metrics import FINAL_STATES, LOG_FILE, METRICS_FILE, STATUS_FILE, read_status, write_status
from training.runner import JOB_FILE

REPO = Path(__file__).resolve().parents[1]
HANDLE_FILE = "job.json"
CODE_PATHS = ("engine", "training", "pyproject.toml")
SSH_DEAD = 255  # ssh's own exit status when the connection fails


@dataclass
class PollResult:
    state: str
    message: str
    new_bytes: int = 0
    connection_error: str = ""


def prepare_job_dir(config: JobConfig) -> Path:
    """Create the job directory and write the job file the runner reads (paths made absolute)."""
    out = config.output_path.resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = config.data.model_copy(
        update={k: str(config.resolve(v)) for k, v in config.data.model_dump().items() if v}
    )
    model = config.model.model_copy(update={"path": str(config.resolve(config.model.path))} if config.model.path else {})
    ppo = config.ppo.model_copy(update={"selector": str(config.resolve(config.ppo.selector))} if config.ppo.selector else {})
    fixed = config.model_copy(update={"data": data, "model": model, "ppo": ppo,
                                      "job": config.job.model_copy(update={"output_dir": "."})})
    (out / JOB_FILE).write_text(fixed.to_toml(), encoding="utf-8")
    if not (out / STATUS_FILE).exists():
        write_status(out, "queued", "waiting to start")
    return out


def read_handle(job_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((job_dir / HANDLE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{job_dir} is not a training job directory (no readable {HANDLE_FILE})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{job_dir / HANDLE_FILE} is malformed")
    return data


def _write_handle(job_dir: Path, handle: dict[str, Any]) -> None:
    (job_dir / HANDLE_FILE).write_text(json.dumps(handle, indent=2), encoding="utf-8")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# The local jobs this process started, by pid: kept so each is reaped when it ends (no zombie left
# while the app runs) and so the app can stop its own jobs' process groups when it closes.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _group_gone(pid: int) -> bool:
    """No process is left in the group `pid` leads (its leader reaped first when it is our child)."""
    proc = _CHILDREN.get(pid)
    if proc is not None and proc.poll() is not None:
        del _CHILDREN[pid]
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def stop_group(pid: int, *, grace_s: float = 5.0) -> bool:
    """Stop a job's whole process group: SIGTERM (after SIGCONT: a paused job must run to handle it),
    then SIGKILL whatever is left after `grace_s`. True when the group is gone (a job that never
    stops is killed, so only a group in another user's hands can remain)."""
    import time

    if _group_gone(pid):
        return True
    _send(pid, "cancel")
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if _group_gone(pid):
            return True
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if _group_gone(pid):
            return True
        time.sleep(0.05)
    return _group_gone(pid)


def children() -> list[int]:
    """Pids of the local jobs this process started that have not been reaped yet."""
    return [pid for pid in list(_CHILDREN) if not _group_gone(pid)]


class LocalLauncher:
    """Runs the job as a child process of its own session on this machine."""

    def __init__(self, python: str = "") -> None:
        self.python = python or sys.executable

    def start(self, config: JobConfig, *, command: list[str] | None = None) -> Path:
        job_dir = prepare_job_dir(config)
        argv = command or [self.python, "-m", "training.runner", str(job_dir)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        env.setdefault("HF_HUB_OFFLINE", "1")
        with (job_dir / LOG_FILE).open("ab") as log:
            proc = subprocess.Popen(
                argv, cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        _write_handle(job_dir, {"mode": "local", "pid": proc.pid, "argv": argv})
        self._proc = proc  # kept so the parent reaps it (no zombie) when it is polled
        _CHILDREN[proc.pid] = proc  # …by any launcher: the panel polls through a new one (launcher_for)
        return job_dir

    def poll(self, job_dir: Path) -> PollResult:
        status = read_status(job_dir)
        state = str(status.get("state", "queued"))
        pid = int(read_handle(job_dir).get("pid", 0))
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.pid == pid:
            proc.poll()
        if pid in _CHILDREN:
            _group_gone(pid)  # reaps the leader once it has ended
        if state not in FINAL_STATES and pid and not _pid_alive(pid):
            message = "the training process ended without a final status (killed, or out of memory?); see log.txt"
            write_status(job_dir, "failed", message)
            return PollResult("failed", message)
        return PollResult(state, str(status.get("message", "")))

    def signal(self, job_dir: Path, action: str) -> None:
        pid = int(read_handle(job_dir).get("pid", 0))
        if action == "cancel" and pid:
            # The whole group, and waited for: a job stuck in native code past the grace is killed,
            # so cancelling never leaves a process behind.
            stop_group(pid)
            if read_status(job_dir).get("state") not in FINAL_STATES:
                write_status(job_dir, "cancelled", "cancelled (it did not stop on SIGTERM and was killed)")
            return
        if not pid or not _pid_alive(pid):
            return
        _send(pid, action)
        _note_action(job_dir, action)


def _send(pid: int, action: str) -> None:
    sig = {"pause": signal.SIGSTOP, "resume": signal.SIGCONT, "cancel": signal.SIGTERM}[action]
    try:
        if action == "cancel":
            os.killpg(pid, signal.SIGCONT)  # a paused process must run to handle SIGTERM
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _note_action(job_dir: Path, action: str) -> None:
    status = read_status(job_dir)
    if status.get("state") in FINAL_STATES:
        return
    if action == "pause":
        write_status(job_dir, "paused", "paused by the user")
    elif action == "resume":
        write_status(job_dir, "running", "resumed")


class SSHLauncher:
    """Runs the job on a remote machine: code and data copied over SSH (tar), started with nohup/setsid."""

    def __init__(
        self,
        host: str,
        *,
        port: int = 22,
        identity_file: str = "",
        options: list[str] | None = None,
        remote_dir: str = "pasa-jobs",
        python: str = "python3",
        timeout_s: float = 60.0,
    ) -> None:
        if not host:
            raise InputError("an SSH job needs [launch] host", hint="e.g. host = \"me@gpu-box\"")
        self.host, self.port, self.identity_file = host, port, identity_file
        self.options = list(options or [])
        self.remote_dir = remote_dir.rstrip("/") or "pasa-jobs"
        self.python = python or "python3"
        self.timeout_s = timeout_s

    @classmethod
    def from_handle(cls, handle: dict[str, Any]) -> SSHLauncher:
        return cls(
            handle["host"], port=int(handle.get("port", 22)), identity_file=handle.get("identity_file", ""),
            options=list(handle.get("options", [])), remote_dir=handle.get("remote_dir", "pasa-jobs"),
            python=handle.get("python", "python3"),
        )

    def ssh_argv(self) -> list[str]:
        argv = ["ssh", "-p", str(self.port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
        if self.identity_file:
            argv += ["-i", os.path.expanduser(self.identity_file)]
        for option in self.options:
            argv += ["-o", option]
        return [*argv, self.host]

    def run(self, command: str, *, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                [*self.ssh_argv(), command], input=stdin, capture_output=True, timeout=self.timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(exc.cmd, SSH_DEAD, b"", b"ssh timed out")

    def _checked(self, command: str, *, stdin: bytes | None = None, what: str) -> bytes:
        done = self.run(command, stdin=stdin)
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()[-400:]
            raise InputError(f"{what} on {self.host} failed (exit {done.returncode}): {detail}")
        return done.stdout

    def _upload(self, sources: list[tuple[Path, str]], remote_parent: str) -> None:
        """Copy local files/dirs into remote_parent/<arcname> with tar over the SSH connection."""
        import io
        import tarfile

        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path, arcname in sources:
                tar.add(str(path), arcname=arcname, filter=_skip_caches)
        q = shlex.quote(remote_parent)
        self._checked(f"mkdir -p {q} && tar xzf - -C {q}", stdin=buffer.getvalue(), what="copying files")

    def start(self, config: JobConfig) -> Path:
        local_dir = prepare_job_dir(config)
        name = local_dir.name
        remote_job = f"{self.remote_dir}/jobs/{name}"
        remote_code = f"{self.remote_dir}/code"
        self._upload([(REPO / p, p) for p in CODE_PATHS if (REPO / p).exists()], remote_code)
        # Data files referenced by the job travel with it; the model path is the remote's own.
        local_cfg = load_config(local_dir / JOB_FILE)
        uploads: list[tuple[Path, str]] = []
        data_updates: dict[str, str] = {}
        for key, value in local_cfg.data.model_dump().items():
            if value and Path(value).exists():
                uploads.append((Path(value), f"data/{key}-{Path(value).name}"))
                data_updates[key] = f"data/{key}-{Path(value).name}"
        remote_cfg = local_cfg.model_copy(update={"data": local_cfg.data.model_copy(update=data_updates)})
        staging = local_dir / ".remote-job.toml"
        staging.write_text(remote_cfg.to_toml(), encoding="utf-8")
        uploads.append((staging, JOB_FILE))
        self._upload(uploads, remote_job)
        staging.unlink()
        q_job, q_code = shlex.quote(remote_job), shlex.quote(remote_code)
        launch = (
            # `;` not `&&` before the last command: `&` must background only the runner, or the
            # backgrounded list would hold the SSH channel open.
            f"cd ~ && cd {q_job} || exit 1; J=$(pwd); cd ~ && cd {q_code} || exit 1; "
            f"PYTHONPATH=. HF_HUB_OFFLINE=1 setsid nohup {shlex.quote(self.python)} -m training.runner \"$J\" "
            f"> \"$J/{LOG_FILE}\" 2>&1 < /dev/null & echo $!"
        )
        pid = int(self._checked(launch, what="starting the job").decode().strip().splitlines()[-1])
        _write_handle(local_dir, {
            "mode": "ssh", "host": self.host, "port": self.port, "identity_file": self.identity_file,
            "options": self.options, "remote_dir": self.remote_dir, "remote_job": remote_job,
            "python": self.python, "pid": pid,
        })
        return local_dir

    def poll(self, job_dir: Path) -> PollResult:
        """Copy new metric lines and the status into the local mirror. A dead connection is reported, not fatal."""
        handle = read_handle(job_dir)
        metrics = job_dir / METRICS_FILE
        offset = metrics.stat().st_size if metrics.exists() else 0
        q = shlex.quote(handle["remote_job"])
        pid = int(handle.get("pid", 0))
        command = (
            f"cd {q} 2>/dev/null || exit 3; (cat {STATUS_FILE} 2>/dev/null || printf '{{}}'); echo; "
            f"(kill -0 {pid} 2>/dev/null && echo alive || echo dead); "
            f"tail -c +{offset + 1} {METRICS_FILE} 2>/dev/null; exit 0"
        )
        done = self.run(command)
        local = read_status(job_dir)
        if done.returncode == 3:
            message = f"the job directory {handle['remote_job']} is gone from {self.host}"
            write_status(job_dir, "failed", message)
            return PollResult("failed", message)
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip()[-300:] or f"exit {done.returncode}"
            return PollResult(
                str(local.get("state", "queued")),
                f"connection to {self.host} lost ({reason}); the job keeps running there — attach again later",
                connection_error=reason,
            )
        # Output: the status JSON (one line), "alive"/"dead", then the new metric bytes.
        parts = done.stdout.split(b"\n", 2)
        status_text = parts[0] if parts else b"{}"
        alive_line = parts[1] if len(parts) > 1 else b""
        new_bytes = parts[2] if len(parts) > 2 else b""
        # Keep only complete lines: a partly written last line is fetched whole next time.
        cut = new_bytes.rfind(b"\n") + 1
        if cut:
            with metrics.open("ab") as fh:
                fh.write(new_bytes[:cut])
        try:
            status = json.loads(status_text or b"{}")
        except ValueError:
            status = {}
        state = str(status.get("state", "queued"))
        message = str(status.get("message", ""))
        if state not in FINAL_STATES and alive_line.strip() == b"dead":
            state, message = "failed", "the remote training process ended without a final status (killed?)"
        if local.get("state") == "paused" and state == "running":
            state, message = "paused", str(local.get("message", "paused"))
        write_status(job_dir, state, message)  # type: ignore[arg-type]  # state is a JobState read back from the status file, typed str
        return PollResult(state, message, new_bytes=cut)

    def signal(self, job_dir: Path, action: str) -> None:
        handle = read_handle(job_dir)
        pid = int(handle.get("pid", 0))
        sig = {"pause": "STOP", "resume": "CONT", "cancel": "TERM"}[action]
        prefix = f"kill -CONT -- -{pid} 2>/dev/null; " if action == "cancel" else ""
        self._checked(f"{prefix}kill -{sig} -- -{pid}", what=f"{action} the job")
        _note_action(job_dir, action)

    def fetch(self, job_dir: Path, remote_path: str, local_target: Path) -> Path:
        """Copy a remote checkpoint (or any directory under the job) into the local mirror."""
        import io
        import tarfile

        handle = read_handle(job_dir)
        q = shlex.quote(handle["remote_job"])
        data = self._checked(f"cd {q} && tar czf - {shlex.quote(remote_path)}", what="fetching a checkpoint")
        local_target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(local_target, filter="data")
        return local_target / remote_path


def _skip_caches(info: Any) -> Any:
    name = Path(info.name).name
    return None if name in ("__pycache__", ".mypy_cache", ".pytest_cache") or name.endswith(".pyc") else info


def launcher_for(job_dir: Path) -> LocalLauncher | SSHLauncher:
    """The launcher that can watch an existing job (what `attach` uses)."""
    handle = read_handle(job_dir)
    if handle.get("mode") == "ssh":
        return SSHLauncher.from_handle(handle)
    return LocalLauncher()


def start_job(config: JobConfig) -> Path:
    """Start a job the way its [launch] section says; returns the local job directory."""
    launch = config.launch
    if config.job.smoke and launch.mode == "accelerate":
        launch = launch.model_copy(update={"mode": "local"})  # a smoke run is one CPU process
    if launch.mode == "ssh":
        return SSHLauncher(
            launch.host, port=launch.port, identity_file=launch.identity_file, options=launch.ssh_options,
            remote_dir=launch.remote_dir, python=launch.python or "python3",
        ).start(config)
    if launch.mode == "accelerate":
        from training.deepspeed import accelerate_command, write_accelerate_files

        job_dir = prepare_job_dir(config)
        write_accelerate_files(config, job_dir)
        return LocalLauncher(launch.python).start(config, command=accelerate_command(config, job_dir))
    return LocalLauncher(launch.python).start(config)
