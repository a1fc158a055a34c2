"""Bundle size and cold start of the PyInstaller bundle, against the same app started from source.

    python benchmarks/bundle_startup.py [--bundle dist/pasa] [--runs 5]

Cold start = from spawning the process to the window being shown and its event loop running (the
launcher prints `ready` from its first event-loop turn with `--exit-when-ready`), read on the
parent's clock, so interpreter start-up, the bootloader and every import count. Each run gets an
empty data folder (no settings file, no library): a first start. Baseline: `python -m ui.launcher`
from the source tree in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE_GOAL_MB = 500.0
START_GOAL_S = 2.0


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def time_to_ready(command: list[str], timeout_s: float = 60.0) -> float:
    """Seconds from spawn to the `ready` line; the process is then left to close on its own."""
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                   PASA_DATA_DIR=str(Path(home) / "data"), PASA_CONFIG_DIR=str(Path(home) / "config"))
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                cwd=home)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if line.startswith("ready"):
                    seconds = time.perf_counter() - started
                    proc.wait(timeout=timeout_s)
                    return seconds
            raise RuntimeError(f"{command[0]} exited ({proc.wait()}) without opening its window")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def cold_starts(command: list[str], runs: int) -> list[float]:
    time_to_ready(command)  # warm the OS file cache once: "cold" is a fresh process, not a cold disk
    return [time_to_ready(command) for _ in range(runs)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "dist" / "pasa")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    exe = args.bundle / ("pasa.exe" if os.name == "nt" else "pasa")
    if not exe.exists():
        sys.exit(f"no bundle at {exe}: build it with `python packaging/build.py`")
    size = folder_mb(args.bundle)
    bundled = cold_starts([str(exe), "gui", "--exit-when-ready"], args.runs)
    source = cold_starts([sys.executable, "-m", "ui.launcher", "gui", "--exit-when-ready"], args.runs)
    med_b, med_s = statistics.median(bundled), statistics.median(source)
    print("| measure | bundle | from source | ratio | goal |")
    print("|---|---|---|---|---|")
    print(f"| size (MB) | {size:.0f} | – | – | ≤ {SIZE_GOAL_MB:.0f} |")
    print(f"| cold start, median of {args.runs} (s) | {med_b:.2f} | {med_s:.2f} | {med_b / med_s:.2f} | ≤ {START_GOAL_S} |")
    print(f"| cold start, all runs (s) | {', '.join(f'{s:.2f}' for s in bundled)} |"
          f" {', '.join(f'{s:.2f}' for s in source)} | | |")
    print(f"load average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
