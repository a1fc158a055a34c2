"""Choose the BM25F parameters (engine/sources/bm25f.py) on train.jsonl, then report them on dev.jsonl.

    PASA_DATA_DIR=/tmp/pasa_data python benchmarks/bm25f_params.py [--top 5]

Every grid point is scored on the 395 training queries only (direct retrieval of the question, as the
BM25 baseline does); the best few by R@20+R@50+R@100 on train are then shown on dev beside FTS5's
bm25() with title x10 (the issue's baseline) and x1 (the agent's old retrieval), measured in the same
run over the same index. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.eval.metrics import KS, Candidate, EvalQuery, MetricTable, load_queries, query_metrics
from engine.papers import Paper
from engine.sources.bm25f import Bm25fParams, Bm25fRanker, Feedback, postings_dir
from engine.sources.local_index import LocalIndex
from pasa_desktop.settings import load_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "queries"
GRID = {
    "k1": (1.2, 2.0, 3.0, 5.0),
    "b_title": (0.3, 0.6, 0.9),
    "b_abstract": (0.6, 0.75, 0.9),
    "title_weight": (1.0, 2.0, 4.0),
}


def measure(queries: Sequence[EvalQuery], search: Callable[[str], list[Paper]]) -> tuple[dict[str, float], float]:
    table = MetricTable()
    started = time.perf_counter()
    for q in queries:
        found = search(q.question)
        # The first result counts as selected, so "precision" is P@1 (the agent selects its top paper).
        table.add(query_metrics(q, [Candidate(p.title, p.arxiv_id, i == 0) for i, p in enumerate(found)]))
    return table.mean(), (time.perf_counter() - started) / max(len(queries), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=5, help="grid points shown on dev")
    parser.add_argument("--limit", type=int, default=0, help="training queries used (0 = all)")
    parser.add_argument("--feedback-only", action="store_true", help="only the feedback grid, over the default params")
    args = parser.parse_args()
    index_path = load_settings().index_path()
    index = LocalIndex(index_path)
    base = Bm25fRanker(postings_dir(index_path))
    train, _ = load_queries(DATA / "train.jsonl")
    dev, _ = load_queries(DATA / "dev.jsonl")
    train = train[: args.limit] if args.limit else train

    def bm25f(params: Bm25fParams, feedback: Feedback | None = None) -> Callable[[str], list[Paper]]:
        index.bm25f = base.with_params(params, feedback)
        return lambda text: [p for p, _ in index.search_sync(text, limit=100)]

    def fts(title_weight: float) -> Callable[[str], list[Paper]]:
        return lambda text: [p for p, _ in index.search_sync(text, limit=100, title_weight=title_weight)]

    if args.feedback_only:
        return feedback_grid(train, dev, Bm25fParams(), bm25f, measure, args.top)
    tried: list[tuple[float, Bm25fParams, dict[str, float]]] = []
    for values in itertools.product(*GRID.values()):
        params = Bm25fParams(**dict(zip(GRID, values, strict=True)))
        metrics, _ = measure(train, bm25f(params))
        total = sum(metrics[f"recall@{k}"] for k in KS)
        tried.append((total, params, metrics))
        print(f"train {params}: " + " ".join(f"{metrics[f'recall@{k}']:.3f}" for k in KS), file=sys.stderr)
    tried.sort(key=lambda t: t[0], reverse=True)

    header = "| ranking | k1 | b_title | b_abstract | title weight | train R@20 | R@50 | R@100 | dev R@20 | R@50 | R@100 | s/query (dev) |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")

    def line(name: str, p: Bm25fParams | None, tr: dict[str, float], dv: dict[str, float], sec: float) -> None:
        cols = [p.k1, p.b_title, p.b_abstract, p.title_weight] if p else ["–"] * 4
        nums = " | ".join(f"{m[f'recall@{k}']:.3f}" for m in (tr, dv) for k in KS)
        print(f"| {name} | " + " | ".join(str(c) for c in cols) + f" | {nums} | {sec:.3f} |")

    for weight in (10.0, 1.0):
        tr, _ = measure(train, fts(weight))
        dv, sec = measure(dev, fts(weight))
        line(f"FTS5 bm25(), title x{weight:g}", None, tr, dv, sec)
    default = Bm25fParams()
    shown = [p for _, p, _ in tried[: args.top]]
    if default not in shown:
        shown.append(default)
    by_params = {p: m for _, p, m in tried}
    for p in shown:
        dv, sec = measure(dev, bm25f(p))
        tag = " (default)" if p == default else ""
        line(f"BM25F #{shown.index(p) + 1} on train{tag}", p, by_params.get(p) or measure(train, bm25f(p))[0], dv, sec)
    print()
    return feedback_grid(train, dev, default, bm25f, measure, args.top)


FEEDBACK_GRID = {"docs": (3, 5, 8), "terms": (10, 30), "weight": (0.4, 0.7), "rank_weight": (0.5, 1.0, 1.5)}


def feedback_grid(
    train: Sequence[EvalQuery],
    dev: Sequence[EvalQuery],
    params: Bm25fParams,
    bm25f: Callable[[Bm25fParams, Feedback | None], Callable[[str], list[Paper]]],
    measure: Callable[[Sequence[EvalQuery], Callable[[str], list[Paper]]], tuple[dict[str, float], float]],
    top: int,
) -> int:
    """Pseudo-relevance feedback over `params`: the grid on train, the best few (and none) on dev.

    Best = the largest R@20+R@50+R@100 on train among settings whose train P@1 stays within
    P1_SLACK of no feedback: the agent selects its first result, so drift at the top costs precision."""
    tried: list[tuple[float, Feedback | None, dict[str, float]]] = []
    for values in [None, *itertools.product(*FEEDBACK_GRID.values())]:
        feedback = Feedback(*values) if values else None
        metrics, _ = measure(train, bm25f(params, feedback))
        tried.append((sum(metrics[f"recall@{k}"] for k in KS), feedback, metrics))
        print(
            f"train {feedback}: P@1 {metrics['precision']:.3f} R "
            + " ".join(f"{metrics[f'recall@{k}']:.3f}" for k in KS),
            file=sys.stderr,
        )
    floor = tried[0][2]["precision"] - P1_SLACK
    tried.sort(key=lambda t: (t[2]["precision"] >= floor, t[0]), reverse=True)
    header = "| feedback (docs, terms, weight, rank weight) | train P@1 | R@20 | R@50 | R@100 | dev P@1 | R@20 | R@50 | R@100 | s/query (dev) |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    default = Feedback()
    shown = [(f, m) for _, f, m in tried[:top]]
    for f in (None, default):
        if f not in [g for g, _ in shown]:
            shown.append((f, next(mm for _, ff, mm in tried if ff == f)))
    for f, m in shown:
        dv, sec = measure(dev, bm25f(params, f))
        name = "none" if f is None else f"{f.docs}, {f.terms}, {f.weight:g}, {f.rank_weight:g}"
        name += " (default)" if f == default else ""
        keys = ["precision", *(f"recall@{k}" for k in KS)]
        nums = " | ".join(f"{mm[key]:.3f}" for mm in (m, dv) for key in keys)
        print(f"| {name} | {nums} | {sec:.3f} |")
    return 0


P1_SLACK = 0.015


if __name__ == "__main__":
    raise SystemExit(main())
