"""Two tries at a better relevance Selector, on held-out TRAINING questions only (dev.jsonl is never read).

    features  — retrieval signals in the logistic model beside the similarity features: the paper's rank in
                the search's pool (log), its fused retrieval score, and the similarity features standardised
                within each question's pool; 5-fold over questions, seeds 0 and 1.
    tokens    — the paper text cut at 128 word pieces instead of 64 (DOC_TOKENS): compared on the training
                questions whose whole pool the 128-token embedding has covered (it is saved in chunks, as the
                preparation's own, under --work128; an interrupted run is resumed), seeds 0-2.

Both read the preparation's cache (`pasa models prepare-selector`: collected pools, 64-token embeddings)
from <data dir>/selector/work. Printed per try: held-out AUC within the pools, log-loss after Platt
scaling, and the best selection rule's macro precision / recall / F1 (PaSa's definitions) found by the
same search as the preparation's. Results: benchmarks/RESULTS.md §1.11.

    PASA_DATA_DIR=/tmp/h7-data .venv/bin/python benchmarks/relevance_selector_tries.py features
    PASA_DATA_DIR=/tmp/h7-data .venv/bin/python benchmarks/relevance_selector_tries.py tokens --work128 /tmp/w128
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import numpy as np

import engine.models.relevance_training as rt
from engine.models.relevance import MiniLMEncoder, PairEncoder, SelectRule
from engine.models.relevance_training import (
    MIN_SELECTED,
    THRESHOLDS,
    _cross_validate,
    _design,
    _folds,
    _log_loss,
    _papers,
    fit_platt,
    roc_auc,
    simulate,
    usable_questions,
)


def _evaluate(questions: list[Any], design: Any, x: np.ndarray, scalars: int, fold: list[int],
              weights: tuple[float, ...]) -> tuple[float, float, Any, float, SelectRule]:
    pen = np.full(x.shape[1], 300.0)
    pen[:scalars] = 0.01
    sub = type(design)(x, design.y, design.pool_rows, design.fit_rows)
    pool_idx = np.concatenate(design.pool_rows)
    y = design.y[pool_idx]
    z = _cross_validate(sub, fold, pen)[pool_idx]
    a, b = fit_platt(z, y)
    p = 1 / (1 + np.exp(-(a * z + b)))
    probs, off = [], 0
    for rows in design.pool_rows:
        probs.append(p[off : off + len(rows)])
        off += len(rows)
    s, w, rule = max(
        ((simulate(questions, probs, w, SelectRule(t, m)), w, SelectRule(t, m))
         for w in weights for m in MIN_SELECTED for t in THRESHOLDS),
        key=lambda r: (r[0].f1, r[0].recall20, -r[1]),
    )
    return roc_auc(z, y), _log_loss(p, y), s, w, rule


def features(work: Path, pairs: PairEncoder, emb: Any, questions: list[Any]) -> None:
    row_of, q_emb, doc, title = emb
    usable, q_emb = usable_questions(questions, q_emb)
    designs = {p: _design(usable, row_of, q_emb, doc, title, pairs, p) for p in (False, True)}
    base = designs[False].x
    retr = np.concatenate([[c.retrieval for c in q.pool] for q in usable])
    rank = np.concatenate([np.arange(1, len(q.pool) + 1) for q in usable]).astype(float)

    def pool_z(col: np.ndarray) -> np.ndarray:
        out = np.zeros_like(col)
        for rows in designs[False].pool_rows:
            v = col[rows]
            out[rows] = (v - v.mean()) / (v.std() + 1e-6)
        return out

    poolz = np.stack([pool_z(base[:, i]) for i in range(4)], 1)
    extra = {"log_rank": np.log(rank)[:, None], "retrieval": retr[:, None],
             "rank+retr": np.stack([np.log(rank), retr], 1), "poolz": poolz,
             "poolz+rank": np.concatenate([poolz, np.log(rank)[:, None]], 1)}
    for seed in (0, 1):
        fold = _folds(len(usable), seed)
        tries: list[tuple[str, bool, str | None]] = [("base scalars", False, None), ("base+products", True, None)]
        for k in extra:
            tries += [(f"scalars+{k}", False, k), (f"products+{k}", True, k)]
        for name, products, key in tries:
            d = designs[products]
            x = d.x if key is None else np.concatenate([d.x[:, :4], extra[key], d.x[:, 4:]], 1)
            scalars = 4 + (0 if key is None else extra[key].shape[1])
            auc, ll, s, w, rule = _evaluate(usable, d, x, scalars, fold, (0.0, 1.0, 4.0))
            print(f"seed{seed} | {name} | AUC {auc:.3f} | ll {ll:.4f} | P {s.precision:.3f} R {s.recall:.3f} "
                  f"F1 {s.f1:.3f} | {rule.describe()} w{w} {s.selected_per_query:.2f}", flush=True)


def tokens(work: Path, work128: Path, pairs: PairEncoder, emb: Any, questions: list[Any], encoder: MiniLMEncoder) -> None:
    work128.mkdir(parents=True, exist_ok=True)
    if not (work128 / rt.QUESTIONS_FILE).is_file():
        (work128 / rt.QUESTIONS_FILE).write_bytes((work / rt.QUESTIONS_FILE).read_bytes())
    try:
        rt.embed_stage(rt._Job(work128, None, None), encoder, questions, doc_tokens=128)
    except KeyboardInterrupt:
        print("interrupted: comparing on the questions embedded so far")
    row_of, q_emb, doc64, title = emb
    papers = _papers(questions)
    chunks = sorted(glob.glob(str(next(work128.glob("emb-*")) / "chunk-*.npz")))
    doc128 = np.concatenate([np.load(c)["doc"] for c in chunks])
    n = len(doc128)
    keys = {p.key for p in papers[:n]}
    usable, qe = usable_questions(questions, q_emb)
    keep = [i for i, q in enumerate(usable) if all(p.key in keys for p in q.pool)]
    sub = [usable[i] for i in keep]
    qe = qe[keep]
    print(f"papers embedded at 128: {n} of {len(papers)}; questions: {len(sub)}, "
          f"gold in pools: {sum(p.gold for q in sub for p in q.pool)}")
    full = np.zeros_like(doc64)
    full[:n] = doc128
    for name, doc in (("64 tokens", doc64), ("128 tokens", full)):
        for seed in (0, 1, 2):
            fold = _folds(len(sub), seed)
            for products in (False, True):
                d = _design(sub, row_of, qe, doc, title, pairs, products)
                pool_idx = np.concatenate(d.pool_rows)
                auc, ll, s, w, rule = _evaluate(sub, d, d.x, 4, fold, (0.0, 4.0))
                cos = roc_auc(d.x[pool_idx, 0], d.y[pool_idx])
                print(f"{name} seed{seed} products={products} | cos AUC {cos:.3f} | model AUC {auc:.3f} | ll {ll:.4f} "
                      f"| F1 {s.f1:.3f} P {s.precision:.3f} R {s.recall:.3f} | {rule.describe()} w{w}", flush=True)


def main() -> int:
    from relevance_selector import load_prepared, parser_with_work  # the sibling script (benchmarks/ is run as scripts)

    parser = parser_with_work(__doc__, ("features", "tokens"))
    parser.add_argument("--work128", default="/tmp/relevance-128", help="where the 128-token embeddings are kept")
    args = parser.parse_args()
    p = load_prepared(args.work)
    if args.what == "features":
        features(p.work, p.pairs, p.embeddings, p.questions)
    else:
        tokens(p.work, Path(args.work128), p.pairs, p.embeddings, p.questions, p.encoder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
