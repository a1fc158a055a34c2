"""A training job's configuration: one TOML file (`job.toml`), PaSa's hyper-parameters as defaults.

A job file looks like::

    [job]
    kind = "sft"            # sft | ppo | local-selector
    role = "selector"       # selector | crawler
    output_dir = "runs/selector-sft"

    [model]
    path = "/models/qwen2.5-7b-instruct"

    [data]
    train = "data/selector.jsonl"

    [launch]
    mode = "local"          # local | ssh | accelerate

Every section is optional except what the job kind needs; unknown keys are errors (a typo must
not silently train with a default).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import InputError

JobKind = Literal["sft", "ppo", "local-selector"]
Role = Literal["selector", "crawler"]
LaunchMode = Literal["local", "ssh", "accelerate"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobSection(_Strict):
    kind: JobKind = Field("sft", description="sft, ppo (Crawler only) or local-selector (CPU cross-encoder).")
    role: Role = Field("selector", description="Which PaSa model the job trains.")
    name: str = Field("", description="Shown in the panel; defaults to the output directory's name.")
    output_dir: str = Field("runs/job", description="Metrics, logs and checkpoints go here (relative to job.toml).")
    smoke: bool = Field(False, description="Run 2 steps on CPU (a configuration check, not training).")
    seed: int = Field(0, description="Random seed.")


class ModelSection(_Strict):
    path: str = Field("", description="Base checkpoint directory (transformers format). PPO: the SFT policy.")
    lora: bool = Field(False, description="Train LoRA adapters (peft) instead of all weights.")
    lora_r: int = Field(16, ge=1, description="LoRA rank.")
    lora_alpha: int = Field(32, ge=1, description="LoRA alpha.")
    lora_dropout: float = Field(0.05, ge=0.0, le=1.0, description="LoRA dropout.")
    dtype: str = Field("auto", description="auto (bf16 on CUDA, fp32 on CPU), bfloat16 or float32.")
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory on large models.")


class DataSection(_Strict):
    train: str = Field("", description="SFT rows, JSON lines of {\"messages\": [...]}.")
    eval: str = Field("", description="Optional held-out SFT rows for an eval loss.")
    queries: str = Field("", description="PPO: AutoScholarQuery-format query file (gold papers give rewards).")
    index: str = Field("", description="PPO / local-selector: the offline paper index (SQLite) to search.")
    fulltext: str = Field("", description="PPO: full texts (unarXive JSON lines or .tar.gz) for expand sessions.")
    decisions: str = Field("", description="local-selector: optional JSON lines of accept/reject decisions (query, title, abstract, decision).")


class SFTSection(_Strict):
    learning_rate: float = Field(1e-5, gt=0, description="PaSa: 1e-5.")
    epochs: float = Field(1.0, gt=0, description="PaSa: 1 epoch.")
    max_length: int = Field(1024, ge=16, description="PaSa: 1024 tokens; longer rows are truncated.")
    batch_size: int = Field(4, ge=1, description="Per-device batch size.")
    grad_accum: int = Field(1, ge=1, description="Gradient accumulation steps.")
    max_steps: int = Field(-1, description="Stop after this many optimiser steps (-1 = the epochs).")
    save_steps: int = Field(200, ge=1, description="Checkpoint every this many steps.")
    logging_steps: int = Field(1, ge=1, description="Write a metrics line every this many steps.")
    warmup_ratio: float = Field(0.03, ge=0, le=1, description="Linear warm-up fraction.")


class PPOSection(_Strict):
    alpha: float = Field(1.5, description="Reward per new relevant paper (PaSa α).")
    action_cost: float = Field(0.1, ge=0, description="Cost of a Search or Expand action (PaSa c); Stop costs 0.")
    gamma0: float = Field(1.0, ge=0, le=1, description="Discount between actions in a session (γ0).")
    gamma1: float = Field(0.1, ge=0, description="Weight of the value of each expand session a paper opens (γ1).")
    beta: float = Field(0.1, ge=0, description="KL penalty to the SFT policy (β).")
    clip: float = Field(0.2, gt=0, description="PPO ratio clip ε.")
    value_weight: float = Field(10.0, ge=0, description="Value-loss weight η.")
    learning_rate: float = Field(1e-6, gt=0, description="PaSa: 1e-6.")
    ppo_epochs: int = Field(2, ge=1, description="Optimisation passes over each batch of sessions.")
    warmup_steps: int = Field(50, ge=0, description="Value-only warm-up steps (policy frozen).")
    steps: int = Field(250, ge=1, description="Rollout/update steps.")
    queries_per_step: int = Field(4, ge=1, description="User queries rolled out per step.")
    max_new_tokens: int = Field(128, ge=8, description="Token budget of one Crawler reply.")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature of rollouts.")
    results_per_query: int = Field(10, ge=1, description="Papers each [Search] action retrieves.")
    expand_sessions: int = Field(
        4, ge=0, description="Expand sessions rolled out per search session (relevant papers with a full text)."
    )
    selector: str = Field("", description="Selector model profile (TOML/JSON file) for I(q,p); empty = gold only.")
    save_steps: int = Field(50, ge=1, description="Checkpoint every this many steps.")


class LocalSelectorSection(_Strict):
    architecture: Literal["bi-encoder", "cross-encoder"] = Field(
        "bi-encoder", description="bi-encoder (MiniLM embeddings, cosine; measured better) or cross-encoder."
    )
    negatives_per_query: int = Field(4, ge=1, description="Retrieved non-gold papers per training query.")
    candidates: int = Field(30, ge=2, description="Retrieval depth from which negatives are drawn.")
    max_length: int = Field(128, ge=32, description="Tokens of query + title + abstract seen by the cross-encoder.")
    batch_size: int = Field(16, ge=1, description="Pairs per optimiser step.")
    learning_rate: float = Field(3e-5, gt=0, description="AdamW learning rate.")
    epochs: float = Field(2.0, gt=0, description="Passes over the pairs (bi-encoder: over the gold pairs).")
    calibration_fraction: float = Field(
        0.1, ge=0.0, lt=0.5, description="Training queries held out to calibrate the 0.5 threshold."
    )
    max_minutes: float = Field(15.0, gt=0, description="Stop training (and save) after this many minutes.")
    threads: int = Field(0, ge=0, description="CPU threads; 0 = all cores.")


class LaunchSection(_Strict):
    mode: LaunchMode = Field("local", description="local process, ssh to a remote machine, or accelerate launch.")
    python: str = Field("", description="Python interpreter on the target (default: this one locally, python3 remotely).")
    host: str = Field("", description="ssh: user@host (an ssh config alias works).")
    port: int = Field(22, ge=1, le=65535, description="ssh port.")
    identity_file: str = Field("", description="ssh private key; empty = ssh's defaults.")
    remote_dir: str = Field("pasa-jobs", description="ssh: working directory on the remote (relative to home).")
    ssh_options: list[str] = Field(default_factory=list, description="Extra ssh -o options, e.g. StrictHostKeyChecking=no.")
    num_processes: int = Field(1, ge=1, description="accelerate: processes (GPUs) in all.")
    num_machines: int = Field(1, ge=1, description="accelerate: machines.")
    machine_rank: int = Field(0, ge=0, description="accelerate: this machine's rank.")
    main_process_ip: str = Field("", description="accelerate: rank-0 machine address (multi-node).")
    main_process_port: int = Field(29500, ge=1, le=65535, description="accelerate: rank-0 port.")
    zero_stage: int = Field(3, ge=0, le=3, description="DeepSpeed ZeRO stage of the generated config.")
    offload: bool = Field(False, description="DeepSpeed: offload optimiser and parameters to CPU.")


class JobConfig(_Strict):
    job: JobSection = Field(default_factory=JobSection)
    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection = Field(default_factory=DataSection)
    sft: SFTSection = Field(default_factory=SFTSection)
    ppo: PPOSection = Field(default_factory=PPOSection)
    local_selector: LocalSelectorSection = Field(default_factory=LocalSelectorSection)
    launch: LaunchSection = Field(default_factory=LaunchSection)
    # Where the file was read from: relative paths in it are relative to this directory.
    base_dir: str = Field("", exclude=True)

    def resolve(self, value: str) -> Path:
        """A path from the file, made absolute against the file's directory (~ expanded)."""
        path = Path(value).expanduser()
        if not path.is_absolute() and self.base_dir:
            path = Path(self.base_dir) / path
        return path

    @property
    def output_path(self) -> Path:
        return self.resolve(self.job.output_dir)

    def validate_for_run(self) -> None:
        """Checks that need the job kind: raise InputError naming the missing setting."""
        kind = self.job.kind
        if kind in ("sft", "ppo") and not self.model.path:
            raise InputError(f"a {kind} job needs [model] path", hint="set path to a transformers checkpoint directory")
        if kind == "sft" and not self.data.train:
            raise InputError("an sft job needs [data] train", hint="build one with `pasa train data`")
        if kind == "ppo":
            if self.job.role != "crawler":
                raise InputError("session-level PPO trains the Crawler", hint="set [job] role = \"crawler\"")
            if not self.data.queries:
                raise InputError("a ppo job needs [data] queries", hint="an AutoScholarQuery-format JSONL file")
        if kind == "local-selector" and not self.data.queries:
            raise InputError("a local-selector job needs [data] queries", hint="e.g. ../shared/data/queries/train.jsonl")

    def to_toml(self) -> str:
        """The configuration as TOML text (what the panel writes to job.toml)."""
        return dumps_toml(self.model_dump(exclude={"base_dir"}))


def load_config(path: Path) -> JobConfig:
    """Read and validate a job.toml; errors name the file and the offending key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"job file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from exc
    return parse_config(raw, base_dir=path.resolve().parent, origin=str(path))


def parse_config(raw: dict[str, Any], *, base_dir: Path | None = None, origin: str = "job") -> JobConfig:
    try:
        config = JobConfig.model_validate({**raw, "base_dir": str(base_dir or "")})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{origin}: {problems}") from exc
    return config


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, dict[str, Any]]) -> str:
    """A two-level dict (sections of scalars and lists) as TOML; enough for JobConfig."""
    lines: list[str] = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(val)}" for key, val in values.items())
        lines.append("")
    return "\n".join(lines)
