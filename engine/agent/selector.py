"""The Selector: P("True") for "does this paper meet the user's need", and a reason on demand."""

from __future__ import annotations

from collections.abc import Sequence

from engine.agent import prompts
from engine.models.base import ChatModel, Message, user_message
from engine.papers import Paper

# Tokens kept free beside the prompt text: the chat template's wrapping, which count_tokens(text) does not
# see (Qwen2.5's default system message and role headers take ~30), the decision token and some slack.
_HEADROOM = 64


class Selector:
    def __init__(self, model: ChatModel, *, abstract_chars: int = 1500, batch_size: int | None = None) -> None:
        self.model = model
        self.abstract_chars = abstract_chars
        # Papers per call: backends that gain nothing from batching (llama.cpp evaluates one prompt at a
        # time, reusing the KV cache between calls) say so, which keeps Cancel within one paper's time.
        self.batch_size = batch_size or int(getattr(model, "preferred_batch_size", 4))

    def prompt(self, user_query: str, paper: Paper) -> list[Message]:
        """PaSa's selector prompt; abstracts are cut by characters, then by tokens to fit the context."""
        abstract = paper.abstract[: self.abstract_chars]
        text = prompts.selector_prompt(user_query, paper.title, abstract)
        budget = self.model.info.context_tokens - _HEADROOM
        while abstract and self.model.count_tokens(text) > budget:
            abstract = abstract[: len(abstract) * 3 // 4]
            text = prompts.selector_prompt(user_query, paper.title, abstract)
        return user_message(text)

    def score(self, user_query: str, papers: Sequence[Paper]) -> list[float]:
        """P("True") per paper, in order. Blocking."""
        return self.model.true_probabilities([self.prompt(user_query, p) for p in papers])

    def reason(self, user_query: str, paper: Paper, *, decision: bool, max_tokens: int = 120) -> str:
        """The second pass: the model's reason for `decision`, as PaSa's training target frames it.

        The raw reply, trimmed: small models often repeat their prompt here, so callers that show it
        check it first (engine/agent/explain.py, `is_prompt_echo`). 120 tokens hold PaSa's one- to
        three-sentence reasons; every token more is time on a CPU (SmolLM2-135M took 22–160 s for 160
        tokens on 2 busy cores, most of it looping one sentence).
        """
        head = f"{decision}\nReason:"
        text = self.model.generate(self.prompt(user_query, paper), max_tokens=max_tokens, prefix=head)
        return text.strip().split("\nDecision:")[0].strip()
