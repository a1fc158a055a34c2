"""Training the relevance Selector (engine/models/relevance.py) from labelled questions, resumably.

The app runs this once, in the background after the offline index is built (pasa_desktop/
selector_setup.py). Stages, each recorded in `<work>/state.json` so an interrupted run resumes:

1. collect — for every training question, the papers a search presents (the agent's fused
   retrieval, best `pool` first) with gold flags, plus the gold papers found in the index but not
   retrieved (kept for reporting; not fitted on, see `_design`). Supplied by the caller (it needs the index).
2. embed — MiniLM embeddings of every question, paper text and title, `CHUNK` papers at a time,
   each chunk saved as it is done (the expensive part: minutes on two cores).
3. fit — K-fold over questions: each fold's model scores held-out questions' pools, so every choice
   below is made on held-out *training* questions: the features and L2 strength (log-loss), Platt
   calibration (on the pools, drawn as a search presents them), the rank weight in the agent's
   fusion and the selection rule (threshold and minimum count: macro F1 as PaSa defines it). The
   final weights are then fitted on all questions and saved with all of the above.

Pure NumPy; no Qt, no database, no app code.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.models.relevance import (
    DOC_TOKENS,
    QUERY_TOKENS,
    SCALAR_FEATURES,
    TITLE_TOKENS,
    MiniLMEncoder,
    PairEmbeddings,
    PairEncoder,
    RelevanceModel,
    SelectRule,
    document_text,
    feature_matrix,
)

F64 = npt.NDArray[np.float64]
CHUNK = 256
FOLDS = 5
RRF_K = 60.0  # the agent's rrf_k (AgentSettings.rrf_k): the fusion simulated here is ranking.rank's
STATE_FILE = "state.json"
QUESTIONS_FILE = "questions.json"
# (use products, L2 on scalar features, L2 on product features): the grid searched on held-out folds.
GRID: tuple[tuple[bool, float, float], ...] = (
    (False, 0.01, 0.0),
    (False, 1.0, 0.0),
    (True, 0.01, 300.0),
    (True, 0.01, 1000.0),
    (True, 0.01, 3000.0),
)
RANK_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
MIN_SELECTED = (0, 1, 2)
THRESHOLDS = tuple(round(0.05 + 0.025 * i, 3) for i in range(37))  # 0.05 … 0.95

Progress = Callable[[str, int, int], None]


class Interrupted(Exception):
    """The caller asked the job to stop; what is done is kept and the next run resumes from it."""


@dataclass(frozen=True, slots=True)
class PoolPaper:
    key: str
    title: str
    abstract: str
    retrieval: float  # the agent's fused retrieval score (ranking.retrieval_score)
    gold: bool


@dataclass
class TrainingQuestion:
    question: str
    n_gold: int  # gold papers listed for the question (recall's denominator, found or not)
    pool: list[PoolPaper]  # what a search presents to the Selector, best retrieval first
    extra_gold: list[PoolPaper] = field(default_factory=list)  # gold in the index, not in the pool


def _atomic_json(path: Path, value: Any) -> None:
    tmp = path.with_name("tmp-" + path.name)
    tmp.write_text(json.dumps(value), encoding="utf-8")
    tmp.replace(path)


def read_state(work: Path) -> dict[str, Any]:
    """The job's progress as last recorded ({} when it never ran)."""
    try:
        value = json.loads((work / STATE_FILE).read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _questions_load(work: Path) -> list[TrainingQuestion] | None:
    path = work / QUESTIONS_FILE
    if not path.is_file():
        return None
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        TrainingQuestion(
            r["question"], int(r["n_gold"]), [PoolPaper(**p) for p in r["pool"]], [PoolPaper(**p) for p in r["extra_gold"]]
        )
        for r in rows
    ]


class _Job:
    def __init__(self, work: Path, progress: Progress | None, stop: Callable[[], bool] | None) -> None:
        self.work = work
        self.progress = progress or (lambda _stage, _done, _total: None)
        self.stop = stop or (lambda: False)

    def state(self, stage: str, done: int, total: int, **extra: Any) -> None:
        _atomic_json(self.work / STATE_FILE, {"stage": stage, "done": done, "total": total, **extra})
        self.progress(stage, done, total)


