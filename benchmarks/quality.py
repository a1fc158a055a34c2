"""Search quality on the dev queries: the agent's configurations beside direct BM25, in one run.

Run:  PASA_DATA_DIR=/tmp/pasa_data python benchmarks/quality.py [--queries dev.jsonl] [--llm-queries N]
      python benchmarks/quality.py fill --what crawler|selector [--first N]   (compute LLM outputs once)
      python benchmarks/quality.py profile [--qid QID]                          (time split, peak RSS)

Every configuration runs the real search loop (engine.agent.search.run_search, with the real ranking
and selection code) over the same offline index. The LLM's outputs are cached in a JSON-lines file
(`--cache`, default /tmp/pasa_quality_llm.jsonl), keyed by the exact prompt and decoding settings, so
a configuration that needs the Crawler or the Selector costs CPU only the first time. Configurations
that need an output the cache lacks are measured on the first `--llm-queries` dev queries only (the
`fill` command computes them in that order) and the table says over how many queries each row ran.

The baseline is direct BM25 over the same index: the question's words OR-ed, title weighted x10,
top 100, with PaSa's date cut-off when a query has one — what `pasa eval` prints beside the agent.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.agent import queries as variants  # noqa: E402
from engine.agent.ranking import resolve_select_rule  # noqa: E402
from engine.agent.search import SearchDeps, run_search  # noqa: E402
from engine.agent.settings import AgentSettings  # noqa: E402
from engine.eval.metrics import Candidate, EvalQuery, load_queries, query_metrics  # noqa: E402
from engine.events import RankedPaper, SearchFinished  # noqa: E402
from engine.models.base import ChatModel, Generation, Message, ModelInfo  # noqa: E402
from engine.papers import Paper  # noqa: E402
from engine.sources.local_index import BASELINE_TITLE_WEIGHT, LocalIndex  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
DEFAULT_CACHE = Path("/tmp/pasa_quality_llm.jsonl")
EMBEDDED_INFO = ModelInfo("SmolLM2-135M-Instruct.Q4_1 (cached)", "llama.cpp", "chatml", 2787, 4096)
COLUMNS = ("crawler_recall", "precision", "recall", "recall@20", "recall@50", "recall@100")


class CacheMiss(Exception):
    """An LLM output the cache lacks while live computation is off."""


class CachedModel(ChatModel):
    """A ChatModel whose outputs are read from (and appended to) a JSON-lines cache.

    The real model is loaded only on the first miss, and only when `live` is true. Token counts are
    estimated (3 characters a token): the Selector only uses them to cut abstracts that would overflow
    the 4096-token context, which abstracts cut to `abstract_chars` never do.
    """

    def __init__(self, path: Path, *, live: bool, threads: int = 1) -> None:
        self.path = path
        self.live = live
        self.threads = threads
        self.entries: dict[str, Any] = {}
        self.seconds = {"generate": 0.0, "score": 0.0, "load": 0.0}
        self.cpu = {"generate": 0.0, "score": 0.0, "load": 0.0}  # process CPU seconds (all threads)
        self.calls = {"generate": 0, "score": 0}
        self._inner: ChatModel | None = None
        self._lock = threading.Lock()
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    self.entries[row["k"]] = row["v"]
                except (ValueError, KeyError):
                    continue

    @staticmethod
    def key(*parts: Any) -> str:
        return hashlib.sha1(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()

    def _model(self) -> ChatModel:
        if not self.live:
            raise CacheMiss("LLM output not cached (run `quality.py fill` first)")
        if self._inner is None:
            from engine.models.profiles import ModelProfile, load_model

            started, cpu = time.perf_counter(), time.process_time()
            self._inner = load_model(ModelProfile(threads=self.threads))
            self.seconds["load"] = time.perf_counter() - started
            self.cpu["load"] = time.process_time() - cpu
        return self._inner

    def _store(self, key: str, value: Any) -> None:
        self.entries[key] = value
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"k": key, "v": value}) + "\n")

    @property
    def info(self) -> ModelInfo:
        return EMBEDDED_INFO

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        max_tokens, temperature, seed, prefix = options
        key = self.key("gen", list(messages), max_tokens, temperature, seed if temperature > 0 else None, prefix)
        if key not in self.entries:
            started = time.perf_counter()
            model = self._model()
            started, cpu = time.perf_counter(), time.process_time()
            text = model.reply(messages, options)
            self.seconds["generate"] += time.perf_counter() - started
            self.cpu["generate"] += time.process_time() - cpu
            self.calls["generate"] += 1
            self._store(key, text)
        return str(self.entries[key])

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        keys = [self.key("p_true", list(p)) for p in prompts]
        missing = [i for i, k in enumerate(keys) if k not in self.entries]
        if missing:
            model = self._model()
            started, cpu = time.perf_counter(), time.process_time()
            probs = model.true_probabilities([prompts[i] for i in missing])
            self.seconds["score"] += time.perf_counter() - started
            self.cpu["score"] += time.process_time() - cpu
            self.calls["score"] += len(missing)
            for i, p in zip(missing, probs, strict=True):
                self._store(keys[i], p)
        return [float(self.entries[k]) for k in keys]

    def has_scores(self, prompts: Sequence[Sequence[Message]]) -> bool:
        return all(self.key("p_true", list(p)) in self.entries for p in prompts)

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class MemoIndex:
    """The local index as a PaperSource whose answers are memoised (configurations share queries).

    It asks the index for `depth` results once and slices: the same ranking as asking for fewer.
    """

    name = "local"

    def __init__(self, index: LocalIndex, depth: int = 200) -> None:
        self.index = index
        self.depth = depth
        self.memo: dict[tuple[str, date | None], list[Paper]] = {}
        self.seconds = 0.0
        self.calls = 0

    def search_sync(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        key = (query, before)
        if key not in self.memo or limit > self.depth:
            started = time.perf_counter()
            hits = self.index.search_sync(query, limit=max(limit, self.depth), before=before)
            self.seconds += time.perf_counter() - started
            self.calls += 1
            self.memo[key] = [p for p, _ in hits]
        return self.memo[key][:limit]

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        return self.search_sync(query, limit=limit, before=before)


def cutoff(query: EvalQuery) -> date | None:
    from pasa_desktop.cli.evaluate import cutoff as eval_cutoff

    return eval_cutoff(query)


@dataclass
class Config:
    """One configuration: AgentSettings overrides (from the defaults) and the question variants run."""

    name: str
    overrides: dict[str, Any]
    variants: tuple[str, ...] = ()
    note: str = ""
    subset: bool = False  # run on the LLM subset even though it needs no LLM (for a like-for-like row)
    local_selector: bool = False  # the Selector is the trained local Selector (--local-selector), not SmolLM2

    def settings(self, query: EvalQuery) -> AgentSettings:
        return AgentSettings(**{**self.overrides, "before": cutoff(query)})

    @property
    def uses_llm(self) -> bool:
        probe = AgentSettings(**self.overrides)
        return probe.max_queries > 0 or probe.score_top > 0


@dataclass
class Row:
    config: Config
    queries: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    failed: str = ""
    selected: int = 0

    def add(self, metrics: dict[str, float], n_selected: int) -> None:
        self.queries += 1
        self.selected += n_selected
        for k, v in metrics.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def mean(self, key: str) -> float:
        return self.sums.get(key, 0.0) / self.queries if self.queries else 0.0


def bm25_row(queries: Sequence[EvalQuery], source: MemoIndex, *, keep_stopwords: bool) -> Row:
    name = "BM25 baseline (question words OR-ed, title x10" + (", stopwords kept)" if keep_stopwords else ")")
    row = Row(Config(name, {}, note="direct LocalIndex.search_sync, top 100"))
    started = time.perf_counter()
    for q in queries:
        # The baseline weights titles x10, whatever weight the agent's own retrieval uses.
        found = source.index.search_sync(
            q.question, limit=100, before=cutoff(q), keep_stopwords=keep_stopwords, title_weight=BASELINE_TITLE_WEIGHT
        )
        hits = [p for p, _ in found]
        row.add(query_metrics(q, [Candidate(p.title, p.arxiv_id, False) for p in hits]), 0)
    row.seconds = time.perf_counter() - started
    return row


def bm25_sql_row(queries: Sequence[EvalQuery], index: LocalIndex, *, title_weight: float, with_abstract: bool) -> Row:
    """BM25 variants the agent cannot reach through LocalIndex.search (measured by SQL on the same index).

    - another title weight: what changing local_index.TITLE_WEIGHT would give (a proposal, not adopted here);
    - only papers with an abstract: reference only. dev.jsonl was built from queries whose gold papers all
      have abstracts in the corpus, so this filter exploits the data set's construction; it shows how far
      the figures quoted in issue #2 (R@20/50/100 0.415/0.511/0.540) come from an index of such papers.
    """
    from engine.sources.local_index import fts_match

    if with_abstract:
        config = Config(
            f"reference: BM25 (title x{title_weight:g}) keeping only papers with an abstract",
            {},
            note="NOT adoptable: exploits dev's construction (gold papers all have abstracts)",
        )
    else:
        config = Config(
            f"BM25 with title x{title_weight:g} (needs a LocalIndex change)",
            {},
            note="proposal for local_index.TITLE_WEIGHT",
        )
    row = Row(config)
    started = time.perf_counter()
    sql = (
        "SELECT p.title, p.arxiv_id, bm25(papers_fts, ?, 1.0) AS s FROM papers_fts"
        " JOIN papers p ON p.rowid = papers_fts.rowid WHERE papers_fts MATCH ?"
        + (" AND p.abstract != ''" if with_abstract else "")
        + " ORDER BY s LIMIT 100"
    )
    for q in queries:
        hits = index._con().execute(sql, (title_weight, fts_match(q.question))).fetchall()
        row.add(query_metrics(q, [Candidate(t, a, False) for t, a, _ in hits]), 0)
    row.seconds = time.perf_counter() - started
    return row


async def search_once(
    query: EvalQuery, config: Config, source: MemoIndex, crawler: ChatModel, selector: ChatModel
) -> SearchFinished:
    deps = SearchDeps(
        crawler_model=crawler,
        selector_model=selector,
        sources=[source],
        query_variants=variants.variants_of(config.variants) if config.variants else None,
    )
    finished: SearchFinished | None = None
    async for event in run_search(query.question, config.settings(query), deps):
        if isinstance(event, SearchFinished):
            finished = event
    assert finished is not None
    return finished


def candidates(results: Sequence[RankedPaper]) -> list[Candidate]:
    return [Candidate(r.paper.title, r.paper.arxiv_id, r.selected) for r in results]


async def run_config(
    config: Config, queries: Sequence[EvalQuery], source: MemoIndex, crawler: CachedModel, selector: CachedModel
) -> Row:
    row = Row(config)
    started = time.perf_counter()
    try:
        for q in queries:
            finished = await search_once(q, config, source, crawler, selector)
            if finished.status.value != "done":
                raise RuntimeError(f"{q.qid}: search ended {finished.status.value}: {finished.message}")
            row.add(query_metrics(q, candidates(finished.results)), sum(r.selected for r in finished.results))
    except (CacheMiss, RuntimeError) as exc:
        row.failed = str(exc)
    row.seconds = time.perf_counter() - started
    return row


def retrieval_configs() -> list[Config]:
    """Configurations without any LLM call (no Crawler queries, no Selector): cheap, run on every query."""
    off = {"max_queries": 0, "score_top": 0, "expand_layers": 0, "select_rule": "top_unrejected"}
    out = [Config("question only, top 100 (= BM25 through the loop)", {**off, "results_per_query": 100})]
    for names in [
        ("bigrams",),
        ("adjacent",),
        ("trigrams",),
        ("runs",),
        ("no_abbrev",),
        ("split",),
        ("bigrams", "trigrams"),
        ("bigrams", "runs"),
        ("bigrams", "no_abbrev"),
        ("bigrams", "split"),
        ("bigrams", "adjacent"),
        ("split", "trigrams"),
        ("split", "no_abbrev"),
        ("split", "trigrams", "no_abbrev"),
    ]:
        out.append(Config("+ " + " + ".join(names), {**off, "results_per_query": 100}, names))
    for weight in (0.3, 1.0, 1.5):
        out.append(
            Config(
                f"+ bigrams, variant_weight {weight}",
                {**off, "results_per_query": 100, "variant_weight": weight},
                ("bigrams",),
            )
        )
    for weight in (0.3, 1.0):
        out.append(
            Config(
                f"+ split, variant_weight {weight}",
                {**off, "results_per_query": 100, "variant_weight": weight},
                ("split",),
            )
        )
    for k in (10.0, 30.0, 120.0):
        out.append(Config(f"+ bigrams, rrf_k {k:.0f}", {**off, "results_per_query": 100, "rrf_k": k}, ("bigrams",)))
    for n in (50, 150):
        out.append(Config(f"+ bigrams, results_per_query {n}", {**off, "results_per_query": n}, ("bigrams",)))
    for top in (2, 3, 5):
        out.append(
            Config(
                f"+ split + no_abbrev, select top {top} (no Selector)",
                {**off, "results_per_query": 100, "select_k": top},
                ("split", "no_abbrev"),
            )
        )
    return out


def table(rows: Sequence[Row], baseline: Row) -> str:
    head = "| configuration | queries | " + " | ".join(COLUMNS) + " | ΔR@50 vs BM25 | sel/query | s/query | note |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 7)]
    for row in rows:
        if row.failed:
            lines.append(
                f"| {row.config.name} | 0 | "
                + " | ".join("–" for _ in COLUMNS)
                + f" | – | – | – | FAILED after {row.queries} queries: {row.failed} |"
            )
            continue
        vals = " | ".join(f"{row.mean(c):.3f}" for c in COLUMNS)
        delta = row.mean("recall@50") - baseline.mean("recall@50")
        per_q = row.seconds / max(row.queries, 1)
        note = row.config.note
        lines.append(
            f"| {row.config.name} | {row.queries} | {vals} | {delta:+.3f} | "
            f"{row.selected / max(row.queries, 1):.1f} | {per_q:.2f} | {note} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="table", choices=("table", "fill", "profile"))
    parser.add_argument("--queries", type=Path, default=SHARED / "queries" / "dev.jsonl")
    parser.add_argument(
        "--index", type=Path, default=Path(os.environ.get("PASA_DATA_DIR", "/tmp/pasa_data")) / "index.sqlite"
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--llm-queries", type=int, default=0, help="LLM configurations run on the first N queries")
    parser.add_argument("--first", type=int, default=104, help="fill: the first N queries")
    parser.add_argument("--what", choices=("crawler", "selector"), default="crawler")
    parser.add_argument("--qid", default="", help="profile: the dev query to run (default: the first)")
    parser.add_argument("--score-top", type=int, default=20, help="fill selector: papers scored per query")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads when filling the cache")
    parser.add_argument("--only", default="", help="table: only configurations whose name contains this")
    parser.add_argument("--no-crawler-too", action="store_true", help="fill selector: also the no-Crawler top 10")
    parser.add_argument("--skip-retrieval", action="store_true", help="table: only the LLM configurations")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--local-selector", type=Path, help="table: also the agent with this trained local Selector checkpoint"
    )
    args = parser.parse_args()
    queries, _skipped = load_queries(args.queries)
    queries = [q for q in queries if q.has_answers]
    index = LocalIndex(args.index)
    if args.command == "fill":
        return asyncio.run(fill(args, queries, index))
    if args.command == "profile":
        return profile(args, queries, index)
    return asyncio.run(run_table(args, queries, index))


async def run_table(args: argparse.Namespace, queries: list[EvalQuery], index: LocalIndex) -> int:
    source = MemoIndex(index)
    crawler = CachedModel(args.cache, live=False)
    selector = crawler
    started = time.perf_counter()
    baseline = bm25_row(queries, source, keep_stopwords=False)
    rows = [baseline]
    if not args.skip_retrieval:
        rows.append(bm25_row(queries, source, keep_stopwords=True))
        rows.append(bm25_sql_row(queries, index, title_weight=10.0, with_abstract=True))
        for weight in (1.0, 3.0):
            rows.append(bm25_sql_row(queries, index, title_weight=weight, with_abstract=False))
    local: MemoSelector | None = None
    if args.local_selector is not None:
        from engine.models.cross_encoder import CrossEncoderSelector

        local = MemoSelector(CrossEncoderSelector(args.local_selector, name="local-selector", threads=args.threads))
    every = [*([] if args.skip_retrieval else retrieval_configs()), *llm_configs(), *local_selector_configs(local)]
    configs = [c for c in every if args.only in c.name]
    for config in configs:
        subset = queries[: args.llm_queries] if (config.uses_llm or config.subset) else queries
        if not subset:
            continue
        chosen: Any = local if config.local_selector else selector
        row = await run_config(config, subset, source, crawler, chosen)
        rows.append(row)
        print(table([row], baseline).splitlines()[-1], flush=True)
    if args.llm_queries:
        sub = bm25_row(queries[: args.llm_queries], source, keep_stopwords=False)
        sub.config.name = f"BM25 baseline on the first {args.llm_queries} queries (compare LLM rows with this)"
        rows.insert(2, sub)
    out = table(rows, baseline)
    print(out)
    print(
        f"\n{len(queries)} dev queries; {time.perf_counter() - started:.0f} s in all; "
        f"{source.calls} index searches ({source.seconds:.1f} s)"
    )
    if args.markdown:
        args.markdown.write_text(out + "\n", encoding="utf-8")
    return 0


def llm_configs() -> list[Config]:
    """Configurations reading cached Crawler queries and/or Selector scores (run on the first N queries).

    The Selector scores the `score_top` best papers by fused retrieval; its P(True) is cached for the
    top 10 of the default configuration, so rows scoring more (or other) papers need more filling.
    """
    base: dict[str, Any] = {
        "results_per_query": 100,
        "score_top": 10,
        "expand_layers": 0,
        "select_rule": "top_unrejected",
        "max_seconds": 3600,
    }
    dv = variants.DEFAULT_VARIANTS
    out = [
        Config(
            "LLM subset: question + variants, no Crawler, no Selector, top 2",
            {**base, "max_queries": 0, "score_top": 0, "select_k": 2},
            dv,
            subset=True,
        ),
        Config(
            "LLM subset: question + variants, no Crawler, no Selector, top 1",
            {**base, "max_queries": 0, "score_top": 0, "select_k": 1},
            dv,
            subset=True,
        ),
        Config("Crawler queries on (weight 0.6), no Selector, top 1", {**base, "score_top": 0}, dv),
        Config("Crawler queries on (weight 0.3), no Selector", {**base, "score_top": 0, "crawler_weight": 0.3}, dv),
        Config("Crawler queries on (weight 1.0), no Selector", {**base, "score_top": 0, "crawler_weight": 1.0}, dv),
        Config("PaSa rule: P(True) > 0.5 (Selector top 10)", {**base, "select_rule": "threshold"}, dv),
    ]
    for k in (1, 2, 3):
        for q in (0.0, 0.25, 0.5, 0.75):
            out.append(
                Config(
                    f"Selector top 10, top {k} unrejected, reject below q{q:.2f}",
                    {**base, "select_k": k, "reject_quantile": q},
                    dv,
                )
            )
    for w in (0.1, 0.5, 2.0):
        out.append(
            Config(f"Selector top 10, selector_weight {w}, top 1 unrejected q0.25", {**base, "selector_weight": w}, dv)
        )
    out.append(Config("Selector top 10, no Crawler, top 1 unrejected q0.25", {**base, "max_queries": 0}, dv))
    out.append(
        Config(
            "Selector top 10, no Crawler, top 1 unrejected q0.5",
            {**base, "max_queries": 0, "select_k": 1, "reject_quantile": 0.5},
            dv,
        )
    )
    out.append(
        Config(
            "default settings, select_rule auto left unresolved",
            {"max_seconds": 3600},
            dv,
            note="rank() without resolve_select_rule: PaSa's threshold",
        )
    )
    resolved = resolve_select_rule(AgentSettings(), EMBEDDED_INFO).select_rule
    out.append(
        Config(
            "**default settings** (auto rule resolved for the embedded Selector)",
            {"max_seconds": 3600, "select_rule": resolved},
            dv,
            note=f"select_rule auto → {resolved}",
        )
    )
    return out


class MemoSelector(ChatModel):
    """The trained local Selector with its scores memoised by prompt (configurations share papers)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.memo: dict[str, float] = {}
        self.preferred_batch_size = 64
        self.seconds = 0.0

    @property
    def info(self) -> ModelInfo:
        info: ModelInfo = self.inner.info
        return info

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        keys = [json.dumps([dict(m) for m in p]) for p in prompts]
        todo = [i for i, k in enumerate(keys) if k not in self.memo]
        if todo:
            started = time.perf_counter()
            scores = self.inner.true_probabilities([prompts[i] for i in todo])
            self.seconds += time.perf_counter() - started
            for i, score in zip(todo, scores, strict=True):
                self.memo[keys[i]] = score
        return [self.memo[k] for k in keys]

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        return str(self.inner.reply(messages, options))

    def close(self) -> None:
        self.inner.close()


