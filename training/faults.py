"""How a training process fails: each fault becomes a clear, final status message.

NaN loss, out-of-memory, a cancel request (SIGTERM/SIGINT) or bad input stop the job; checkpoints
already written are complete (they are saved to a temp name and renamed) and stay usable.
"""

from __future__ import annotations

import math
import signal
from types import FrameType
from typing import Any


class TrainingStopped(Exception):
    """The job cannot go on; `message` is shown to the user as is."""

    def __init__(self, message: str, *, state: str = "failed") -> None:
        super().__init__(message)
        self.message = message
        self.state = state


class JobCancelled(TrainingStopped):
    def __init__(self, message: str = "cancelled by the user") -> None:
        super().__init__(message, state="cancelled")


def check_finite(loss: float, step: int) -> None:
    if not math.isfinite(loss):
        raise TrainingStopped(
            f"loss became {loss} at step {step}: stopping (lower the learning rate, check the data, "
            "or use bf16/fp32 instead of fp16); checkpoints written so far are intact"
        )


def finite_update(loss: Any, step: int, params: Any, optimiser: Any, scheduler: Any) -> None:
    """One optimiser update from `loss` (gradients clipped to norm 1), refused when the loss is not finite."""
    import torch

    check_finite(float(loss.detach()), step)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimiser.step()
    scheduler.step()
    optimiser.zero_grad()


def is_out_of_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    text = str(exc).lower()
    return name in ("OutOfMemoryError", "MemoryError") or "out of memory" in text or "cuda oom" in text


OOM_HINT = (
    "out of memory: lower [sft] batch_size or max_length, set [model] lora = true or "
    "gradient_checkpointing = true, or use more GPUs (launch mode accelerate with ZeRO-3)"
)


def install_cancel_handlers() -> None:
    """SIGTERM and SIGINT raise JobCancelled in the main thread at the next Python instruction."""

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        raise JobCancelled(f"cancelled (signal {signal.Signals(signum).name})")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