def _papers(questions: Sequence[TrainingQuestion]) -> list[PoolPaper]:
    seen: dict[str, PoolPaper] = {}
    for q in questions:
        for p in [*q.pool, *q.extra_gold]:
            seen.setdefault(p.key, p)
    return list(seen.values())


def _fingerprint(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "replace") + b"\0")
    return h.hexdigest()[:16]


def embed_stage(
    job: _Job, encoder: MiniLMEncoder, questions: Sequence[TrainingQuestion], chunk: int = CHUNK,
    doc_tokens: int = DOC_TOKENS,
) -> tuple[dict[str, int], npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Embeddings of questions and of every paper (text cut at `doc_tokens` word pieces, and title), from
    cached chunks where present."""
    papers = _papers(questions)
    texts = [document_text(p.title, p.abstract) for p in papers]
    # Another cut is another cache (the default's tag is left as it was, so saved chunks stay valid).
    cut = [] if doc_tokens == DOC_TOKENS else [f"doc_tokens={doc_tokens}"]
    tag = _fingerprint([*texts, *(q.question for q in questions), f"chunk={chunk}", *cut])
    folder = job.work / f"emb-{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    chunks = (len(papers) + chunk - 1) // chunk
    q_path = folder / "questions.npy"
    if not q_path.is_file():
        with (folder / "tmp-questions.npy").open("wb") as fh:
            np.save(fh, encoder.encode([q.question for q in questions], QUERY_TOKENS))
        (folder / "tmp-questions.npy").replace(q_path)
    docs, titles = [], []
    for c in range(chunks):
        path = folder / f"chunk-{c:05d}.npz"
        if not path.is_file():
            if job.stop():
                raise Interrupted
            part = papers[c * chunk : (c + 1) * chunk]
            d = encoder.encode(texts[c * chunk : (c + 1) * chunk], doc_tokens)
            t = encoder.encode([p.title.strip() for p in part], TITLE_TOKENS)
            tmp = folder / f"tmp-chunk-{c:05d}.npz"
            with tmp.open("wb") as fh:
                np.savez(fh, doc=d, title=t)
            tmp.replace(path)
        with np.load(path) as arrays:
            docs.append(arrays["doc"])
            titles.append(arrays["title"])
        job.state("embed", min((c + 1) * chunk, len(papers)), len(papers))
    dim = encoder.dim
    doc = np.concatenate(docs) if docs else np.zeros((0, dim), np.float32)
    title = np.concatenate(titles) if titles else np.zeros((0, dim), np.float32)
    return {p.key: i for i, p in enumerate(papers)}, np.load(q_path), doc, title


# -- fitting ------------------------------------------------------------------------------------


def fit_logistic(x: F64, y: F64, l2: F64, *, iterations: int = 30) -> tuple[F64, float]:
    """L2-regularised logistic regression by Newton's method (x already standardised; bias unpenalised)."""
    n, d = x.shape
    xb = np.concatenate([x, np.ones((n, 1))], axis=1)
    penalty = np.concatenate([l2, [0.0]])
    w = np.zeros(d + 1)
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * (xb @ w)))
        grad = xb.T @ (p - y) + penalty * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-6)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-7:
            break
    return w[:-1], float(w[-1])


def fit_platt(z: F64, y: F64) -> tuple[float, float]:
    """P = sigmoid(a·z + b) by maximum likelihood (Platt's targets smooth the labels slightly)."""
    pos, neg = float(y.sum()), float(len(y) - y.sum())
    target = np.where(y > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))
    w, b = fit_logistic(z[:, None], target, np.zeros(1), iterations=50)
    return float(w[0]), b