def local_selector_configs(local: MemoSelector | None) -> list[Config]:
    """The trained local Selector (`pasa train local-selector`) in the agent, beside the embedded default.

    Crawler queries come from the cache as in every LLM row; the Selector is the checkpoint given with
    --local-selector. "auto" resolves selector_rank_weight 1.0, score_top 200 and top-1 selection for it.
    """
    if local is None:
        return []
    dv = variants.DEFAULT_VARIANTS
    base: dict[str, Any] = {"expand_layers": 0, "max_seconds": 3600}
    auto = resolve_select_rule(AgentSettings(), local.info)
    out = [
        Config(
            "local Selector, default settings (auto: rank weight "
            f"{auto.selector_rank_weight}, score_top {auto.score_top}, {auto.select_rule} k={auto.select_k})",
            dict(base),
            dv,
            local_selector=True,
        ),
        Config("local Selector, PaSa rule P > 0.5", {**base, "select_rule": "threshold"}, dv, local_selector=True),
    ]
    for top in (100, 300):  # score_top is only raised to 200 when the weight is auto: pin the auto weight
        out.append(Config(f"local Selector, score_top {top}", {**base, "score_top": top,
                                                                 "selector_rank_weight": auto.selector_rank_weight},
                          dv, local_selector=True))
    for weight in (0.25, 0.5, 1.0, 2.0):
        out.append(Config(f"local Selector, rank weight {weight}", {**base, "score_top": 200,
                                                                     "selector_rank_weight": weight}, dv,
                          local_selector=True))
    for k in (2, 3):
        out.append(Config(f"local Selector, top {k}", {**base, "select_k": k}, dv, local_selector=True))
    for q in (0.5, 0.75, 0.9):
        out.append(Config(f"local Selector, top 1 not in its bottom {q:.0%}", {**base, "reject_quantile": q}, dv,
                          local_selector=True))
    return out


