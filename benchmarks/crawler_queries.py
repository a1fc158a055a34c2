"""Are the embedded Crawler's queries worth running? (issue #15, RESULTS §1.10)

Run:  nice -n 5 python benchmarks/crawler_queries.py fill  [--first 100] [--record 20]
      PASA_DATA_DIR=/tmp/h2-data nice -n 5 python benchmarks/crawler_queries.py table [--first 100]

`fill` asks the embedded SmolLM2 Crawler PaSa's search prompt for the first N train questions, exactly
as engine/agent/crawler.py does (same prompt, prefix, decoding, token budget), and caches each raw
reply (benchmarks/quality.py's cache, keyed by the exact call). The first `--record` replies are also
written, raw, to tests/engine/agent/data/crawler_replies.jsonl: the query cleaner's tests run on them.

`table` runs the real search loop (engine.agent.search.run_search: the question, its deterministic
variants with the index's acronyms, BM25F with feedback and the dense ranking, the real ranking) over
the real index, once with the default Crawler queries and once with max_queries=0, and prints R@20/50/100
for both on the same questions. Retrieval only: score_top=0 (the embedded Selector has no say in the
ranking; see ranking.resolve_select_rule) and no expansion, so the two rows differ by the Crawler alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import CachedModel  # noqa: E402

from engine.agent import prompts  # noqa: E402
from engine.agent.queries import variants_with  # noqa: E402
from engine.agent.query_cleaner import clean_queries, reply_items  # noqa: E402
from engine.agent.search import SearchDeps, run_search  # noqa: E402
from engine.agent.settings import AgentSettings  # noqa: E402
from engine.eval.metrics import Candidate, EvalQuery, MetricTable, load_queries, query_metrics  # noqa: E402
from engine.events import QueryIssued, SearchFinished  # noqa: E402
from engine.models.base import user_message  # noqa: E402
from pasa_desktop.cli.evaluate import cutoff  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
CACHE = Path("/tmp/h2_crawler_cache.jsonl")
REPLIES = REPO / "tests" / "agent" / "data" / "crawler_replies.jsonl"


def crawler_reply(model: CachedModel, question: str, settings: AgentSettings) -> str:
    """The raw reply, with the exact call Crawler.search_queries makes (first sample)."""
    return model.generate(
        user_message(prompts.search_prompt(question)),
        max_tokens=settings.crawler_max_tokens,
        temperature=0.0,
        seed=settings.seed,
        prefix="[Search]",
    )


def fill(args: argparse.Namespace, queries: list[EvalQuery]) -> int:
    model = CachedModel(args.cache, live=True, threads=args.threads)
    settings = AgentSettings()
    records: list[dict[str, Any]] = []
    for n, q in enumerate(queries[: args.first], start=1):
        started = time.perf_counter()
        reply = crawler_reply(model, q.question, settings)
        if n <= args.record:
            records.append({"qid": q.qid, "question": q.question, "reply": reply})
        cleaned = clean_queries(reply_items("[Search]" + reply), q.question, limit=settings.max_queries)
        print(f"[{n}] {q.qid} ({time.perf_counter() - started:.1f} s): {cleaned}", flush=True)
    if args.record:
        args.replies.parent.mkdir(parents=True, exist_ok=True)
        with args.replies.open("w", encoding="utf-8") as fh:
            for row in records:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"model: {model.calls['generate']} live calls, {model.seconds['generate']:.0f} s generating", flush=True)
    model.close()
    return 0


async def table(args: argparse.Namespace, queries: list[EvalQuery]) -> int:
    from engine.sources.local_index import LocalIndex

    index = LocalIndex(args.index)
    model = CachedModel(args.cache, live=False)
    chosen = queries[: args.first]
    base = AgentSettings(score_top=0, expand_layers=0, max_seconds=3600)
    rows: dict[str, MetricTable] = {"default (Crawler queries on)": MetricTable(), "max_queries=0": MetricTable()}
    seconds = {name: 0.0 for name in rows}
    written = helped = 0
    for q in chosen:
        per: dict[str, set[str]] = {}
        for name, settings in (
            ("default (Crawler queries on)", base.model_copy(update={"before": cutoff(q), "crawler_queries": "on"})),
            ("max_queries=0", base.model_copy(update={"before": cutoff(q), "max_queries": 0})),
        ):
            deps = SearchDeps(
                crawler_model=model,
                selector_model=model,
                sources=[index],
                query_variants=variants_with(index.acronyms),
            )
            finished: SearchFinished | None = None
            started = time.perf_counter()
            async for event in run_search(q.question, settings, deps):
                if isinstance(event, QueryIssued) and event.origin == "crawler" and name.startswith("default"):
                    written += 1
                if isinstance(event, SearchFinished):
                    finished = event
            seconds[name] += time.perf_counter() - started
            assert finished is not None and finished.status.value == "done", finished
            ranked = [Candidate(r.paper.title, r.paper.arxiv_id, r.selected) for r in finished.results]
            rows[name].add(query_metrics(q, ranked))
            per[name] = {r.paper.key for r in finished.results[:100]}
        helped += per["default (Crawler queries on)"] != per["max_queries=0"]
    print(f"| configuration (train, first {len(chosen)} questions) | R@20 | R@50 | R@100 | loop s/question |")
    print("|---|---|---|---|---|")
    for name, metrics in rows.items():
        mean = metrics.mean()
        print(
            f"| {name} | {mean['recall@20']:.3f} | {mean['recall@50']:.3f} | {mean['recall@100']:.3f} "
            f"| {seconds[name] / len(chosen):.2f} |"
        )
    print(f"\nCrawler queries run (after cleaning): {written} over {len(chosen)} questions; "
          f"top-100 changed on {helped} questions.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("fill", "table"))
    parser.add_argument("--queries", type=Path, default=SHARED / "queries" / "train.jsonl")
    parser.add_argument(
        "--index", type=Path, default=Path(os.environ.get("PASA_DATA_DIR", "/tmp/pasa_data")) / "index.sqlite"
    )
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--record", type=int, default=20, help="fill: write the first N raw replies as test data")
    parser.add_argument("--replies", type=Path, default=REPLIES)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    queries, _skipped = load_queries(args.queries)
    queries = [q for q in queries if q.has_answers]
    if args.command == "fill":
        return fill(args, queries)
    return asyncio.run(table(args, queries))


if __name__ == "__main__":
    raise SystemExit(main())
