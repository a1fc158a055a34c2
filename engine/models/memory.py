"""Will a model profile fit in memory? An estimate from the files on disk, before anything is loaded.

A GGUF model's weights are mapped from its file, so they need about the file's size; the KV cache
needs 2 (K and V) × layers × context × KV heads × head size × 2 bytes (f16); llama.cpp's compute
buffers add a few hundred MB. A transformers checkpoint needs its weights at the chosen dtype plus
its KV cache. Loading a profile that cannot fit would swap the machine to a halt or be killed, so
the app refuses it up front with the numbers (`ensure_fits`).
"""

from __future__ import annotations

import json
import os
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import ConfigError
from engine.models.profile_spec import ModelProfile, embedded_model_path

GIB = 1024**3
# llama.cpp compute buffers, logits and the runtime; measured ~150-400 MB for 0.1-7B models at n_batch 512.
_LLAMA_OVERHEAD = 400 * 1024**2
_TORCH_OVERHEAD = 600 * 1024**2
# Memory the OS and the app itself keep (Qt, SQLite, the index): never hand all of it to models.
_RESERVE = 1 * GIB


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    profile: str
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    device: str = "cpu"  # where it lives: "cpu" (RAM) or a CUDA device

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def describe(self) -> str:
        return (
            f"{self.profile}: {self.total_bytes / GIB:.1f} GiB on {self.device} (weights "
            f"{self.weights_bytes / GIB:.1f} + KV cache {self.kv_cache_bytes / GIB:.2f} + buffers "
            f"{self.overhead_bytes / GIB:.1f})"
        )


# ---- GGUF header (read here so the base install needs no `gguf` package) ---------------------------