def expected_calibration_error(p: F64, y: F64, bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """ECE over equal-width bins, and the reliability table (mean predicted, observed rate, count)."""
    table: list[dict[str, float]] = []
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = (p >= lo) & ((p < hi) if b < bins - 1 else (p <= hi))
        count = int(inside.sum())
        if not count:
            continue
        mean_p, rate = float(p[inside].mean()), float(y[inside].mean())
        ece += count / len(p) * abs(mean_p - rate)
        table.append({"lo": lo, "hi": hi, "mean_p": mean_p, "observed": rate, "count": count})
    return ece, table


def roc_auc(scores: F64, labels: F64) -> float:
    """Mann-Whitney AUC (ties count half)."""
    pos, neg = scores[labels > 0], scores[labels <= 0]
    if not len(pos) or not len(neg):
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels > 0].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


@dataclass
class Selection:
    """Macro precision/recall/F1 of a rule over questions, with the fused ranking's R@20."""

    precision: float
    recall: float
    f1: float
    recall20: float
    selected_per_query: float


def simulate(
    questions: Sequence[TrainingQuestion], probs: Sequence[F64], rank_weight: float, rule: SelectRule
) -> Selection:
    """The agent's ranking (engine/agent/ranking.py `rank`) and selection on each question's pool."""
    precision = recall = r20 = chosen_total = 0.0
    for q, p in zip(questions, probs, strict=True):
        retrieval = np.array([c.retrieval for c in q.pool])
        gold = np.array([c.gold for c in q.pool])
        by_p = np.argsort(-p, kind="stable")
        sel_rank = np.empty(len(p))
        sel_rank[by_p] = np.arange(1, len(p) + 1)
        final = retrieval + rank_weight / (RRF_K + sel_rank)
        order = np.argsort(-final, kind="stable")
        chosen = p[order] > rule.threshold
        missing = rule.min_selected - int(chosen.sum())
        for i in range(len(order)):
            if missing <= 0:
                break
            if not chosen[i]:
                chosen[i] = True
                missing -= 1
        hits = int(gold[order][chosen].sum())
        n = max(q.n_gold, 1)
        precision += hits / int(chosen.sum()) if chosen.any() else 0.0
        recall += hits / n
        r20 += int(gold[order][:20].sum()) / n
        chosen_total += int(chosen.sum())
    m = max(len(questions), 1)
    p_, r_ = precision / m, recall / m
    return Selection(p_, r_, 2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0.0, r20 / m, chosen_total / m)


@dataclass
class _Design:
    """Per-question row ranges into the stacked pair features."""

    x: F64
    y: F64
    pool_rows: list[npt.NDArray[np.int64]]  # rows of each question's pool (in pool order)
    fit_rows: list[npt.NDArray[np.int64]]  # rows used to fit (pool + extra gold)


def _design(
    questions: Sequence[TrainingQuestion],
    row_of: dict[str, int],
    q_emb: npt.NDArray[np.float32],
    doc: npt.NDArray[np.float32],
    title: npt.NDArray[np.float32],
    pairs: PairEncoder,
    products: bool,
) -> _Design:
    q_index: list[int] = []
    p_index: list[int] = []
    labels: list[float] = []
    triples: list[tuple[str, str, str]] = []
    pool_rows: list[npt.NDArray[np.int64]] = []
    fit_rows: list[npt.NDArray[np.int64]] = []
    for qi, q in enumerate(questions):
        start = len(labels)
        # Fitted on the pool only, as a search presents it. The gold papers retrieval misses
        # (extra_gold) are, by selection, the least like their question: added as positives they taught
        # the model the opposite of relevance (held-out AUC 0.40 over the pools; benchmarks/RESULTS.md §1.9).
        for paper in q.pool:
            q_index.append(qi)
            p_index.append(row_of[paper.key])
            labels.append(1.0 if paper.gold else 0.0)
            triples.append((q.question, paper.title, paper.abstract))
        pool_rows.append(np.arange(start, start + len(q.pool)))
        fit_rows.append(np.arange(start, len(labels)))
    q_words = dict(zip([q.question for q in questions], pairs.words([q.question for q in questions]), strict=True))
    t_words = pairs.words([t for _, t, _ in triples])
    a_words = pairs.words([a[:1500] for _, _, a in triples])
    from engine.models.relevance import lexical_overlap

    emb = PairEmbeddings(
        query=q_emb[q_index],
        doc=doc[p_index],
        title=title[p_index],
        lex_title=np.array([lexical_overlap(q_words[q], t, pairs.idf) for (q, _, _), t in zip(triples, t_words, strict=True)]),
        lex_abstract=np.array(
            [lexical_overlap(q_words[q], a, pairs.idf) for (q, _, _), a in zip(triples, a_words, strict=True)]
        ),
    )
    return _Design(feature_matrix(emb, products), np.array(labels), pool_rows, fit_rows)


