"""Labelled (query, paper) pairs for judging a model as a Selector, and the metrics on them.

Two ways to draw them (`pasa models check --pairs-from`):

- "bm25" (the default, as issue #15's target was set): positives are a query's gold papers found in the
  offline index, wherever retrieval ranks them; negatives are 3 non-gold papers drawn from BM25's top 30
  (hard negatives; a few may be unlabelled positives). The pair building is the training data's
  (`training.data`). It is NOT how the app uses a Selector: about half of these positives are gold papers
  the search never shows the Selector (retrieval missed them, so they are by construction the least like
  the question), set against BM25's closest lexical matches, with 30 % positives where a search's pool
  holds 2-3 % (benchmarks/RESULTS.md §1.9).
- "pools": what a default search shows the Selector: for each query, the best `POOL` papers of the agent's
  own fused retrieval (the question and its variants; the preparation's `collect_questions`), labelled gold
  or not. Whole pools are taken, queries in shuffled order, until `count` pairs. This measures the scores
  as the app uses them: ranking and selecting within a search's pool.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, InputError
from engine.papers import Paper
from pasa_desktop.settings import Settings


@dataclass(frozen=True, slots=True)
class LabelledPair:
    query: str
    paper: Paper
    label: bool
    negatives_from: str  # how negatives were drawn, for the report


def labelled_pairs(queries: Path, settings: Settings, *, count: int, seed: int = 0) -> list[LabelledPair]:
    """`count` pairs from the queries in `queries` (AutoScholarQuery format), over the offline index."""
    from pasa_desktop.offline_index import prepare_index
    from training.data import IndexRetriever, read_queries, selector_pairs_from_queries

    if count <= 0:
        raise InputError("the number of pairs must be positive")
    records = read_queries(queries)
    if not records:
        raise InputError(f"no usable queries in {queries}")
    try:
        prepare_index(settings)  # builds it from the configured corpus on first use, repairs its rankings
    except ConfigError as exc:
        raise ConfigError(
            f"labelled pairs need the offline paper index ({exc.message})",
            hint="run `pasa index build --from CORPUS.jsonl.gz` first",
        ) from exc
    rng = random.Random(seed)
    rng.shuffle(records)
    retriever = IndexRetriever(settings.index_path())
    out: list[LabelledPair] = []
    try:
        for n, pair in enumerate(
            selector_pairs_from_queries(records, retriever, negatives_per_query=3, candidates=30, seed=seed)
        ):
            paper = Paper(id=f"pair-{n}", title=pair.title, abstract=pair.abstract)
            out.append(LabelledPair(pair.query, paper, pair.label, "BM25 top-30 non-gold (local index)"))
            if len(out) >= count:
                break
    finally:
        retriever.index.close()
    if not out:
        raise InputError(f"none of the gold papers of {queries} are in the index", hint="index the matching corpus")
    return out


def pool_pairs(queries: Path, settings: Settings, *, count: int, seed: int = 0) -> list[LabelledPair]:
    """About `count` pairs: the whole pools of count / POOL queries (shuffled by `seed`), as a default search
    would show them to the Selector. Runs the agent's retrieval once per query (seconds each)."""
    from pasa_desktop.offline_index import prepare_index
    from pasa_desktop.selector_setup import POOL, collect_questions

    if count <= 0:
        raise InputError("the number of pairs must be positive")
    lines = [line for line in queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise InputError(f"no usable queries in {queries}")
    prepare_index(settings)
    random.Random(seed).shuffle(lines)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "queries.jsonl"
        subset.write_text("".join(line + "\n" for line in lines[: -(-count // POOL)]), encoding="utf-8")
        questions = collect_questions(settings, subset, pool=POOL)
    out: list[LabelledPair] = []
    for q in questions:
        for n, p in enumerate(q.pool):
            paper = Paper(id=f"pool-{len(out) + n}", title=p.title, abstract=p.abstract)
            out.append(LabelledPair(q.question, paper, p.gold, f"the pool a default search scores (best {POOL})"))
    if not out:
        raise InputError(f"no search of {queries} found anything in the index", hint="index the matching corpus")
    return out


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); 0.5 when one class is missing."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return 0.5
    ranked = sorted((s, i) for i, s in enumerate(scores))
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    pos_rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (pos_rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def selector_metrics(scores: Sequence[float], labels: Sequence[bool], threshold: float = 0.5) -> dict[str, Any]:
    chosen = [s > threshold for s in scores]
    tp = sum(1 for c, y in zip(chosen, labels, strict=True) if c and y)
    precision = tp / sum(chosen) if any(chosen) else 0.0
    recall = tp / sum(labels) if any(labels) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ece, reliability = calibration(scores, labels)
    return {
        "pairs": len(labels),
        "positives": sum(labels),
        "auc": roc_auc(scores, labels),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "ece": ece,
        "reliability": reliability,
    }


def calibration(scores: Sequence[float], labels: Sequence[bool], bins: int = 10) -> tuple[float, list[dict[str, float]]]:
    """Expected calibration error over `bins` equal-width bins of P, and the reliability table (per bin:
    mean predicted P, observed rate of positives, pair count). Only meaningful for a Selector whose
    score claims to be a probability; pairs drawn with a different share of positives than a search
    shows shift it (see benchmarks/RESULTS.md §1.9)."""
    import numpy as np

    from engine.models.relevance_training import expected_calibration_error

    return expected_calibration_error(np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64), bins)