_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def _read(fh: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack("<" + fmt, data)[0]


def _read_string(fh: BinaryIO) -> str:
    n = _read(fh, "Q")
    if n > 1 << 24:
        raise ValueError("implausible string length in GGUF header")
    return fh.read(n).decode("utf-8", "replace")


def _read_value(fh: BinaryIO, vtype: int) -> Any:
    if vtype in _SCALARS:
        return _read(fh, _SCALARS[vtype])
    if vtype == _STRING:
        return _read_string(fh)
    if vtype == _ARRAY:
        item_type, count = _read(fh, "I"), _read(fh, "Q")
        if item_type in _SCALARS:  # skip numeric arrays (token types, scores) without decoding them
            fh.seek(count * struct.calcsize("<" + _SCALARS[item_type]), os.SEEK_CUR)
        else:
            for _ in range(count):
                _read_value(fh, item_type)
        return None
    raise ValueError(f"unknown GGUF value type {vtype}")


def gguf_metadata(path: Path) -> dict[str, Any]:
    """The scalar key/value metadata of a GGUF file (arrays are skipped). Raises ConfigError if not GGUF."""
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ConfigError(f"{path} is not a GGUF file", hint="choose a .gguf model file, or convert one")
            version = _read(fh, "I")
            if version < 2:
                raise ConfigError(f"{path} is GGUF version {version}, too old", hint="re-convert the model")
            _n_tensors, n_kv = _read(fh, "Q"), _read(fh, "Q")
            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _read_string(fh)
                meta[key] = _read_value(fh, _read(fh, "I"))
            return meta
    except (OSError, ValueError, struct.error) as exc:
        raise ConfigError(f"cannot read the GGUF header of {path}: {exc}", hint="the file may be incomplete") from exc


def _kv_bytes(layers: int, context: int, kv_heads: int, head_dim: int, bytes_per: int = 2) -> int:
    return 2 * layers * context * kv_heads * head_dim * bytes_per


def estimate_gguf(path: Path, *, context_tokens: int, name: str = "") -> MemoryEstimate:
    meta = gguf_metadata(path)
    arch = str(meta.get("general.architecture", "llama"))
    layers = int(meta.get(f"{arch}.block_count", 0))
    heads = int(meta.get(f"{arch}.attention.head_count", 1) or 1)
    kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads) or heads)
    embed = int(meta.get(f"{arch}.embedding_length", 0))
    head_dim = int(meta.get(f"{arch}.attention.key_length", embed // heads if heads else 0))
    return MemoryEstimate(
        profile=name or path.stem,
        weights_bytes=path.stat().st_size,
        kv_cache_bytes=_kv_bytes(layers, context_tokens, kv_heads, head_dim),
        overhead_bytes=_LLAMA_OVERHEAD,
    )


def estimate_checkpoint(path: Path, *, context_tokens: int, dtype_bytes: int, name: str, device: str) -> MemoryEstimate:
    """A HF checkpoint: weight bytes rescaled from the stored dtype to the one it will run in."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path / 'config.json'}: {exc}", hint="point at a checkpoint directory") from exc
    stored = str(config.get("dtype") or config.get("torch_dtype") or "float32")
    stored_bytes = 4 if stored == "float32" else 2
    files = list(path.glob("*.safetensors")) or list(path.glob("pytorch_model*.bin"))
    on_disk = sum(f.stat().st_size for f in files)
    heads = int(config.get("num_attention_heads", 1) or 1)
    head_dim = int(config.get("head_dim") or int(config.get("hidden_size", 0)) // heads)
    kv = _kv_bytes(
        int(config.get("num_hidden_layers", 0)),
        context_tokens,
        int(config.get("num_key_value_heads", heads) or heads),
        head_dim,
        dtype_bytes,
    )
    return MemoryEstimate(
        profile=name,
        weights_bytes=on_disk * dtype_bytes // stored_bytes,
        kv_cache_bytes=kv,
        overhead_bytes=_TORCH_OVERHEAD,
        device=device,
    )


def estimate_profile(profile: ModelProfile) -> MemoryEstimate | None:
    """The memory a profile will take when loaded; None when it runs elsewhere (a server) or is unknown."""
    if profile.kind in ("embedded", "gguf"):
        path = embedded_model_path() if profile.kind == "embedded" else Path(os.path.expanduser(profile.path))
        if not path.is_file():
            return None  # the loader reports the missing file with its own message
        device = "cpu" if profile.gpu_layers == 0 else "cpu+gpu"
        estimate = estimate_gguf(path, context_tokens=profile.context_tokens, name=profile.name)
        return estimate if device == "cpu" else replace(estimate, device=device)
    if profile.kind == "transformers":
        path = Path(os.path.expanduser(profile.path))
        if not (path / "config.json").is_file():
            return None
        device = profile.device if profile.device not in ("", "auto") else _auto_device()
        dtype = profile.dtype
        if dtype in ("", "auto"):
            dtype_bytes = 2 if device.startswith("cuda") else 4
        else:
            dtype_bytes = 4 if dtype in ("float32", "fp32") else 2
        return estimate_checkpoint(
            path, context_tokens=profile.context_tokens, dtype_bytes=dtype_bytes, name=profile.name, device=device
        )
    return None


def _auto_device() -> str:
    if "torch" not in sys.modules:  # importing torch only to decide would cost seconds; assume CPU
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def available_memory_bytes() -> int | None:
    """Memory available for new allocations (Linux MemAvailable; other systems' equivalents), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    if sys.platform == "win32":
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong)] + [
                (n, ctypes.c_ulonglong)
                for n in ("total", "avail", "total_page", "avail_page", "total_virtual", "avail_virtual", "ext")
            ]

        status = _Status()
        status.length = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]  # ctypes.windll exists only on Windows, where this branch runs
            return int(status.avail)
        return None
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def ensure_fits(profiles: Sequence[ModelProfile], *, available_bytes: int | None = None) -> list[MemoryEstimate]:
    """Raise ConfigError, with the numbers, if these profiles loaded together would not fit in RAM.

    Profiles with the same name count once (one model serving both roles). Returns the estimates.
    """
    unique = list({p.name: p for p in profiles}.values())
    estimates = [e for e in (estimate_profile(p) for p in unique) if e is not None]
    ensure_estimates_fit(estimates, available_bytes=available_bytes)
    return estimates


def ensure_estimates_fit(estimates: Sequence[MemoryEstimate], *, available_bytes: int | None = None) -> None:
    """Raise ConfigError if the RAM parts of `estimates` exceed what is available (less a reserve).

    GPU memory is the backend's to check (CUDA reports out-of-memory when the model is placed).
    """
    in_ram = [e for e in estimates if not e.device.startswith("cuda")]
    available = available_memory_bytes() if available_bytes is None else available_bytes
    if available is None or not in_ram:
        return
    need = sum(e.total_bytes for e in in_ram)
    if need + _RESERVE > available:
        parts = "; ".join(e.describe() for e in in_ram)
        raise ConfigError(
            f"not enough memory: the model profiles need {need / GIB:.1f} GiB but {available / GIB:.1f} GiB is "
            f"available (keeping {_RESERVE / GIB:.0f} GiB for the system) — {parts}",
            hint="use a smaller quantization (q4_k_m), lower context_tokens, one profile for both roles, "
            "or a GPU / server profile",
        )
