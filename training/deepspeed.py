"""Multi-GPU / multi-node jobs: an `accelerate launch` command and the DeepSpeed ZeRO config it reads.

The files are generated into the job directory (`accelerate.yaml`, `ds_config.json`) so a user can
inspect or reuse them; "auto" values are filled in by the HF Trainer from the job's SFT settings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from engine.errors import InputError
from training.config import JobConfig

ACCELERATE_FILE = "accelerate.yaml"
DEEPSPEED_FILE = "ds_config.json"


def deepspeed_config(config: JobConfig) -> dict[str, Any]:
    launch = config.launch
    zero: dict[str, Any] = {
        "stage": launch.zero_stage,
        "overlap_comm": True,
        "contiguous_gradients": True,
        "reduce_bucket_size": "auto",
    }
    if launch.zero_stage == 3:
        zero.update({
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
            "stage3_max_live_parameters": 1e9,
            "stage3_max_reuse_distance": 1e9,
            # Checkpoints must be loadable without DeepSpeed (model profiles, GGUF conversion).
            "stage3_gather_16bit_weights_on_model_save": True,
        })
    if launch.offload:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
        if launch.zero_stage == 3:
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    return {
        "bf16": {"enabled": "auto"},
        "zero_optimization": zero,
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "steps_per_print": 1_000_000,
        "wall_clock_breakdown": False,
    }


def accelerate_yaml(config: JobConfig, ds_path: Path) -> str:
    launch = config.launch
    lines = [
        "compute_environment: LOCAL_MACHINE",
        "distributed_type: DEEPSPEED",
        "deepspeed_config:",
        f"  deepspeed_config_file: {json.dumps(str(ds_path))}",
        f"  zero3_init_flag: {'true' if launch.zero_stage == 3 else 'false'}",
        f"machine_rank: {launch.machine_rank}",
        f"main_process_ip: {json.dumps(launch.main_process_ip) if launch.main_process_ip else 'null'}",
        f"main_process_port: {launch.main_process_port}",
        "main_training_function: main",
        f"num_machines: {launch.num_machines}",
        f"num_processes: {launch.num_processes}",
        "rdzv_backend: static",
        "same_network: true",
        "use_cpu: false",
        "",
    ]
    return "\n".join(lines)


def write_accelerate_files(config: JobConfig, job_dir: Path) -> tuple[Path, Path]:
    if config.job.kind != "sft":
        raise InputError(
            f"accelerate/DeepSpeed launch is for SFT jobs; a {config.job.kind} job runs as one process",
            hint="set [launch] mode = \"local\" or \"ssh\"",
        )
    if config.launch.num_machines > 1 and not config.launch.main_process_ip:
        raise InputError("a multi-node job needs [launch] main_process_ip (the rank-0 machine)")
    ds_path = job_dir / DEEPSPEED_FILE
    ds_path.write_text(json.dumps(deepspeed_config(config), indent=2), encoding="utf-8")
    acc_path = job_dir / ACCELERATE_FILE
    acc_path.write_text(accelerate_yaml(config, ds_path), encoding="utf-8")
    return acc_path, ds_path


def accelerate_command(config: JobConfig, job_dir: Path) -> list[str]:
    launcher = shutil.which("accelerate") or "accelerate"
    return [launcher, "launch", "--config_file", str(job_dir / ACCELERATE_FILE), "-m", "training.runner", str(job_dir)]
