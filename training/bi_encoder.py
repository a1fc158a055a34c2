"""Fine-tuning MiniLM as a bi-encoder Selector: contrastive loss with in-batch and BM25-hard negatives.

all-MiniLM-L6-v2 was trained as a sentence embedder, and zero-shot its cosine already re-ranks BM25
candidates better than BM25's own order (benchmarks/RESULTS.md (§6)); a cross-encoder head
trained from scratch on ~2.5k pairs did not. Fine-tuning keeps that start: each step pulls a query
towards its gold paper and away from a retrieved non-gold paper of the same query and from the
other queries' papers in the batch (the multiple-negatives ranking loss of sentence-transformers,
written here on plain torch). Whether the tuned weights beat the zero-shot ones is decided on the
held-out *training* queries; the better ones are kept.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from typing import Any

from engine.models.cross_encoder import document_text, mean_pool
from training.config import LocalSelectorSection
from training.faults import finite_update
from training.metrics import MetricsWriter

SCALE = 20.0  # cosine → logit scale of the contrastive loss (sentence-transformers' default)


def _embed(model: Any, tokenizer: Any, texts: list[str], max_length: int) -> Any:
    import torch

    enc = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    return torch.nn.functional.normalize(mean_pool(model(**enc).last_hidden_state, enc["attention_mask"]), dim=-1)


def cosine_scores(model: Any, tokenizer: Any, pairs: list[Any], max_length: int, batch: int = 32) -> list[float]:
    """cos(query, paper) for Pair-like objects (query, title, abstract)."""
    import torch

    model.eval()
    out: list[float] = []
    with torch.inference_mode():
        queries = sorted({p.query for p in pairs})
        q_emb = torch.cat([_embed(model, tokenizer, queries[i : i + batch], max_length)
                           for i in range(0, len(queries), batch)]) if queries else None
        row = {q: i for i, q in enumerate(queries)}
        for start in range(0, len(pairs), batch):
            chunk = pairs[start : start + batch]
            d = _embed(model, tokenizer, [document_text(p.title, p.abstract) for p in chunk], max_length)
            assert q_emb is not None
            q = q_emb[torch.tensor([row[p.query] for p in chunk])]
            out.extend(float(v) for v in (q * d).sum(-1).tolist())
    return out


def ranking_quality(pairs: list[Any], scores: list[float], k: int = 10) -> float:
    """Mean over queries of the share of their gold candidates ranked in the top k (for model choice)."""
    by_query: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for pair, score in zip(pairs, scores, strict=True):
        by_query[pair.query].append((score, pair.label))
    values = []
    for items in by_query.values():
        gold = sum(label for _, label in items)
        if gold:
            top = sorted(items, key=lambda x: -x[0])[:k]
            values.append(sum(label for _, label in top) / gold)
    return sum(values) / len(values) if values else 0.0


def triples(pairs: list[Any], seed: int) -> list[tuple[str, str, str]]:
    """(query, gold paper text, retrieved non-gold paper text of the same query) for every gold pair."""
    rng = random.Random(seed)
    negatives: dict[str, list[str]] = defaultdict(list)
    for p in pairs:
        if not p.label:
            negatives[p.query].append(document_text(p.title, p.abstract))
    out = []
    for p in pairs:
        if p.label and negatives[p.query]:
            out.append((p.query, document_text(p.title, p.abstract), rng.choice(negatives[p.query])))
    rng.shuffle(out)
    return out


def train_bi_encoder(
    model: Any, tokenizer: Any, pairs: list[Any], opts: LocalSelectorSection, metrics: MetricsWriter,
    *, deadline: float, seed: int, smoke: bool,
) -> int:
    """Contrastive fine-tuning in place; returns the optimiser steps taken."""
    import torch

    data = triples(pairs, seed)
    for param in model.embeddings.parameters():  # a third of the weights; little gain on a few hundred pairs
        param.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=opts.learning_rate, weight_decay=0.01)
    per_epoch = max(1, math.ceil(len(data) / opts.batch_size))
    total = 2 if smoke else max(1, math.ceil(per_epoch * opts.epochs))
    warmup = max(1, total // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / total)
    )
    step = 0
    model.train()
    while step < total and data:
        random.Random(seed + step).shuffle(data)
        for start in range(0, len(data), opts.batch_size):
            if step >= total or time.monotonic() > deadline:
                break
            batch = data[start : start + opts.batch_size]
            t0 = time.monotonic()
            q = _embed(model, tokenizer, [b[0] for b in batch], opts.max_length)
            d = _embed(model, tokenizer, [b[1] for b in batch] + [b[2] for b in batch], opts.max_length)
            sim = SCALE * q @ d.T
            # Another gold paper of the same query elsewhere in the batch is not a negative.
            same = torch.tensor([[batch[i][0] == batch[j % len(batch)][0] and j != i and j < len(batch)
                                  for j in range(2 * len(batch))] for i in range(len(batch))])
            sim = sim.masked_fill(same, float("-inf"))
            loss = torch.nn.functional.cross_entropy(sim, torch.arange(len(batch)))
            finite_update(loss, step, trainable, optimiser, scheduler)
            step += 1
            dt = max(time.monotonic() - t0, 1e-6)
            metrics.write(step=step, loss=round(float(loss.detach()), 5), lr=scheduler.get_last_lr()[0],
                          pairs_per_s=round(len(batch) / dt, 2), total_steps=total)
        if time.monotonic() > deadline:
            metrics.event("time_limit", f"stopped at step {step}/{total}: the {opts.max_minutes} min budget")
            break
    model.eval()
    return step


RANK_WEIGHTS = (0.25, 0.5, 1.0, 2.0)


def choose_rank_weight(pairs: list[Any], scores: list[float], rrf_k: float = 60.0) -> tuple[float, dict[float, float]]:
    """The weight of the Selector's rank in the agent's reciprocal-rank fusion (engine/agent/ranking.py)
    that ranks held-out gold best, with each query's quality = gold at fused rank 1 (what the agent
    selects) + share of its gold in the fused top 5. `pairs` are grouped by query in retrieval order.
    Returns (best weight, quality per weight); ties go to the smaller weight."""
    by_query: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_query[pair.query].append(i)
    quality: dict[float, float] = {}
    for weight in RANK_WEIGHTS:
        values = []
        for idx in by_query.values():
            gold = sum(pairs[i].label for i in idx)
            if not gold:
                continue
            selector_rank = {i: r for r, i in enumerate(sorted(idx, key=lambda i: -scores[i]), start=1)}
            fused = sorted(
                idx,
                key=lambda i: -(1.0 / (rrf_k + idx.index(i) + 1) + weight / (rrf_k + selector_rank[i])),
            )
            values.append(pairs[fused[0]].label + sum(pairs[i].label for i in fused[:5]) / gold)
        quality[weight] = sum(values) / len(values) if values else 0.0
    best = max(RANK_WEIGHTS, key=lambda w: (round(quality[w], 9), -w))
    return best, quality
