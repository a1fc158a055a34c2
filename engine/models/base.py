"""The one protocol every LLM backend implements, for both PaSa roles (Crawler and Selector).

Backends are synchronous and may block for seconds; the agent calls them from a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict, runtime_checkable


class Message(TypedDict):
    role: str
    content: str


def user_message(content: str) -> list[Message]:
    """PaSa sends every prompt as a single user message in the model's chat template."""
    return [{"role": "user", "content": content}]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    backend: str  # "llama.cpp" | "transformers" | "openai" | "cross-encoder" | "relevance" | "scripted"
    chat_template: str  # the template source or a short description of it
    true_token_id: int | None  # id of the token "True" (the Selector's decision token)
    context_tokens: int
    supports_logprobs: bool = True
    # A re-ranking Selector's own measurement of how much its rank should count in the agent's fusion
    # (chosen on held-out training queries by the job that trained it); None = the agent's default.
    rank_weight: float | None = None
    # A calibrated Selector's own selection rule, recorded with it by the job that trained it (chosen to
    # maximise F1 on held-out training queries): selected iff P > select_threshold, and at least the
    # best select_min papers by rank. None = the agent's settings decide. score_top: how many papers per
    # search it was calibrated on (the pool a search shows it). calibrated: P means a probability.
    select_threshold: float | None = None
    select_min: int | None = None
    score_top: int | None = None
    calibrated: bool = False


@runtime_checkable
class ChatModel(Protocol):
    """A chat LLM that can generate text and score the Selector's first token."""

    @property
    def info(self) -> ModelInfo: ...

    def generate(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        prefix: str = "",
    ) -> str:
        """The assistant's reply to `messages` (chat template applied by the backend).

        `prefix` is put at the start of the assistant's turn and the model continues it (the returned
        text excludes it). Small untuned models follow PaSa's output format only when it is started for them.
        """
        ...

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        """For each prompt, P(first assistant token == "True"): softmax over the full vocabulary.

        Backends batch and reuse shared prefixes as they can; the result order matches `prompts`.
        """
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model (an estimate where the backend cannot tokenize)."""
        ...

    def close(self) -> None: ...