async def fill(args: argparse.Namespace, queries: list[EvalQuery], index: LocalIndex) -> int:
    """Compute the LLM outputs the LLM configurations need, query by query, in dev-file order.

    crawler: the default Crawler session per query (what every crawler-on configuration reads).
    selector: the default configuration run live, so P(True) is cached for exactly the papers a
    default search scores; other configurations reuse it where they score the same papers.
    """
    model = CachedModel(args.cache, live=True, threads=args.threads)
    source = MemoIndex(index)
    defaults = Config(
        "default",
        {"score_top": args.score_top, "select_rule": "top_unrejected", "results_per_query": 100, "max_seconds": 3600},
        variants.DEFAULT_VARIANTS,
    )
    for n, q in enumerate(queries[: args.first], start=1):
        started = time.perf_counter()
        if args.what == "crawler":
            from engine.agent.crawler import Crawler

            found = await asyncio.to_thread(Crawler(model, AgentSettings()).search_queries, q.question)
            print(f"[{n}] {q.qid}: {found}  ({time.perf_counter() - started:.1f} s)", flush=True)
        else:
            await search_once(q, defaults, source, model, model)
            if args.no_crawler_too:  # the no-Crawler rows score a slightly different top 10
                no_crawler = Config("no crawler", {**defaults.overrides, "max_queries": 0}, defaults.variants)
                await search_once(q, no_crawler, source, model, model)
            print(
                f"[{n}] {q.qid}: scored ({model.calls['score']} papers so far, {model.seconds['score']:.0f} s)",
                flush=True,
            )
    model.close()
    return 0


