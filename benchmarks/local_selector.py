"""Does the CPU-trained cross-encoder Selector pay off? Re-rank BM25 candidates of held-out queries.

For each query of a query file (dev, never train): take the top `--depth` BM25 candidates from the
offline index, score them with each Selector, and report PaSa's metrics over that candidate set —
R@20 (recall of the 20 best by score), precision and recall of the selected set (P > 0.5) — with
ratios against BM25's own order (measured in the same run). The embedded SmolLM2 Selector (the
untrained default) is slow on CPU, so it runs on the first `--embedded-queries` queries only, and
the table has a row of the other rankers on that same subset.

    python benchmarks/local_selector.py --index INDEX --checkpoint CKPT [--queries dev.jsonl]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.agent.prompts import selector_prompt
from engine.papers import Paper
from engine.sources.local_index import BASELINE_TITLE_WEIGHT, LocalIndex
from training.data import QueryRecord, read_queries

Scorer = Callable[[str, Sequence[Paper]], list[float]]


@dataclass
class Row:
    name: str
    queries: int
    r20: float
    precision: float
    recall: float
    selected: float
    seconds_per_pair: float


def evaluate(name: str, cases: list[tuple[QueryRecord, list[Paper]]], scorer: Scorer | None) -> Row:
    r20 = prec = rec = sel = 0.0
    pairs = 0
    started = time.monotonic()
    for record, papers in cases:
        gold_total = max(len(record.gold_titles), 1)
        if scorer is None:  # BM25's own order; "selected" = nothing (BM25 has no decision)
            scores = [1.0 - i / len(papers) for i in range(len(papers))] if papers else []
            decide = [False] * len(papers)
        else:
            scores = scorer(record.question, papers)
            decide = [s > 0.5 for s in scores]
        pairs += len(papers)
        order = sorted(range(len(papers)), key=lambda i: -scores[i])
        r20 += sum(record.is_gold(papers[i]) for i in order[:20]) / gold_total
        chosen = [p for p, d in zip(papers, decide, strict=True) if d]
        hits = sum(record.is_gold(p) for p in chosen)
        prec += hits / len(chosen) if chosen else 0.0
        rec += hits / gold_total
        sel += len(chosen)
    n = max(len(cases), 1)
    elapsed = time.monotonic() - started
    return Row(name, len(cases), r20 / n, prec / n, rec / n, sel / n, elapsed / max(pairs, 1))


def cross_encoder_scorer(checkpoint: Path, threads: int) -> Scorer:
    from engine.models.cross_encoder import CrossEncoderSelector

    model = CrossEncoderSelector(checkpoint, threads=threads, batch_size=32)
    return lambda q, papers: model.score_pairs([(q, p.title, p.abstract) for p in papers])


def embedded_scorer(abstract_chars: int) -> Scorer:
    from engine.models.base import user_message
    from engine.models.profiles import ModelProfile, load_model

    model = load_model(ModelProfile())

    def score(q: str, papers: Sequence[Paper]) -> list[float]:
        prompts = [user_message(selector_prompt(q, p.title, p.abstract[:abstract_chars])) for p in papers]
        return model.true_probabilities(prompts)

    return score


def _label(checkpoint: Path) -> str:
    import json

    from engine.models.cross_encoder import META_FILE

    meta = json.loads((checkpoint / META_FILE).read_text())
    return (
        f"{meta.get('architecture', 'cross-encoder')} ({meta.get('weights', 'fine-tuned')}, {meta.get('steps')} steps)"
    )


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=here.parent / "shared/data/queries/dev.jsonl")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        required=True,
        help="a local-selector checkpoint (repeat to compare several)",
    )
    parser.add_argument("--depth", type=int, default=30, help="BM25 candidates per query")
    parser.add_argument("--limit", type=int, default=0, help="first N queries (0 = all)")
    parser.add_argument("--embedded-queries", type=int, default=0, help="also score the first N with SmolLM2")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if "train" in args.queries.name:
        raise SystemExit("refusing to evaluate on a training file")
    records = [r for r in read_queries(args.queries) if r.gold_titles]
    if args.limit:
        records = records[: args.limit]
    index = LocalIndex(args.index)
    cases = [
        (r, [p for p, _ in index.search_sync(r.question, limit=args.depth, title_weight=BASELINE_TITLE_WEIGHT)])
        for r in records
    ]
    scorers = {_label(c): cross_encoder_scorer(c, args.threads) for c in args.checkpoint}
    rows = [evaluate("BM25 order", cases, None)]
    rows += [evaluate(name, cases, scorer) for name, scorer in scorers.items()]
    if args.embedded_queries:
        subset = cases[: args.embedded_queries]
        rows.append(evaluate(f"BM25 order [first {len(subset)}]", subset, None))
        rows += [evaluate(f"{name} [first {len(subset)}]", subset, scorer) for name, scorer in scorers.items()]
        rows.append(evaluate(f"embedded SmolLM2-135M, untrained [first {len(subset)}]", subset, embedded_scorer(1500)))
    base = {r.queries: r for r in rows if r.name.startswith("BM25")}
    print(f"queries: {args.queries.name}, candidates: BM25 top-{args.depth} from {args.index.name}\n")
    print("| ranker | queries | R@20 | R@20 vs BM25 | precision | recall | selected/query | s/pair |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r.r20 / base[r.queries].r20 if base[r.queries].r20 else float("nan")
        print(
            f"| {r.name} | {r.queries} | {r.r20:.3f} | {ratio:.2f}× | {r.precision:.3f} | {r.recall:.3f} "
            f"| {r.selected:.1f} | {r.seconds_per_pair:.3f} |"
        )


if __name__ == "__main__":
    main()
