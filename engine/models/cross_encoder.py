"""A small cross-encoder as the Selector: P(relevant | query, title, abstract) from a fine-tuned MiniLM.

Trained on a laptop's CPU by `pasa train local-selector` (training/local_selector.py), it scores a
pair in ~0.1 s on 2 cores where SmolLM2 as a PaSa Selector needs > 1 s and ranks worse than BM25.
It implements the ChatModel protocol for the Selector role only: `true_probabilities` reads the
query, title and abstract back out of PaSa's Selector prompt; `score` takes them directly.

A checkpoint directory holds a transformers encoder, its tokenizer, and `pasa_cross_encoder.json`:
`{"architecture", "max_length", "platt_a", "platt_b"}`. `architecture` is "cross-encoder" (a
sequence classifier with one logit over query+paper) or "bi-encoder" (mean-pooled, normalised
sentence embeddings; the logit is the cosine of query and paper — MiniLM's native use, and what
measured better on the dev set for the same CPU budget). The Platt
parameters map the logit z to P = sigmoid(a·z + b), fitted on held-out queries' retrieved candidates
so that "selected iff P > 0.5" keeps its meaning.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.agent.prompts import SELECTOR_PROMPT
from engine.errors import ModelError
from engine.models.base import ChatModel, Generation, Message, ModelInfo, without_prefix
from engine.models.score_meaning import CALIBRATED_SCORE, CITED_CLAUSE

META_FILE = "pasa_cross_encoder.json"
PROMPT_CONTEXT_TOKENS = 1 << 20


def _selector_pattern() -> re.Pattern[str]:
    # Rebuild PaSa's Selector prompt as a regex: literal text escaped, each placeholder a lazy group.
    parts = re.split(r"(\{user_query\}|\{title\}|\{abstract\})", SELECTOR_PROMPT)
    seen: set[str] = set()
    out: list[str] = []
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
            seen.add(name)
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\s*$", re.DOTALL)


_SELECTOR_RE = _selector_pattern()


def parse_selector_prompt(prompt: str) -> tuple[str, str, str]:
    """(query, title, abstract) from a PaSa Selector prompt; ModelError if the text is not one."""
    match = _SELECTOR_RE.match(prompt)
    if match is None:
        raise ModelError(
            "the cross-encoder Selector only understands PaSa's Selector prompt",
            hint="use this profile for the Selector role, not the Crawler",
        )
    return match.group("user_query"), match.group("title"), match.group("abstract")


def document_text(title: str, abstract: str) -> str:
    """What the cross-encoder reads on the paper side (training and scoring must agree)."""
    return f"{title.strip()}. {abstract.strip()}" if abstract.strip() else title.strip()


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Sentence embedding as sentence-transformers' MiniLM computes it: the mask-weighted mean of tokens."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class PairSelector(ChatModel):
    """What a Selector that scores (question, title, abstract) triples directly shares with the others:
    it reads PaSa's Selector prompt back into the triple, and answers a reply request in PaSa's format
    with its real decision and a reason that states its probability (nothing generated, nothing invented).
    Subclasses give `score_pairs`, the threshold of their decision and the words of the reason."""

    @staticmethod
    def pair_info(name: str, backend: str, **recorded: Any) -> ModelInfo:
        """Its ModelInfo: no chat template, no logprobs; `recorded` is what its training job recorded."""
        # The PaSa prompt only carries query, title and abstract here; the model cuts what it reads itself.
        # Reporting its own token limit (128) made the Selector cut every abstract to nothing to fit a
        # prompt template that is longer than that on its own.
        return ModelInfo(name=name, backend=backend, chat_template="none (reads PaSa's Selector prompt)",
                         true_token_id=None, context_tokens=PROMPT_CONTEXT_TOKENS, supports_logprobs=False, **recorded)

    def score_pairs(self, pairs: Sequence[tuple[str, str, str]]) -> list[float]:
        """P(cited), calibrated, for (question, title, abstract) triples, in order."""
        raise NotImplementedError

    def decision_threshold(self) -> float:
        return 0.5

    def reason(self, p: float) -> str:
        raise NotImplementedError

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        return self.score_pairs([parse_selector_prompt(p[-1]["content"]) for p in prompts])

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        p = self.score_pairs([parse_selector_prompt(messages[-1]["content"])])[0]
        decision = "True" if p > self.decision_threshold() else "False"
        return without_prefix(f"{decision}\nReason: {self.reason(p)}", options.prefix)

    def close(self) -> None:
        return None


class CrossEncoderSelector(PairSelector):
    """A ChatModel (Selector role) backed by a one-logit sequence classifier."""

    def __init__(
        self,
        path: Path,
        *,
        name: str = "cross-encoder",
        threads: int | None = None,
        batch_size: int = 16,
        device: str = "cpu",
    ) -> None:
        meta_path = path / META_FILE
        if not meta_path.is_file():
            raise ModelError(
                f"{path} is not a cross-encoder Selector checkpoint (no {META_FILE})",
                hint="train one with `pasa train local-selector`",
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            self.architecture = str(meta.get("architecture", "cross-encoder"))
            self.max_length = int(meta.get("max_length", 128))
            self.platt_a = float(meta.get("platt_a", 1.0))
            self.platt_b = float(meta.get("platt_b", 0.0))
            raw_weight = meta.get("rank_weight")
            self.rank_weight = float(raw_weight) if raw_weight is not None else None
        except (ValueError, TypeError) as exc:
            raise ModelError(f"{meta_path} is unreadable: {exc}") from exc
        try:
            import torch
            from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise ModelError("the cross-encoder needs torch and transformers", hint="install the `gpu` extra") from exc
        if threads:
            torch.set_num_threads(threads)
        try:
            self._tokenizer: Any = AutoTokenizer.from_pretrained(str(path))
            loader = AutoModel if self.architecture == "bi-encoder" else AutoModelForSequenceClassification
            self._model: Any = loader.from_pretrained(str(path)).to(device).eval()
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the cross-encoder from {path}: {exc}") from exc
        self._torch: Any = torch
        self._device = device
        self._batch = batch_size
        self._lock = threading.Lock()
        self._info = self.pair_info(name, "cross-encoder", rank_weight=self.rank_weight)

    @property
    def info(self) -> ModelInfo:
        return self._info

    def _embed(self, texts: Sequence[str]) -> Any:
        """Mean-pooled, L2-normalised embeddings (bi-encoder), batched."""
        torch = self._torch
        chunks = []
        for start in range(0, len(texts), self._batch):
            enc = self._tokenizer(
                list(texts[start : start + self._batch]), truncation=True, max_length=self.max_length,
                padding=True, return_tensors="pt",
            ).to(self._device)
            chunks.append(mean_pool(self._model(**enc).last_hidden_state, enc["attention_mask"]))
        return torch.nn.functional.normalize(torch.cat(chunks), dim=-1)

    def logits(self, pairs: Sequence[tuple[str, str, str]]) -> list[float]:
        """Raw relevance logits for (query, title, abstract) triples, batched."""
        if self.architecture == "bi-encoder":
            with self._lock, self._torch.inference_mode():
                queries = sorted({q for q, _, _ in pairs})
                q_emb = self._embed(queries)
                d_emb = self._embed([document_text(t, a) for _, t, a in pairs])
                row = {q: i for i, q in enumerate(queries)}
                index = self._torch.tensor([row[q] for q, _, _ in pairs], device=self._device)
                return [float(v) for v in (q_emb[index] * d_emb).sum(-1).cpu().tolist()]
        out: list[float] = []
        torch = self._torch
        with self._lock, torch.inference_mode():
            for start in range(0, len(pairs), self._batch):
                chunk = pairs[start : start + self._batch]
                enc = self._tokenizer(
                    [q for q, _, _ in chunk],
                    [document_text(t, a) for _, t, a in chunk],
                    truncation="only_second",
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self._device)
                values = self._model(**enc).logits[:, 0].float().cpu().tolist()
                out.extend(float(v) for v in values)
        return out

    def probability(self, logit: float) -> float:
        z = self.platt_a * logit + self.platt_b
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def score_pairs(self, pairs: Sequence[tuple[str, str, str]]) -> list[float]:
        return [self.probability(z) for z in self.logits(pairs)]

    def score(self, query: str, title: str, abstract: str) -> float:
        """P(the paper satisfies the query)."""
        return self.score_pairs([(query, title, abstract)])[0]

    def reason(self, p: float) -> str:
        return f"a cross-encoder trained on labelled query-paper pairs gives {CALIBRATED_SCORE} = {p:.2f} ({CITED_CLAUSE})."

    def count_tokens(self, text: str) -> int:
        # verbose=False: counting a whole PaSa prompt is not feeding it to the encoder (no length warning).
        return len(self._tokenizer.encode(text, add_special_tokens=False, verbose=False))