def profile(args: argparse.Namespace, queries: list[EvalQuery], index: LocalIndex) -> int:
    """One default search with the real embedded model (nothing cached): where the time goes, peak RSS."""
    query = next((q for q in queries if q.qid == args.qid), queries[0]) if args.qid else queries[0]
    scratch = Path(f"/tmp/pasa_quality_profile_{os.getpid()}.jsonl")
    scratch.unlink(missing_ok=True)
    model = CachedModel(scratch, live=True, threads=args.threads)
    source = MemoIndex(index, depth=0)  # no memo effect: every search hits the index once
    settings = AgentSettings(before=cutoff(query))
    started = time.perf_counter()
    cpu_before = os.times()
    finished = asyncio.run(
        search_once(
            query,
            Config("default", settings.model_dump(exclude={"before"}), variants.DEFAULT_VARIANTS),
            source,
            model,
            model,
        )
    )
    wall = time.perf_counter() - started
    cpu = os.times()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scored = sum(r.selector_score is not None for r in finished.results)
    other = wall - sum(model.seconds.values()) - source.seconds
    g, sc, ld = (model.seconds[k] for k in ("generate", "score", "load"))
    cg, csc, cld = (model.cpu[k] for k in ("generate", "score", "load"))
    cpu_all = cpu.user + cpu.system - cpu_before.user - cpu_before.system
    lines = [
        f"Default search profile ({query.qid}, llama.cpp threads={args.threads}; status {finished.status.value}; "
        f"load average {os.getloadavg()[0]:.1f})",
        "| step | wall s | share | CPU s (process, all threads) |",
        "|---|---|---|---|",
        f"| Crawler generate ({model.calls['generate']} calls) | {g:.1f} | {g / wall:.0%} | {cg:.1f} |",
        f"| retrieval ({source.calls} index searches) | {source.seconds:.1f} | {source.seconds / wall:.0%} | – |",
        f"| Selector ({model.calls['score']} papers scored) | {sc:.1f} | {sc / wall:.0%} | {csc:.1f} |",
        f"| model load | {ld:.1f} | {ld / wall:.0%} | {cld:.1f} |",
        f"| ranking, events, loop | {other:.1f} | {other / wall:.0%} | – |",
        f"| **total** | {wall:.1f} | 100% | {cpu_all:.1f} |",
        "",
        f"papers found {len(finished.results)}, scored {scored}; Selector {model.calls['score'] / max(sc, 1e-9):.2f} "
        f"papers/s wall, {model.calls['score'] / max(csc, 1e-9):.2f} papers per CPU-second; peak RSS {peak_mb:.0f} MB",
    ]
    print("\n".join(lines))
    scratch.unlink(missing_ok=True)
    model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
