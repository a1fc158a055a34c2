"""The metrics stream and status file every job writes, and the incremental reader the panel and CLI use.

Protocol (the same for local, SSH and accelerate jobs): in the job's output directory,
- `metrics.jsonl`: one JSON object per line, appended and flushed as soon as known, with `step` and any
  of `loss, reward, kl, value_loss, lr, gpu_mem, tokens_per_s, epoch, ...`; events (`{"event": ...}`)
  such as a skipped data row or a saved checkpoint are lines too.
- `status.json`: `{"state": queued|running|paused|finished|failed|cancelled, "message", "pid", ...}`,
  replaced atomically (write then rename) so a reader never sees half a file.
- `checkpoints/<name>/`: complete checkpoints (written to a temp name, then renamed).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

JobState = Literal["queued", "running", "paused", "finished", "failed", "cancelled"]
FINAL_STATES: frozenset[str] = frozenset({"finished", "failed", "cancelled"})
METRICS_FILE = "metrics.jsonl"
STATUS_FILE = "status.json"
LOG_FILE = "log.txt"
CHECKPOINTS_DIR = "checkpoints"


def _clean(value: Any) -> Any:
    # JSON has no NaN/inf: write them as strings so every reader can parse every line.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class MetricsWriter:
    """Appends metric lines to `metrics.jsonl`, flushing each so a tailing reader sees it at once."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / METRICS_FILE
        self._fh = self.path.open("a", encoding="utf-8")

    def write(self, **values: Any) -> None:
        row = {k: _clean(v) for k, v in values.items() if v is not None}
        row.setdefault("time", round(time.time(), 3))
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()

    def event(self, name: str, message: str, **extra: Any) -> None:
        self.write(event=name, message=message, **extra)

    def close(self) -> None:
        self._fh.close()


def write_status(out_dir: Path, state: JobState, message: str = "", **extra: Any) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"state": state, "message": message, "updated": round(time.time(), 3), **extra}
    tmp = out_dir / (STATUS_FILE + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, out_dir / STATUS_FILE)


def read_status(out_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((out_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "queued", "message": ""}
    return data if isinstance(data, dict) else {"state": "queued", "message": ""}


@dataclass
class MetricsTail:
    """Reads new complete lines of a metrics file since the last call; never blocks, never raises on bad lines.

    A line still being written (no newline yet) is left for the next call.
    """

    path: Path
    offset: int = 0
    bad_lines: int = 0
    _pending: bytes = field(default=b"", repr=False)

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return []
        self.offset += len(chunk)
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()  # incomplete tail (b"" when data ended with a newline)
        rows: list[dict[str, Any]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                continue
            if isinstance(row, dict):
                rows.append(row)
        return rows


def read_metrics(out_dir: Path) -> list[dict[str, Any]]:
    return MetricsTail(out_dir / METRICS_FILE).read_new()


def list_checkpoints(out_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temp directories of an interrupted save are not listed)."""
    root = out_dir / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".tmp")]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def gpu_memory_gb() -> float | None:
    """Peak CUDA memory allocated by this process, in GiB (None without CUDA)."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 3)
