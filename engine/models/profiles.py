"""Model profiles: what a user picks per role (Crawler, Selector), and how each becomes a ChatModel."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import ConfigError
from engine.models.base import ChatModel

# The profile itself lives in profile_spec (the backends need it, and this module imports the backends);
# re-exported here because `from engine.models.profiles import ModelProfile` is how the app names it.
from engine.models.profile_spec import BackendKind, ModelProfile, embedded_model_path

__all__ = ["BackendKind", "ModelProfile", "embedded_model_path", "load_model"]


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
