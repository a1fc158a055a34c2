"""Rendering a model's own chat template (Jinja, as shipped in its tokenizer config or GGUF metadata)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import ModelError
from engine.models.base import Message

# ChatML, the format of Qwen2/2.5 (and so of pasa-7b-*) and of SmolLM2; used only when a model ships none.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _raise(message: str) -> None:
    raise ModelError(f"chat template error: {message}")


class ChatTemplate:
    """A compiled chat template. `render` returns the prompt text ending in the assistant header."""

    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise
        self.source = source
        self._template = env.from_string(source)
        self._bos = bos_token
        self._eos = eos_token

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
        context: dict[str, Any] = {
            "messages": [dict(m) for m in messages],
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self._bos,
            "eos_token": self._eos,
        }
        return self._template.render(**context)

    @property
    def short_name(self) -> str:
        if "<|im_start|>" in self.source:
            return "chatml" if self.source == CHATML_TEMPLATE else "model's own (ChatML family)"
        return "model's own"
