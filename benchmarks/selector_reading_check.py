"""What the relevance Selector's choices are worth when a person reads them (TRAINING questions only).

The Selector is calibrated against AutoScholarQuery's labels: for each question, the papers that the
question's source paper happened to cite. Most papers that meet a question are not among them, so label
precision says little about what a researcher would find useful. This script puts that to a reading:

    sample  — for 25 training questions drawn with a fixed seed, the 2 papers the Selector ranks first in
              the pool a default search scores (held-out P, 5 folds over questions, as the preparation
              fits) and 2 others drawn at random from the rest of that pool. Writes them, shuffled and
              without their group, P or label, for a reader to judge (question, title, abstract).
    score   — joins the reader's judgments (1 = the paper meets the question, 0 = it does not) with the
              hidden key and prints the table of benchmarks/RESULTS.md §1.12.

The judgments are kept in benchmarks/selector_reading_check.json by question fingerprint and paper key
(no text from the data set). dev.jsonl is never read.

    PASA_DATA_DIR=/tmp/h1-data .venv/bin/python benchmarks/selector_reading_check.py sample --out /tmp/blind
    PASA_DATA_DIR=/tmp/h1-data .venv/bin/python benchmarks/selector_reading_check.py score
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from engine.models.relevance_training import _cross_validate, _design, _folds, fit_platt, roc_auc, usable_questions

QUESTIONS = 25
SEED = 20261202
JUDGMENTS = Path(__file__).with_name("selector_reading_check.json")


def fingerprint(question: str) -> str:
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:12]


def draw(work: str | None) -> list[dict[str, Any]]:
    """The sample, in a fixed order: per question its 2 selected papers, then 2 others, with the hidden key."""
    from relevance_selector import load_prepared  # the sibling script (benchmarks/ is run as scripts)

    p = load_prepared(work)
    row_of, q_emb, doc, title = p.embeddings
    usable, qe = usable_questions(p.questions, q_emb)
    d = _design(usable, row_of, qe, doc, title, p.pairs, True)
    penalty = np.full(d.x.shape[1], 300.0)  # the preparation's choice (RESULTS §1.9)
    penalty[:4] = 0.01
    z = _cross_validate(d, _folds(len(usable), 0), penalty)
    pool_idx = np.concatenate(d.pool_rows)
    a, b = fit_platt(z[pool_idx], d.y[pool_idx])
    prob = 1 / (1 + np.exp(-(a * z + b)))
    rng = random.Random(SEED)
    out: list[dict[str, Any]] = []
    for qi in rng.sample(range(len(usable)), QUESTIONS):
        q = usable[qi]
        pr = prob[d.pool_rows[qi]]
        order = [int(i) for i in np.argsort(-pr, kind="stable")]
        chosen = [(i, "selected") for i in order[:2]] + [(i, "other") for i in rng.sample(order[2:], 2)]
        for i, group in chosen:
            paper = q.pool[i]
            out.append({"question": q.question, "qfp": fingerprint(q.question), "key": paper.key,
                        "title": paper.title, "abstract": paper.abstract[:1200], "group": group,
                        "gold": bool(paper.gold), "p": float(pr[i]), "pool_rank": i + 1})
    return out


def sample(work: str | None, out: Path) -> None:
    items = draw(work)
    random.Random(SEED + 1).shuffle(items)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "blind.jsonl").open("w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps({k: it[k] for k in ("qfp", "key", "question", "title", "abstract")}) + "\n")
    print(f"{len(items)} pairs for reading in {out / 'blind.jsonl'}; record each as "
          f'"<qfp> <key>": 1 or 0 in {JUDGMENTS.name}')


def score(work: str | None) -> None:
    judged: dict[str, int] = json.loads(JUDGMENTS.read_text(encoding="utf-8"))["judgments"]
    items = draw(work)
    missing = [f"{it['qfp']} {it['key']}" for it in items if f"{it['qfp']} {it['key']}" not in judged]
    if missing:
        raise SystemExit(f"{len(missing)} pairs not judged yet, e.g. {missing[0]}")
    read = np.array([judged[f"{it['qfp']} {it['key']}"] for it in items], dtype=float)
    gold = np.array([it["gold"] for it in items], dtype=float)
    p = np.array([it["p"] for it in items])
    selected = np.array([it["group"] == "selected" for it in items])
    print("| group (25 training questions) | pairs | meet the question when read | cited (label) | mean P |")
    print("|---|---|---|---|---|")
    for name, mask in (("the Selector's best 2 of the pool", selected), ("2 others from the same pool", ~selected)):
        print(f"| {name} | {int(mask.sum())} | {int(read[mask].sum())} ({read[mask].mean():.2f}) "
              f"| {int(gold[mask].sum())} ({gold[mask].mean():.2f}) | {p[mask].mean():.3f} |")
    print(f"\nAUC of P: against reading {roc_auc(p, read):.3f}; against the labels {roc_auc(p, gold):.3f}")
    print(f"cited papers judged to meet their question: {int(read[gold > 0].sum())} of {int(gold.sum())}")
    read_papers = int(read.sum())
    print(f"papers that meet their question: {read_papers}; of them cited (labelled): {int((read * gold).sum())}")


def main() -> int:
    from relevance_selector import parser_with_work  # the sibling script (benchmarks/ is run as scripts)

    parser = parser_with_work(__doc__, ("sample", "score"))
    parser.add_argument("--out", default="/tmp/selector-reading", help="where `sample` writes the blind pairs")
    args = parser.parse_args()
    if args.what == "sample":
        sample(args.work, Path(args.out))
    else:
        score(args.work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
