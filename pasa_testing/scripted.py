"""A scripted model: canned replies and scores. For tests about control flow and UI demos, never for results."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from engine.models.base import ChatModel, Generation, Message, ModelInfo


class ScriptedModel(ChatModel):
    """Answers `generate` from `replies` (a function of the prompt text, or a list used in turn) and
    `true_probabilities` from `scorer` (a function of the prompt text). `delay_s` simulates a slow model."""

    def __init__(
        self,
        replies: Sequence[str] | Callable[[str], str] = (),
        scorer: Callable[[str], float] | None = None,
        *,
        name: str = "scripted",
        delay_s: float = 0.0,
    ) -> None:
        self._replies = replies
        self._scorer = scorer or (lambda _prompt: 0.5)
        self._turn = 0
        self._delay = delay_s
        self._lock = threading.Lock()
        self.prompts: list[str] = []
        self._info = ModelInfo(
            name=name, backend="scripted", chat_template="none", true_token_id=None, context_tokens=1 << 20
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        prompt = messages[-1]["content"]
        with self._lock:
            self.prompts.append(prompt)
            if self._delay:
                time.sleep(self._delay)
            if callable(self._replies):
                return self._replies(prompt)
            if not self._replies:
                return ""
            reply = self._replies[min(self._turn, len(self._replies) - 1)]
            self._turn += 1
            return reply

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        if self._delay:
            time.sleep(self._delay * len(prompts))
        return [float(self._scorer(p[-1]["content"])) for p in prompts]

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def close(self) -> None:
        return None
