"""What each part of the relevance Selector (engine/models/relevance.py) adds, on held-out TRAINING questions.

Reads the cache the app's own preparation leaves in its data directory (`pasa models prepare-selector`:
the collected pools and the MiniLM embedding chunks), so no embedding is recomputed, and repeats the
job's K-fold protocol for several feature sets: held-out AUC over the pools, log-loss and calibration
error after Platt scaling, and the best selection rule's macro precision / recall / F1 (PaSa's
definitions, recall over every listed gold paper) with the fused ranking's R@20. dev.jsonl is never read.

    PASA_DATA_DIR=/tmp/h1-data .venv/bin/python benchmarks/relevance_selector.py
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.models.relevance import SCALAR_FEATURES, MiniLMEncoder, PairEncoder, SelectRule, document_text
from engine.models.relevance_training import (
    FOLDS,
    MIN_SELECTED,
    RANK_WEIGHTS,
    THRESHOLDS,
    TrainingQuestion,
    _cross_validate,
    _design,
    _folds,
    _Job,
    _log_loss,
    _papers,
    _penalty,
    _questions_load,
    embed_stage,
    expected_calibration_error,
    fit_platt,
    idf_from_texts,
    roc_auc,
    simulate,
    usable_questions,
)
from engine.sources.dense import find_model

TRIES: tuple[tuple[str, tuple[str, ...], bool, float, float], ...] = (
    # (name, scalar features kept, products, L2 scalar, L2 product)
    ("cosine question–paper only", ("cos_doc",), False, 0.01, 0.0),
    ("cosine question–title only", ("cos_title",), False, 0.01, 0.0),
    ("both cosines", ("cos_doc", "cos_title"), False, 0.01, 0.0),
    ("idf overlap only (title, abstract)", ("lex_title", "lex_abstract"), False, 0.01, 0.0),
    ("cosines + idf overlap", SCALAR_FEATURES, False, 0.01, 0.0),
    ("+ embedding products, L2 300 (the job's choice by log-loss)", SCALAR_FEATURES, True, 0.01, 300.0),
    ("+ embedding products, L2 1000", SCALAR_FEATURES, True, 0.01, 1000.0),
    ("+ embedding products, L2 3000", SCALAR_FEATURES, True, 0.01, 3000.0),
)


@dataclass
class Prepared:
    """What the app's preparation left in its work folder, loaded (nothing recomputed)."""

    work: Path
    questions: list[TrainingQuestion]
    encoder: MiniLMEncoder
    embeddings: Any  # embed_stage's (row_of, question, paper-text and title embeddings)
    pairs: PairEncoder


