"""The one protocol every LLM backend implements, for both PaSa roles (Crawler and Selector).

Backends are synchronous and may block for seconds; the agent calls them from a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypedDict, runtime_checkable


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


class Generation(NamedTuple):
    """How one reply is generated: `ChatModel.generate`'s options as one value, which every backend's
    `reply` receives (so the options and their defaults are written once, here)."""

    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = None
    prefix: str = ""


@runtime_checkable
class ChatModel(Protocol):
    """A chat LLM that can generate text and score the Selector's first token.

    Backends subclass it and implement `reply`; `generate` is the callers' keyword form of the same call."""

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
        return self.reply(messages, Generation(max_tokens, temperature, seed, prefix))

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        """What `generate` returns, with its options as one value (the method a backend implements)."""
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


def without_prefix(reply: str, prefix: str) -> str:
    """A reply composed whole (not generated after `prefix`), as `reply` returns it: what follows the
    prefix the caller started the turn with."""
    return reply[len(prefix) :] if prefix and reply.startswith(prefix) else reply


NO_SELECTOR_BACKEND = "none"


class NoModel(ChatModel):
    """A role no model fills: a search without a Selector (the default one is not prepared yet: nothing
    is scored, so no score is shown that no model computed) or a retrieval-only run. The agent never asks
    it anything (`resolve_select_rule` sets score_top 0 for it); a call is a bug and says so."""

    def __init__(self, why: str = "no model fills this role") -> None:
        self.why = why
        self._info = ModelInfo(name="none", backend=NO_SELECTOR_BACKEND, chat_template="none", true_token_id=None,
                               context_tokens=1 << 20, supports_logprobs=False)

    @property
    def info(self) -> ModelInfo:
        return self._info

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        raise AssertionError(f"asked for text, but {self.why}")

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        raise AssertionError(f"asked for scores, but {self.why}")

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)  # a rough estimate, about 4 characters a token

    def close(self) -> None:
        return None