def _standardise(x: F64) -> tuple[F64, F64]:
    mean = x.mean(0)
    scale = x.std(0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def _penalty(d: int, l2_scalar: float, l2_product: float) -> F64:
    out = np.full(d, l2_product)
    out[: len(SCALAR_FEATURES)] = l2_scalar
    return out


def _folds(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    fold = [0] * n
    for position, i in enumerate(order):
        fold[i] = position % FOLDS
    return fold


def _cross_validate(design: _Design, fold: list[int], l2: F64) -> F64:
    """Held-out logits for every pool row (each from the model fitted on the other folds)."""
    out = np.zeros(len(design.y))
    for f in range(FOLDS):
        train = np.concatenate([r for r, k in zip(design.fit_rows, fold, strict=True) if k != f] or [np.zeros(0, np.int64)])
        test = np.concatenate([r for r, k in zip(design.pool_rows, fold, strict=True) if k == f] or [np.zeros(0, np.int64)])
        if not len(test) or not len(train):
            continue
        mean, scale = _standardise(design.x[train])
        w, b = fit_logistic((design.x[train] - mean) / scale, design.y[train], l2)
        out[test] = ((design.x[test] - mean) / scale) @ w + b
    return out


def _log_loss(p: F64, y: F64) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def usable_questions(
    questions: Sequence[TrainingQuestion], q_emb: npt.NDArray[np.float32]
) -> tuple[list[TrainingQuestion], npt.NDArray[np.float32]]:
    """The questions with a pool and a gold paper in the index, and their rows of the question embeddings
    (which follow `questions`: the rows must move with the questions they belong to)."""
    keep = [i for i, q in enumerate(questions) if q.pool and any(p.gold for p in [*q.pool, *q.extra_gold])]
    return [questions[i] for i in keep], q_emb[keep]


def fit_stage(
    job: _Job, questions: Sequence[TrainingQuestion], embeddings: Any, pairs: PairEncoder, *, seed: int = 0, pool: int = 30
) -> RelevanceModel:
    row_of, q_emb, doc, title = embeddings
    usable, q_emb = usable_questions(questions, q_emb)
    fold = _folds(len(usable), seed)
    designs = {products: _design(usable, row_of, q_emb, doc, title, pairs, products) for products in (False, True)}
    pool_idx = np.concatenate(designs[False].pool_rows)
    y_pool = designs[False].y[pool_idx]
    tries: list[dict[str, Any]] = []
    best: tuple[float, int, F64] | None = None
    for i, (products, l2s, l2p) in enumerate(GRID):
        job.state("fit", i, len(GRID) + 2)
        if job.stop():
            raise Interrupted
        design = designs[products]
        z = _cross_validate(design, fold, _penalty(design.x.shape[1], l2s, l2p))[pool_idx]
        a, b = fit_platt(z, y_pool)
        p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        loss = _log_loss(p, y_pool)
        tries.append({"products": products, "l2_scalar": l2s, "l2_product": l2p, "log_loss": loss, "auc": roc_auc(z, y_pool)})
        if best is None or loss < best[0]:
            best = (loss, i, z)
    assert best is not None
    _, chosen, z_oof = best
    products, l2s, l2p = GRID[chosen]
    a, b = fit_platt(z_oof, y_pool)
    p_oof = 1.0 / (1.0 + np.exp(-(a * z_oof + b)))
    ece, reliability = expected_calibration_error(p_oof, y_pool)
    # Per-question calibrated probabilities of the pool, in pool order, for the rule search.
    probs: list[F64] = []
    offset = 0
    for rows in designs[products].pool_rows:
        probs.append(p_oof[offset : offset + len(rows)])
        offset += len(rows)
    job.state("fit", len(GRID), len(GRID) + 2)
    baseline = simulate(usable, probs, 0.0, SelectRule(threshold=1.0, min_selected=1))
    rules: list[tuple[float, float, float, SelectRule, Selection]] = []
    for weight in RANK_WEIGHTS:
        for minimum in MIN_SELECTED:
            for t in THRESHOLDS:
                rule = SelectRule(threshold=t, min_selected=minimum)
                s = simulate(usable, probs, weight, rule)
                rules.append((s.f1, s.recall20, -weight, rule, s))
    _, _, neg_weight, rule, sel = max(rules, key=lambda r: (r[0], r[1], r[2], -r[3].threshold))
    # Final weights on every question, with the held-out choices above.
    design = designs[products]
    fit_idx = np.concatenate(design.fit_rows)
    mean, scale = _standardise(design.x[fit_idx])
    w, bias = fit_logistic((design.x[fit_idx] - mean) / scale, design.y[fit_idx], _penalty(design.x.shape[1], l2s, l2p))
    job.state("fit", len(GRID) + 1, len(GRID) + 2)
    report = {
        "questions": len(usable),
        "pool": pool,
        "pairs_fitted": len(fit_idx),
        "pool_pairs": len(pool_idx),
        "pool_positives": int(y_pool.sum()),
        "grid": tries,
        "chosen": {"products": products, "l2_scalar": l2s, "l2_product": l2p},
        "heldout_auc": roc_auc(z_oof, y_pool),
        "heldout_ece": ece,
        "reliability": reliability,
        "heldout_selection": asdict(sel),
        "heldout_top1_by_retrieval": asdict(baseline),
        "rank_weight": -neg_weight,
    }
    return RelevanceModel(
        weights=w,
        bias=bias,
        mean=mean,
        scale=scale,
        idf=pairs.idf,
        products=products,
        platt_a=a,
        platt_b=b,
        rule=rule,
        score_top=pool,
        rank_weight=-neg_weight,
        report=report,
    )


def idf_from_texts(encoder: MiniLMEncoder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Word-piece idf over `texts` (when the index's own table is not available)."""
    vocab = encoder.tokenizer.get_vocab_size()
    df = np.zeros(vocab)
    for enc in encoder.tokenizer.encode_batch(list(texts), add_special_tokens=False):
        df[np.unique(np.asarray(enc.ids, dtype=np.int64))] += 1
    return np.where(df > 0, np.log((len(texts) + 1) / (df + 1)), 0.0).astype(np.float32)


def prepare(
    work: Path,
    target: Path,
    model_dir: Path,
    collect: Callable[[], list[TrainingQuestion]],
    *,
    idf: npt.NDArray[np.float32] | None = None,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    pool: int = 30,
    seed: int = 0,
    chunk: int = CHUNK,
) -> RelevanceModel:
    """Run (or resume) the whole job and save the model in `target`. Raises Interrupted when `stop`
    says so between steps; everything finished so far stays in `work` for the next run."""
    work.mkdir(parents=True, exist_ok=True)
    job = _Job(work, progress, stop)
    questions = _questions_load(work)
    if questions is None:
        job.state("collect", 0, 1)
        questions = collect()
        _atomic_json(
            work / QUESTIONS_FILE,
            [{"question": q.question, "n_gold": q.n_gold, "pool": [asdict(p) for p in q.pool],
              "extra_gold": [asdict(p) for p in q.extra_gold]} for q in questions],
        )
    encoder = MiniLMEncoder(model_dir)
    embeddings = embed_stage(job, encoder, questions, chunk)
    if idf is None:
        idf = idf_from_texts(encoder, [document_text(p.title, p.abstract) for p in _papers(questions)])
    model = fit_stage(job, questions, embeddings, PairEncoder(encoder, idf), seed=seed, pool=pool)
    model.save(target)
    job.state("done", 1, 1)
    return model