def parser_with_work(doc: str | None, commands: tuple[str, ...]) -> argparse.ArgumentParser:
    """The command line the scripts that read the preparation's cache share: a command and --work."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=commands)
    parser.add_argument("--work", help="the preparation's work folder (default: <data dir>/selector/work)")
    return parser


def load_prepared(work_arg: str | None) -> Prepared:
    """The collected pools and MiniLM embedding chunks of `pasa models prepare-selector` (default folder:
    <data dir>/selector/work), with the index's idf table (else one from the pools' texts)."""
    from pasa_desktop.selector_setup import index_idf, work_dir
    from pasa_desktop.settings import load_settings

    work = Path(work_arg) if work_arg else work_dir()
    questions = _questions_load(work)
    model_dir = find_model()
    if questions is None or model_dir is None:
        raise SystemExit(f"no prepared questions in {work} (run `pasa models prepare-selector` first) or no MiniLM")
    encoder = MiniLMEncoder(model_dir)
    embeddings = embed_stage(_Job(work, None, None), encoder, questions)  # all chunks cached: loads only
    idf = index_idf(load_settings())
    if idf is None:
        idf = idf_from_texts(encoder, [document_text(p.title, p.abstract) for p in _papers(questions)])
    return Prepared(work, questions, encoder, embeddings, PairEncoder(encoder, idf))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", help="the preparation's work folder (default: <data dir>/selector/work)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    prepared = load_prepared(args.work)
    work, questions, pairs = prepared.work, prepared.questions, prepared.pairs
    row_of, q_emb, doc, title = prepared.embeddings
    usable, q_emb = usable_questions(questions, q_emb)
    fold = _folds(len(usable), args.seed)
    designs = {products: _design(usable, row_of, q_emb, doc, title, pairs, products) for products in (False, True)}
    pool_idx = np.concatenate(designs[False].pool_rows)
    y = designs[False].y[pool_idx]
    n_pool = len(usable[0].pool)
    print(f"{len(usable)} training questions with a gold paper in the index, {FOLDS}-fold; pools of {n_pool}: "
          f"{len(pool_idx)} pairs, {int(y.sum())} gold")
    base_probs = [np.linspace(1.0, 0.0, len(q.pool)) for q in usable]  # retrieval order, no model
    for k in (1, 2, 3, 5):
        s = simulate(usable, base_probs, 0.0, SelectRule(threshold=1.0, min_selected=k))
        print(f"| fused retrieval, top {k} | – | – | – | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.recall20:.3f} |")
    print("| features (held-out training questions) | AUC | log-loss | ECE | precision | recall | F1 | R@20 | rule |")
    print("|---|---|---|---|---|---|---|---|---|")
    chosen_p = np.zeros(len(y))
    for name, kept, products, l2s, l2p in TRIES:
        design = designs[products]
        columns = [SCALAR_FEATURES.index(f) for f in kept]
        if products:
            columns += list(range(len(SCALAR_FEATURES), design.x.shape[1]))
        sub = type(design)(design.x[:, columns], design.y, design.pool_rows, design.fit_rows)
        penalty = _penalty(len(columns), l2s, l2p) if products else np.full(len(columns), l2s)
        z = _cross_validate(sub, fold, penalty)[pool_idx]
        a, b = fit_platt(z, y)
        p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        ece, _ = expected_calibration_error(p, y)
        probs, offset = [], 0
        for rows in design.pool_rows:
            probs.append(p[offset : offset + len(rows)])
            offset += len(rows)
        best = max(
            ((simulate(usable, probs, w, SelectRule(t, m)), w, SelectRule(t, m))
             for w in RANK_WEIGHTS for m in MIN_SELECTED for t in THRESHOLDS),
            key=lambda r: (r[0].f1, r[0].recall20, -r[1]),
        )
        s, w, rule = best
        if products and l2p == 300.0:
            chosen_p = p
        print(
            f"| {name} | {roc_auc(z, y):.3f} | {_log_loss(p, y):.4f} | {ece:.3f} | {s.precision:.3f} | {s.recall:.3f} "
            f"| {s.f1:.3f} | {s.recall20:.3f} | {rule.describe()}, rank weight {w:g}, {s.selected_per_query:.2f}/question |",
            flush=True,
        )
    # Equal-count bins (deciles of P): equal-width bins put nearly every pair below 0.1 (base rate 2 %).
    print("\nreliability of the chosen features, held-out training pools, deciles of P:")
    print("| P decile | mean predicted | observed rate | pairs |")
    print("|---|---|---|---|")
    order = np.argsort(chosen_p)
    for i, part in enumerate(np.array_split(order, 10), 1):
        print(f"| {i} | {chosen_p[part].mean():.4f} | {y[part].mean():.4f} | {len(part)} |")
    report_path = work.parent / "relevance" / "relevance.json"
    if report_path.is_file():
        report = json.loads(report_path.read_text(encoding="utf-8"))["report"]
        print("\nthe saved model's reliability on held-out training pools (mean predicted → observed, pairs):")
        print("| P bin | mean predicted | observed rate | pairs |")
        print("|---|---|---|---|")
        for row in report["reliability"]:
            print(f"| {row['lo']:.1f}–{row['hi']:.1f} | {row['mean_p']:.3f} | {row['observed']:.3f} | {row['count']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
