"""A long-running process that speaks the job protocol (metrics, status, cancel on SIGTERM).

Used by the launcher, panel and training-service tests where the real trainers would be too slow to
pause, cancel and kill: `FAKE_JOB + [job_dir]` is the command a launcher starts.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from training.faults import JobCancelled, install_cancel_handlers
from training.metrics import MetricsWriter, write_status

FAKE_JOB = [sys.executable, "-m", "tests.training.fake_job"]


def group_alive(pid: int) -> bool:
    """Whether any process is left in the group `pid` leads (a job leads its own session)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> int:
    job = Path(sys.argv[1])
    install_cancel_handlers()
    metrics = MetricsWriter(job)
    write_status(job, "running", "fake job started")
    try:
        for step in range(1, 100_000):
            metrics.write(step=step, loss=1.0 / step)
            time.sleep(0.05)
    except JobCancelled as exc:
        write_status(job, "cancelled", exc.message)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
