"""The agent's retrieval signals, each on and off, through the real search loop, on train.jsonl (where
choices are made) and dev.jsonl (where they are reported), beside direct BM25 (FTS5, title x10: the
issue's baseline) over the same index in the same run.

A scripted model stands in for the embedded Crawler and Selector: benchmarks/quality.py and §1.7 of
RESULTS.md measured that the embedded Crawler's queries (fusion weight 0.3) and Selector (weight 0,
reject quantile 0) change neither the ranking nor the top-1 selection, so this isolates retrieval,
in milliseconds per query. `pasa eval` confirms the chosen default with the live models.

    PASA_DATA_DIR=/tmp/pasa_data .venv/bin/python benchmarks/retrieval_signals.py [--split dev]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from engine.agent.queries import question_variants, variants_with
from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.eval.metrics import KS, Candidate, EvalQuery, MetricTable, load_queries, query_metrics
from engine.events import SearchFinished
from engine.sources.acronyms import AcronymTable
from engine.sources.bm25f import ACRONYMS_FILE
from engine.sources.local_index import BASELINE_TITLE_WEIGHT, DENSE_DEPTH, DENSE_WEIGHT, LocalIndex
from pasa_desktop.settings import load_settings
from pasa_testing.scripted import ScriptedModel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "queries"
Variants = Callable[[str], list[str]]


Config = tuple[Variants, AgentSettings, float, int]  # variants, settings, dense weight, dense depth


def configurations(index: LocalIndex) -> dict[str, Config]:
    base = AgentSettings(score_top=0, expand_layers=0, max_queries=0, select_rule="top_unrejected")
    table = index.acronyms
    weight, depth = DENSE_WEIGHT, DENSE_DEPTH
    out: dict[str, Config] = {"BM25F + feedback, default variants (before)": (question_variants, base, 0.0, depth)}
    if table is None:
        return out
    acronyms = variants_with(table)
    out["+ acronyms"] = (acronyms, base, 0.0, depth)
    mined = index.bm25f.directory / ACRONYMS_FILE if index.bm25f is not None else None
    for count, share in ((2, 0.3), (5, 0.6), (10, 0.8)):
        if mined is not None:
            loose = variants_with(AcronymTable.load(mined, count, share))
            out[f"+ acronyms seen >= {count} times, >= {share:g} of definitions"] = (loose, base, 0.0, depth)
    for results in (150, 200):
        deeper = base.model_copy(update={"results_per_query": results})
        out[f"+ acronyms, {results} results per query"] = (acronyms, deeper, 0.0, depth)
    for variant_weight in (0.3, 1.0):
        other = base.model_copy(update={"variant_weight": variant_weight})
        out[f"+ acronyms, variant weight {variant_weight:g}"] = (acronyms, other, 0.0, depth)
    if index.dense is None:
        return out
    out["+ acronyms + dense (default now)"] = (acronyms, base, weight, depth)
    for w, d in ((0.3, depth), (0.7, depth), (1.0, depth), (weight, 100), (weight, 1000)):
        out[f"+ acronyms + dense, weight {w:g}, depth {d}"] = (acronyms, base, w, d)
    out["dense, default variants, no acronyms"] = (question_variants, base, weight, depth)
    return out


async def measure(
    queries: list[EvalQuery], index: LocalIndex, variants: Variants, settings: AgentSettings
) -> dict[str, float]:
    model = ScriptedModel([""], lambda _p: 0.05)
    table = MetricTable()
    for q in queries:
        deps = SearchDeps(crawler_model=model, selector_model=model, sources=[index], query_variants=variants)
        events = [e async for e in run_search(q.question, settings, deps)]
        finished = events[-1]
        assert isinstance(finished, SearchFinished)
        table.add(query_metrics(q, [Candidate(r.paper.title, r.paper.arxiv_id, r.selected) for r in finished.results]))
    return table.mean()


def bm25(queries: list[EvalQuery], index: LocalIndex) -> dict[str, float]:
    table = MetricTable()
    for q in queries:
        hits = index.search_sync(q.question, limit=100, title_weight=BASELINE_TITLE_WEIGHT)
        table.add(query_metrics(q, [Candidate(p.title, p.arxiv_id, False) for p, _ in hits]))
    return table.mean()


def row(name: str, metrics: dict[str, float], seconds: float | None) -> str:
    keys = ["crawler_recall", "precision", *(f"recall@{k}" for k in KS)]
    nums = " | ".join(f"{metrics[k]:.3f}" for k in keys)
    return f"| {name} | {nums} | {'' if seconds is None else f'{seconds:.3f}'} |"


async def main_async(splits: list[str], index_path: Path) -> None:
    index = LocalIndex(index_path)
    for split in splits:
        queries, _ = load_queries(DATA / f"{split}.jsonl")
        print(f"\n{split}.jsonl ({len(queries)} queries)\n")
        print("| configuration | crawler recall | precision | R@20 | R@50 | R@100 | s/query |")
        print("|---|---|---|---|---|---|---|")
        print(row("BM25 baseline (FTS5, title x10)", bm25(queries, index), None), flush=True)
        for name, (variants, settings, weight, depth) in configurations(index).items():
            index.dense_weight, index.dense_depth = weight, depth
            started = time.perf_counter()
            metrics = await measure(queries, index, variants, settings)
            print(row(name, metrics, (time.perf_counter() - started) / len(queries)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", action="append", choices=["train", "dev"], help="default: train, then dev")
    parser.add_argument("--index", type=Path, default=None)
    args = parser.parse_args()
    asyncio.run(main_async(args.split or ["train", "dev"], args.index or load_settings().index_path()))


if __name__ == "__main__":
    main()
