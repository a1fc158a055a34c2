"""llama.cpp backend (CPU, optional GPU offload) through llama-cpp-python.

The Selector's prompts share a long prefix (chat header, instructions, the user query), so scoring
keeps the KV cache of the previous prompt and evaluates only the tokens after the common prefix.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ConfigError, ModelError
from engine.models.base import ChatModel, Generation, Message, ModelInfo
from engine.models.chat_template import CHATML_TEMPLATE, ChatTemplate


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _abort_callback(flag: threading.Event) -> Any:
    """A llama.cpp abort callback reading `flag` (None when this llama-cpp-python lacks the hook)."""
    import llama_cpp

    if not hasattr(llama_cpp, "llama_set_abort_callback"):
        return None
    return llama_cpp.ggml_abort_callback(lambda _data: flag.is_set())


class LlamaCppModel(ChatModel):
    """A GGUF model. Thread-safe: calls are serialised (llama.cpp contexts are not re-entrant)."""

    # Scoring evaluates one prompt at a time anyway, and the KV cache of the shared prefix survives
    # between calls: one paper per call costs nothing and lets a search stop within one paper.
    preferred_batch_size = 1

    def __init__(
        self,
        path: Path,
        *,
        name: str = "",
        threads: int | None = None,
        context_tokens: int = 4096,
        batch_tokens: int = 512,
        gpu_layers: int = 0,
    ) -> None:
        if not path.is_file():
            raise ConfigError(
                f"GGUF model file not found: {path}", hint="set the profile's `path` to an existing .gguf file"
            )
        from engine.models.memory import ensure_estimates_fit, estimate_gguf

        # Reads the GGUF header (a clear error for a file that is not GGUF) and refuses a model that
        # would not fit in RAM, with the numbers, before llama.cpp maps it.
        estimate = estimate_gguf(path, context_tokens=context_tokens, name=name or path.stem)
        if gpu_layers == 0:
            ensure_estimates_fit([estimate])
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - base dependency
            raise ConfigError("llama-cpp-python is not installed", hint="run scripts/setup.sh") from exc
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=context_tokens,
                n_batch=batch_tokens,
                n_threads=threads or os.cpu_count() or 1,
                n_gpu_layers=gpu_layers,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"llama.cpp could not load {path.name}: {exc}",
                hint="check that the file is a complete GGUF model (re-download or re-convert it)",
            ) from exc
        self._lock = threading.Lock()
        # close() sets this; llama.cpp asks the callback between the graph's operations and stops the
        # prompt it is evaluating in a worker thread. A search cancelled with Ctrl-C then closes in
        # milliseconds instead of waiting for the whole prompt (seconds on a busy CPU).
        self._closing = threading.Event()
        self._abort_callback = _abort_callback(self._closing)
        if self._abort_callback is not None:
            import llama_cpp

            llama_cpp.llama_set_abort_callback(self._llm._ctx.ctx, self._abort_callback, None)
        meta: dict[str, Any] = dict(self._llm.metadata)
        template = meta.get("tokenizer.chat_template") or CHATML_TEMPLATE
        self._add_bos = str(meta.get("tokenizer.ggml.add_bos_token", "false")).lower() == "true"
        bos = self._token_text(self._llm.token_bos())
        eos = self._token_text(self._llm.token_eos())
        # When llama.cpp adds BOS itself the template must not add it a second time.
        self._template = ChatTemplate(template, bos_token="" if self._add_bos else bos, eos_token=eos)
        self._n_vocab = self._llm.n_vocab()
        true_ids = self._llm.tokenize(b"True", add_bos=False, special=False)
        self._true_id = true_ids[0] if len(true_ids) == 1 else None
        self._info = ModelInfo(
            name=name or path.stem,
            backend="llama.cpp",
            chat_template=self._template.short_name,
            true_token_id=self._true_id,
            context_tokens=context_tokens,
        )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        try:
            return self._llm.detokenize([token], special=True).decode("utf-8", "ignore")
        except TypeError:  # older signature without `special`
            return self._llm.detokenize([token]).decode("utf-8", "ignore")

    @property
    def info(self) -> ModelInfo:
        return self._info

    def render(self, messages: Sequence[Message]) -> str:
        return self._template.render(messages)

    def _tokens(self, messages: Sequence[Message], prefix: str = "") -> list[int]:
        text = self._template.render(messages) + prefix
        tokens: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=self._add_bos, special=True)
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _check_fits(self, n_prompt: int, n_new: int) -> None:
        if n_prompt + n_new > self._info.context_tokens:
            raise ModelError(
                f"prompt of {n_prompt} tokens does not fit the {self._info.context_tokens}-token context",
                hint="raise the profile's context_tokens or shorten the input",
            )

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        max_tokens, temperature, seed, prefix = options
        tokens = self._tokens(messages, prefix)
        max_tokens = max(1, min(max_tokens, self._info.context_tokens - len(tokens)))
        self._check_fits(len(tokens), 1)
        with self._lock:
            out = self._llm.create_completion(
                prompt=tokens,
                max_tokens=max_tokens,
                temperature=temperature,
                top_k=0 if temperature > 0 else 1,
                top_p=1.0,
                seed=seed if seed is not None else 0,
            )
        text = out["choices"][0]["text"]  # type: ignore[index]  # typed as a union with the streaming iterator; stream=False returns the dict
        return str(text)

    def _last_logits(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        ptr = self._llm._ctx.get_logits()  # type: ignore[no-untyped-call] # logits of the last token of the last decoded batch
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).astype(np.float32, copy=True)

    def _prefill(self, tokens: list[int]) -> None:
        """Evaluate `tokens`, reusing the KV cache of the longest prefix already in the context."""
        llm = self._llm
        keep = _common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        # Re-evaluate at least the last token: its logits are what we need.
        keep = min(keep, len(tokens) - 1)
        llm.n_tokens = keep
        llm.eval(tokens[keep:])

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        if self._true_id is None:
            raise ModelError(
                f"{self._info.name}: the word 'True' is not a single token, so it cannot score as a Selector",
                hint="use a Qwen/PaSa-family model for the Selector",
            )
        encoded = [self._tokens(p) for p in prompts]
        for tokens in encoded:
            self._check_fits(len(tokens), 1)
        # Prompts that share more tokens are scored next to each other (the order is restored after).
        order = sorted(range(len(encoded)), key=lambda i: encoded[i])
        probs = [0.0] * len(encoded)
        with self._lock:
            for i in order:
                self._prefill(encoded[i])
                logits = self._last_logits()
                top = float(logits.max())
                log_z = top + float(np.log(np.exp(logits - top).sum()))
                probs[i] = float(np.exp(float(logits[self._true_id]) - log_z))
        return probs

    def prefill_rate(self, tokens: int = 1024) -> float:
        """Raw prefill throughput (tokens/s) on one fresh prompt: the hardware limit for scoring."""
        import time

        ids = self._llm.tokenize(b" the" * tokens, add_bos=False, special=False)[:tokens]
        with self._lock:
            self._llm.reset()  # type: ignore[no-untyped-call]  # llama_cpp leaves Llama.reset unannotated
            start = time.perf_counter()
            self._llm.eval(ids)
            seconds = time.perf_counter() - start
            self._llm.reset()  # type: ignore[no-untyped-call]  # llama_cpp leaves Llama.reset unannotated
        return len(ids) / seconds

    def prefill_seconds(self, prompts: Sequence[Sequence[Message]]) -> tuple[int, float]:
        """(tokens, seconds) to evaluate each prompt from an empty cache: scoring with no reuse at all.

        The reference a scoring method is measured against on the same prompts (benchmarks, `pasa models check`).
        """
        import time

        encoded = [self._tokens(p) for p in prompts]
        seconds = 0.0
        with self._lock:
            for tokens in encoded:
                self._check_fits(len(tokens), 1)
                self._llm.n_tokens = 0
                start = time.perf_counter()
                self._llm.eval(tokens)
                seconds += time.perf_counter() - start
            self._llm.n_tokens = 0
        return sum(len(t) for t in encoded), seconds

    def close(self) -> None:
        self._closing.set()  # a prompt still being evaluated stops now (see __init__)
        with self._lock:
            close = getattr(self._llm, "close", None)
            if close is not None:
                close()
