"""The training process: `python -m training.runner JOB_DIR` runs the job described by JOB_DIR/job.toml.

Every launcher (local, SSH, accelerate) starts this same entry point in a job directory and then only
reads the files it writes (see training/metrics.py), which is what makes re-attaching possible.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from engine.errors import PasaError
from training.config import JobConfig, load_config
from training.faults import OOM_HINT, TrainingStopped, install_cancel_handlers, is_out_of_memory
from training.metrics import MetricsWriter, write_status

JOB_FILE = "job.toml"


def _is_main_process() -> bool:
    # Under accelerate/torchrun only rank 0 writes status and metrics.
    return os.environ.get("RANK", "0") == "0"


def run_job(config: JobConfig, out_dir: Path) -> Path | None:
    """Run the configured job in this process; returns the final checkpoint (if any)."""
    metrics = MetricsWriter(out_dir) if _is_main_process() else MetricsWriter(out_dir / f"rank{os.environ['RANK']}")
    try:
        if config.job.kind == "sft":
            from training.sft import run_sft

            return run_sft(config, metrics)
        if config.job.kind == "ppo":
            from training.ppo import run_ppo

            return run_ppo(config, metrics)
        from training.local_selector import run_local_selector

        return run_local_selector(config, metrics)
    finally:
        metrics.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.runner", description="Run one PaSa training job.")
    parser.add_argument("job_dir", type=Path, help=f"directory holding {JOB_FILE}; outputs go there too")
    args = parser.parse_args(argv)
    out_dir: Path = args.job_dir.resolve()
    main_proc = _is_main_process()
    install_cancel_handlers()
    try:
        config = load_config(out_dir / JOB_FILE)
        config = config.model_copy(update={"job": config.job.model_copy(update={"output_dir": str(out_dir)})})
        config.validate_for_run()
    except PasaError as exc:
        write_status(out_dir, "failed", f"bad job file: {exc}")
        print(f"bad job file: {exc}", file=sys.stderr)
        return 2
    if main_proc:
        write_status(out_dir, "running", f"{config.job.kind} {config.job.role} started", pid=os.getpid())
    try:
        checkpoint = run_job(config, out_dir)
    except TrainingStopped as exc:
        state = "cancelled" if exc.state == "cancelled" else "failed"
        if main_proc:
            write_status(out_dir, state, exc.message)  # type: ignore[arg-type]  # state is "cancelled" or "failed", both JobStates, typed str by the conditional
        print(f"training stopped: {exc.message}", file=sys.stderr)
        return 3 if state == "failed" else 130
    except PasaError as exc:
        if main_proc:
            write_status(out_dir, "failed", str(exc))
        print(f"training failed: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the status must say why, whatever broke
        message = OOM_HINT if is_out_of_memory(exc) else f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        if main_proc:
            write_status(out_dir, "failed", message)
        return 1
    if main_proc:
        done = f"finished; checkpoint {checkpoint}" if checkpoint else "finished"
        write_status(out_dir, "finished", done, checkpoint=str(checkpoint) if checkpoint else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
