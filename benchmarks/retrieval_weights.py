"""The agent's retrieval with different BM25 title weights, beside direct BM25 (title x10, the issue's
baseline) over the same index, on the dev queries.

Runs the real search loop (`run_search` + ranking + selection) with the default query variants and the
user's question, and a scripted model standing in for the embedded one: quality.py measured that the
embedded Crawler's queries (fusion weight 0.3) and Selector (weight 0, reject quantile 0) do not change
the ranking or the top-1 selection, so this isolates what retrieval does, in milliseconds per query.

    PASA_DATA_DIR=/tmp/pasa_data .venv/bin/python benchmarks/retrieval_weights.py 10 1 2 3
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from engine.agent.queries import question_variants
from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.eval.metrics import Candidate, MetricTable, load_queries, query_metrics
from engine.events import SearchFinished
from engine.sources.local_index import BASELINE_TITLE_WEIGHT, LocalIndex
from pasa_desktop.settings import load_settings
from pasa_testing.scripted import ScriptedModel

REPO = Path(__file__).resolve().parents[1]


async def measure(index_path: Path, queries_path: Path, weights: list[float]) -> None:
    queries, _ = load_queries(queries_path)
    settings = AgentSettings(score_top=0, expand_layers=0, max_queries=0, select_rule="top_unrejected")
    model = ScriptedModel([""], lambda _p: 0.05)
    print(
        "| title weight | agent R@20 | R@50 | R@100 | precision | crawler recall | BM25 x10 R@20 | R@50 | R@100 | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for weight in weights:
        index = LocalIndex(index_path, title_weight=weight)
        agent, bm25 = MetricTable(), MetricTable()
        started = time.perf_counter()
        for q in queries:
            deps = SearchDeps(
                crawler_model=model, selector_model=model, sources=[index], query_variants=question_variants
            )
            events = [e async for e in run_search(q.question, settings, deps)]
            finished = events[-1]
            assert isinstance(finished, SearchFinished)
            agent.add(
                query_metrics(q, [Candidate(r.paper.title, r.paper.arxiv_id, r.selected) for r in finished.results])
            )
            hits = index.search_sync(q.question, limit=100, title_weight=BASELINE_TITLE_WEIGHT)
            bm25.add(query_metrics(q, [Candidate(p.title, p.arxiv_id, False) for p, _ in hits]))
        a, b = agent.mean(), bm25.mean()
        print(
            f"| x{weight:g} | {a['recall@20']:.3f} | {a['recall@50']:.3f} | {a['recall@100']:.3f} | {a['precision']:.3f}"
            f" | {a['crawler_recall']:.3f} | {b['recall@20']:.3f} | {b['recall@50']:.3f} | {b['recall@100']:.3f}"
            f" | {time.perf_counter() - started:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights", nargs="*", type=float, default=[10.0, 1.0])
    parser.add_argument("--queries", type=Path, default=REPO.parent / "shared" / "data" / "queries" / "dev.jsonl")
    parser.add_argument("--index", type=Path, default=None)
    args = parser.parse_args()
    index = args.index or load_settings().index_path()
    asyncio.run(measure(index, args.queries, args.weights))


if __name__ == "__main__":
    main()
