"""transformers backend (GPU or CPU): a local Hugging Face checkpoint, e.g. pasa-7b-selector unchanged.

Never reaches a hub: offline mode is forced and only local files are read. The Selector's prompts are
scored in batches (left padding, positions from the attention mask) and only the last position's
logits are computed; P("True") is the softmax over the full vocabulary of those logits, as in PaSa.
torch and transformers are imported when a model is loaded, never at engine import time.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError, ModelError
from engine.models.base import ChatModel, Generation, Message, ModelInfo

if TYPE_CHECKING:
    from engine.models.profile_spec import ModelProfile


def _force_offline() -> None:
    # Set before transformers is imported: it reads these once.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def resolve_device(device: str) -> str:
    import torch

    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for but CUDA is not available", hint="set device to auto or cpu")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    import torch

    if dtype in ("", "auto"):
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    table = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    table.update({"float32": torch.float32, "fp32": torch.float32})
    if dtype not in table:
        raise ConfigError(f"unknown dtype {dtype!r}", hint="use auto, bfloat16, float16 or float32")
    return table[dtype]


class TransformersModel(ChatModel):
    """A causal LM from a local checkpoint directory. Calls are serialised (one model, one stream)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        context_tokens: int,
        batch_size: int = 8,
    ) -> None:
        self._model = model
        self._tok = tokenizer
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._device = next(model.parameters()).device
        ids = tokenizer.encode("True", add_special_tokens=False)
        self._true_id: int | None = int(ids[0]) if len(ids) == 1 else None
        self._pad_id = tokenizer.pad_token_id
        if self._pad_id is None:
            self._pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        limit = int(getattr(model.config, "max_position_embeddings", context_tokens) or context_tokens)
        self._info = ModelInfo(
            name=name,
            backend="transformers",
            chat_template=_template_name(tokenizer.chat_template),
            true_token_id=self._true_id,
            context_tokens=min(context_tokens, limit),
        )

    @classmethod
    def from_profile(cls, profile: ModelProfile) -> TransformersModel:
        path = Path(os.path.expanduser(profile.path)) if profile.path else None
        if path is None or not path.is_dir():
            raise ConfigError(
                f"profile {profile.name!r}: checkpoint directory not found: {profile.path or '(empty)'}",
                hint="set the profile's path to a local Hugging Face checkpoint directory (with config.json)",
            )
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"profile {profile.name!r}: {path} holds no config.json, so it is not a checkpoint",
                hint="point the profile's path at the directory that holds config.json and the weights",
            )
        _force_offline()
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ConfigError(
                "the transformers backend needs torch and transformers",
                hint="install the gpu extra: pip install 'pasa-desktop[gpu]' -c constraints.txt",
            ) from exc
        device = resolve_device(profile.device)
        dtype = resolve_dtype(profile.dtype, device)
        from engine.models.memory import ensure_estimates_fit, estimate_checkpoint

        dtype_bytes = 4 if dtype == torch.float32 else 2
        ensure_estimates_fit(
            [
                estimate_checkpoint(
                    path,
                    context_tokens=profile.context_tokens,
                    dtype_bytes=dtype_bytes,
                    name=profile.name,
                    device=device,
                )
            ]
        )
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except Exception as exc:
            raise ConfigError(
                f"profile {profile.name!r}: cannot load the tokenizer from {path}: {exc}",
                hint="the checkpoint directory must hold the tokenizer files saved with it",
            ) from exc
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(
                f"profile {profile.name!r}: the checkpoint at {path} has no chat template",
                hint="PaSa models need Qwen's ChatML template: copy chat_template.jinja (or the chat_template "
                "field of tokenizer_config.json) from the base model into the checkpoint",
            )
        tokenizer.padding_side = "left"
        loader: Any = AutoModelForCausalLM
        try:
            model = loader.from_pretrained(str(path), local_files_only=True, dtype=dtype)
        except TypeError:  # transformers < 4.56 names it torch_dtype
            model = loader.from_pretrained(str(path), local_files_only=True, torch_dtype=dtype)
        except Exception as exc:
            raise ModelError(
                f"profile {profile.name!r}: cannot load the model from {path}: {exc}",
                hint="check that the weight files are complete (re-copy or re-save the checkpoint)",
            ) from exc
        try:
            model.to(device)
        except RuntimeError as exc:  # CUDA out of memory, mostly
            raise ModelError(
                f"profile {profile.name!r}: cannot place the model on {device}: {exc}",
                hint="use a smaller dtype (bfloat16), another device, or a GGUF profile on CPU",
            ) from exc
        model.eval()
        return cls(
            model, tokenizer, name=profile.name, context_tokens=profile.context_tokens, batch_size=profile.batch_size
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    def render(self, messages: Sequence[Message], prefix: str = "") -> str:
        text: str = self._tok.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=True
        )
        return text + prefix

    def _encode(self, messages: Sequence[Message], prefix: str = "") -> list[int]:
        # The template already holds every special token; adding BOS/EOS again would change the prompt.
        ids: list[int] = self._tok.encode(self.render(messages, prefix), add_special_tokens=False)
        if len(ids) + 1 > self._info.context_tokens:
            raise ModelError(
                f"{self._info.name}: prompt of {len(ids)} tokens does not fit the {self._info.context_tokens}-token "
                "context",
                hint="raise the profile's context_tokens or shorten the input",
            )
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False))

    def _batch(self, rows: Sequence[list[int]]) -> tuple[Any, Any, Any]:
        """Left-padded input ids, attention mask and position ids (positions count real tokens only)."""
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), int(self._pad_id), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self._device), mask.to(self._device), positions.to(self._device)

    def _last_logits(self, rows: Sequence[list[int]]) -> Any:
        """Logits of each row's last token. Rows sharing a long prefix (the Selector's instructions and
        user query come first) evaluate it once; otherwise one left-padded batch."""
        shared = _common_prefix(rows)
        if len(rows) > 1 and shared >= _MIN_SHARED_PREFIX:
            try:
                return self._last_logits_shared(rows, shared)
            except (AttributeError, TypeError, NotImplementedError):  # a model or version without these APIs
                pass
        return self._last_logits_padded(rows)

    def _last_logits_shared(self, rows: Sequence[list[int]], shared: int) -> Any:
        """Prefix once (batch 1), its KV cache repeated per row, then the right-padded suffixes; causal
        attention keeps every real token from seeing the padding after it."""
        import torch

        prefix = torch.tensor([rows[0][:shared]], dtype=torch.long, device=self._device)
        decoder = self._model.get_decoder()
        # transformers 5.2x renamed the KV cache `past_key_values` -> `cache` (argument and output) and
        # warns on the old name; older releases only know the old one.
        cache_name = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"
        cache = getattr(decoder(input_ids=prefix, use_cache=True), cache_name)
        cache.batch_repeat_interleave(len(rows))
        suffixes = [r[shared:] for r in rows]
        width = max(len(r) for r in suffixes)
        ids = torch.full((len(rows), width), int(self._pad_id), dtype=torch.long)
        mask = torch.zeros((len(rows), shared + width), dtype=torch.long)
        mask[:, :shared] = 1
        for i, row in enumerate(suffixes):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, shared : shared + len(row)] = 1
        positions = torch.arange(shared, shared + width, dtype=torch.long).expand(len(rows), width)
        hidden = decoder(
            input_ids=ids.to(self._device),
            attention_mask=mask.to(self._device),
            position_ids=positions.to(self._device),
            use_cache=True,
            **{cache_name: cache},
        ).last_hidden_state
        last = torch.tensor([len(r) - 1 for r in suffixes], device=self._device)
        picked = hidden[torch.arange(len(rows), device=self._device), last]
        return self._model.get_output_embeddings()(picked).float()

    def _last_logits_padded(self, rows: Sequence[list[int]]) -> Any:
        ids, mask, positions = self._batch(rows)
        try:
            out = self._model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1)
        except TypeError:  # older transformers: no logits_to_keep
            out = self._model(input_ids=ids, attention_mask=mask, position_ids=positions)
        return out.logits[:, -1, :].float()

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        import torch

        if self._true_id is None:
            raise ModelError(
                f"{self._info.name}: the word 'True' is not a single token, so it cannot score as a Selector",
                hint="use a Qwen/PaSa-family model for the Selector",
            )
        encoded = [self._encode(p) for p in prompts]
        # Prompts that share a prefix (same query) batch together; the order is restored after.
        order = sorted(range(len(encoded)), key=lambda i: encoded[i])
        probs = [0.0] * len(encoded)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                chunk = order[start : start + self._batch_size]
                for i, p in zip(chunk, self._score_rows([encoded[i] for i in chunk]), strict=True):
                    probs[i] = p
        return probs

    def _score_rows(self, rows: list[list[int]]) -> list[float]:
        """P("True") for one batch; on CUDA out-of-memory the batch is halved and retried."""
        import torch

        try:
            logits = self._last_logits(rows)
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            if len(rows) == 1:
                raise ModelError(
                    f"{self._info.name}: out of GPU memory scoring one prompt of {len(rows[0])} tokens",
                    hint="lower the profile's context_tokens, use bfloat16, or a GGUF profile on CPU",
                ) from exc
            half = len(rows) // 2
            return self._score_rows(rows[:half]) + self._score_rows(rows[half:])
        except RuntimeError as exc:
            raise ModelError(
                f"{self._info.name}: scoring failed: {exc}",
                hint="lower the profile's batch_size (GPU memory) or context_tokens",
            ) from exc
        return [float(p) for p in torch.softmax(logits, dim=-1)[:, self._true_id].tolist()]

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        max_tokens, temperature, seed, prefix = options
        import torch

        ids = self._encode(messages, prefix)
        max_tokens = max(1, min(max_tokens, self._info.context_tokens - len(ids)))
        stop = {int(t) for t in _as_list(getattr(self._model.generation_config, "eos_token_id", None))}
        if self._tok.eos_token_id is not None:
            stop.add(int(self._tok.eos_token_id))
        im_end = self._tok.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end != getattr(self._tok, "unk_token_id", None):
            stop.add(im_end)
        # Every sampling knob is explicit: a checkpoint's generation_config.json (Qwen2.5's samples with
        # top_k 20, top_p 0.8 and repetition_penalty 1.05) would otherwise fill in the unset ones, and
        # greedy output would differ from llama.cpp's and the server's.
        sampling: dict[str, Any] = {"do_sample": False, "repetition_penalty": 1.0}
        if temperature > 0:
            sampling.update({"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0})
        with self._lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            input_ids = torch.tensor([ids], device=self._device)
            try:
                out = self._model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    max_new_tokens=max_tokens,
                    eos_token_id=sorted(stop) or None,
                    pad_token_id=int(self._pad_id),
                    **sampling,
                )
            except RuntimeError as exc:
                raise ModelError(
                    f"{self._info.name}: generation failed: {exc}", hint="check the device memory"
                ) from exc
        new = out[0, len(ids) :].tolist()
        text: str = self._tok.decode(new, skip_special_tokens=True)
        return text

    def close(self) -> None:
        with self._lock:
            device = str(self._device)
            self._model = None
            if device.startswith("cuda"):
                import torch

                torch.cuda.empty_cache()


# Below this many shared tokens the extra forward pass costs more than it saves.
_MIN_SHARED_PREFIX = 32


def _common_prefix(rows: Sequence[list[int]]) -> int:
    """Tokens all rows share at the start, leaving each row at least one token of its own."""
    if not rows:
        return 0
    first = rows[0]
    n = min(len(r) for r in rows) - 1
    for row in rows[1:]:
        i = 0
        while i < n and row[i] == first[i]:
            i += 1
        n = i
    return max(n, 0)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _template_name(source: str | None) -> str:
    if not source:
        return "none"
    return "model's own (ChatML family)" if "<|im_start|>" in source else "model's own"
