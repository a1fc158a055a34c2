"""Does a MiniLM cross-encoder fine-tuned on the training pools beat the default relevance Selector? (train only)

One split of the training questions (seed 0): 80 % train the cross-encoder, and the other 20 % test it.
- Training data: the pools a default search scores (20 papers a question; gold = positive), plus the gold
  papers retrieval misses, as positives.
- Model: the packaged all-MiniLM-L6-v2 with a fresh one-logit head. BCE, positives weighted ×5, batch 16,
  2 epochs, AdamW 3e-5 with warm-up and linear decay, 192 word pieces.
- Baseline: on the same test questions, the logistic relevance model's held-out logits (5 folds, as the
  preparation fits it).
- Printed: pooled and mean within-pool AUC; the top-2 selection's macro precision, recall and F1 (labels).
The sum of the two models' within-pool z-scores is printed too. Needs torch (the `train` extra); about
30 min on 2 cores. Results: benchmarks/RESULTS.md §1.12.

    PASA_DATA_DIR=/tmp/h1-data .venv/bin/python benchmarks/cross_encoder_pools.py
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from engine.models.relevance_training import _cross_validate, _design, _folds, roc_auc, usable_questions
from training.local_selector import Pair, _encode, base_model_dir, score_logits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", help="the preparation's work folder (default: <data dir>/selector/work)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    args = parser.parse_args()
    import torch
    from relevance_selector import load_prepared  # the sibling script (benchmarks/ is run as scripts)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    p = load_prepared(args.work)
    row_of, q_emb, doc, title = p.embeddings
    usable, qe = usable_questions(p.questions, q_emb)
    d = _design(usable, row_of, qe, doc, title, p.pairs, True)
    penalty = np.full(d.x.shape[1], 300.0)
    penalty[:4] = 0.01
    logistic = _cross_validate(d, _folds(len(usable), 0), penalty)
    rng = random.Random(0)
    order = list(range(len(usable)))
    rng.shuffle(order)
    test = sorted(order[: len(order) // 5])
    train = [i for i in order if i not in set(test)]
    pairs = [Pair(usable[i].question, c.title, c.abstract, float(c.gold)) for i in train for c in usable[i].pool]
    pairs += [Pair(usable[i].question, c.title, c.abstract, 1.0) for i in train for c in usable[i].extra_gold]
    model_dir = base_model_dir()
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=1)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    batch = 16
    steps = args.epochs * (len(pairs) // batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(5.0))

    print(f"{len(pairs)} training pairs ({int(sum(x.label for x in pairs))} positive), {len(test)} test questions")
    t0 = time.monotonic()
    for _ in range(args.epochs):
        rng.shuffle(pairs)
        model.train()
        for s in range(0, len(pairs) - batch + 1, batch):
            b = pairs[s : s + batch]
            loss = loss_fn(model(**_encode(tok, b, 192)).logits[:, 0], torch.tensor([x.label for x in b]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
    print(f"trained in {time.monotonic() - t0:.0f} s")
    cross: list[np.ndarray] = []
    base: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for qi in test:
        q = usable[qi]
        pool = [Pair(q.question, c.title, c.abstract, float(c.gold)) for c in q.pool]
        cross.append(np.array(score_logits(model, tok, pool, 192)))
        base.append(logistic[d.pool_rows[qi]])
        labels.append(d.y[d.pool_rows[qi]])

    def z(a: np.ndarray) -> np.ndarray:
        return (a - a.mean()) / (a.std() + 1e-9)

    def row(name: str, scores: list[np.ndarray]) -> None:
        within = [roc_auc(s, y) for s, y in zip(scores, labels, strict=True) if 0 < y.sum() < len(y)]
        precision = recall = 0.0
        for s, y, qi in zip(scores, labels, test, strict=True):
            hits = y[np.argsort(-s)[:2]].sum()
            precision += hits / 2 / len(test)
            recall += hits / usable[qi].n_gold / len(test)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"| {name} | {roc_auc(np.concatenate(scores), np.concatenate(labels)):.3f} | {np.mean(within):.3f} "
              f"({len(within)} pools) | {precision:.3f} | {recall:.3f} | {f1:.3f} |")

    print("| Selector (20 % of training questions) | pooled AUC | mean AUC within a pool | top-2 P | R | F1 |")
    print("|---|---|---|---|---|---|")
    row("logistic relevance model (now)", base)
    row("cross-encoder", cross)
    row("sum of within-pool z-scores", [z(a) + z(b) for a, b in zip(base, cross, strict=True)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
