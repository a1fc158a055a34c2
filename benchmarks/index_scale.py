"""How the offline index scales: build, memory, disk, retrieval time, update and dev recall at 193k, 1M
and 2.5M papers (issue #18), printed as one markdown table.

    python benchmarks/index_scale.py corpus --total 2500000 --out /work/h6/corpus-2.5M.jsonl
    python benchmarks/index_scale.py run --sizes 192732,1000000,2500000 --corpus /work/h6/corpus-2.5M.jsonl \
        --work /work/h6/scale

The large corpus is made from the real one (../shared/data/corpus/papers.jsonl.gz): its papers, as
they are, followed by synthetic distractors written as arXiv snapshot rows (id, title, abstract,
authors, categories, journal-ref, update_date, versions), so `pasa index build --from` reads the file
through its real snapshot path. A distractor belongs to a (venue, year) of the real corpus, drawn in
proportion to that group's size, and is recombined from that group's real text: the first half of one
real title with the second half of another, an abstract of as many sentences as a random real paper
of the group has (none when that paper has none, so the title-only share stays the corpus's), the
i-th sentence taken from the i-th sentence of a random real abstract of the group, and a random real
author list. Distractors therefore compete for the very words of the real papers of their field and
year. A distractor whose title would equal a real title is drawn again, so a distractor is never
counted as a gold paper. The generator is deterministic (seeded) and streams its output: only the
real corpus's sentences are held in memory (≈ 0.5 GB), never the output; the first N rows of a
larger file are exactly the file of size N. The rows after --total (`--extra`) are the papers an
incremental update adds.

`run` measures, per size (the first N rows of the corpus): `pasa index build --from` in a child
process under /usr/bin/time (wall time, peak RSS), the index on disk (SQLite file and every ranking),
the retrieval stage of a default search over the dev questions (the question and its default variants
with the index's acronyms, through LocalIndex.search_sync, in one process: p50/p95 per question), dev
R@50/R@100 of that retrieval (the agent's loop with a scripted model: no Crawler, no Selector), the
peak RSS of one whole default search (`pasa search`, the embedded models), and an incremental update of
20k new papers through `apply_updates` (what `pasa index update` runs after its OAI-PMH harvest).
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "papers.jsonl.gz"
DEV = ROOT.parent / "shared" / "data" / "queries" / "dev.jsonl"
FULLTEXT = ROOT.parent / "shared" / "data" / "fixtures" / "unarXive_data_sample.tar.gz"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def _key(title: str) -> str:
    return re.sub(r"[^a-z]", "", title.lower())


class Pools:
    """The real corpus's text grouped by (venue, year): what distractors are recombined from."""

    def __init__(self, corpus: Path) -> None:
        groups: dict[tuple[str, int], dict[str, list[Any]]] = {}
        self.real_titles: set[str] = set()
        with gzip.open(corpus, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                title = " ".join(str(row.get("title") or "").split())
                if not title:
                    continue
                self.real_titles.add(_key(title))
                group = groups.setdefault(
                    (str(row.get("venue") or ""), int(row.get("year") or 0)),
                    {"titles": [], "abstracts": [], "lengths": [], "authors": []},
                )
                group["titles"].append(title.split())
                sentences = [s for s in _SENTENCE.split(" ".join(str(row.get("abstract") or "").split())) if s]
                group["lengths"].append(len(sentences))
                if sentences:
                    group["abstracts"].append(sentences)
                group["authors"].append(list(row.get("authors") or []))
        # Sorted keys: the same corpus gives the same draws whatever order dicts keep.
        self.keys = sorted(groups)
        self.groups = [groups[k] for k in self.keys]
        self.cumulative: list[int] = []
        total = 0
        for g in self.groups:
            total += len(g["titles"])
            self.cumulative.append(total)

    def distractor(self, rng: random.Random, number: int) -> dict[str, Any]:
        for _attempt in range(20):
            gi = bisect.bisect_right(self.cumulative, rng.randrange(self.cumulative[-1]))
            g = self.groups[gi]
            venue, year = self.keys[gi]
            first, second = rng.choice(g["titles"]), rng.choice(g["titles"])
            words = first[: max(1, len(first) // 2)] + second[len(second) // 2 :]
            title = " ".join(words)
            if _key(title) in self.real_titles:
                continue
            n_sentences = rng.choice(g["lengths"]) if g["abstracts"] else 0
            sentences = []
            for i in range(n_sentences):
                donor = rng.choice(g["abstracts"])
                sentences.append(donor[min(i, len(donor) - 1)])
            authors = rng.choice(g["authors"])
            year = year or 2020
            return {
                # Not an arXiv identifier (so never matched to a gold paper's arXiv id): "synth.NNNNNNNN".
                "id": f"synth.{number:08d}",
                "title": title,
                "abstract": " ".join(sentences),
                "authors": ", ".join(authors),
                "categories": "cs.LG",
                "journal-ref": venue or None,
                "update_date": f"{year}-01-01",
                "versions": [{"version": "v1", "created": f"Mon, 1 Jan {year} 00:00:00 GMT"}],
            }
        raise RuntimeError("could not draw a distractor unlike every real title")


def corpus_rows(corpus: Path, total: int, seed: int, extra: int = 0) -> Iterator[str]:
    """The real corpus's lines, then distractors up to `total` rows, then `extra` more (JSON lines)."""
    written = 0
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        for line in fh:
            if written >= total:
                break
            if line.strip():
                written += 1
                yield line.rstrip("\n")
    pools = Pools(corpus)
    rng = random.Random(seed)
    number = 0
    while written < total + extra:
        number += 1
        written += 1
        yield json.dumps(pools.distractor(rng, number), ensure_ascii=False)


def make_corpus(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    extra_out = out.with_name(out.stem + ".extra.jsonl")
    start = time.perf_counter()
    with out.open("w", encoding="utf-8") as fh, extra_out.open("w", encoding="utf-8") as extra_fh:
        for i, line in enumerate(corpus_rows(Path(args.corpus), args.total, args.seed, args.extra)):
            (fh if i < args.total else extra_fh).write(line + "\n")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{out}: {args.total:,} rows; {extra_out}: {args.extra:,} rows; {time.perf_counter() - start:.0f} s, "
        f"peak RSS {peak:.0f} MB"
    )
    return 0


# ---- measuring ---------------------------------------------------------------------------------

RESULTS = "results.json"
SELECTOR = Path("/tmp/runsh-data/selector")  # a prepared default Selector, copied so a search is the default one


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").is_file() else "?"


def _record(work: Path, **values: Any) -> None:
    path = work / RESULTS
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(values)
    path.write_text(json.dumps(data, indent=1))


def _timed(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run `cmd` under /usr/bin/time -v: wall seconds, CPU seconds and the peak RSS (GB) of the child."""
    load0 = _load()
    start = time.perf_counter()
    with log.open("w") as fh:
        done = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, stdout=fh, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")

    def field(name: str) -> float:
        found = re.search(rf"{re.escape(name)}: ([0-9.]+)", text)
        return float(found.group(1)) if found else float("nan")

    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(field("User time (seconds)") + field("System time (seconds)"), 1),
        "peak_gb": round(field("Maximum resident set size (kbytes)") / 1024 / 1024, 2),
        "load": f"{load0}-{_load()}",
    }


def _env(work: Path) -> dict[str, str]:
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "settings.json").write_text(json.dumps({"paths": {"index": str(work / "index.sqlite")}}))
    if SELECTOR.is_dir() and not (data / "selector").exists():
        shutil.copytree(SELECTOR / "relevance", data / "selector" / "relevance")
    env = {**os.environ, "PASA_DATA_DIR": str(data)}
    if FULLTEXT.is_file():  # what ./run.sh gives a default installation: offline citation expansion
        env["PASA_FULLTEXT"] = str(FULLTEXT)
    return env


def _disk(work: Path) -> float:
    files = [work / "index.sqlite", *(p for p in (work / "index.sqlite.bm25f").rglob("*") if p.is_file())]
    return round(sum(p.stat().st_size for p in files if p.is_file()) / 1e9, 2)


def _disk_parts(work: Path) -> dict[str, float]:
    """GB of the SQLite file (papers + FTS5), the BM25F postings and acronyms, and the dense ranking."""
    rankings = [p for p in (work / "index.sqlite.bm25f").rglob("*") if p.is_file()]
    dense_files = [p for p in rankings if p.name.startswith("dense_")]
    return {
        "sqlite_gb": round((work / "index.sqlite").stat().st_size / 1e9, 2),
        "postings_gb": round(sum(p.stat().st_size for p in rankings if p not in dense_files) / 1e9, 2),
        "dense_gb": round(sum(p.stat().st_size for p in dense_files) / 1e9, 2),
    }


def step_build(work: Path, corpus: Path, size: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    source = work / "corpus.jsonl"
    if not source.is_file():
        with corpus.open(encoding="utf-8") as src, (work / "corpus.part").open("w", encoding="utf-8") as out:
            for i, line in enumerate(src):
                if i >= size:
                    break
                out.write(line)
        (work / "corpus.part").replace(source)
    pasa = str(ROOT / ".venv" / "bin" / "pasa")
    cmd = ["nice", "-n", "10", pasa, "index", "build", "--from", str(source), "--to", str(work / "index.sqlite")]
    result = _timed(cmd, _env(work), work / "build.log")
    _record(work, build=result, disk_gb=_disk(work))
    source.unlink()  # the corpus file is the first `size` rows of the big one: not kept


def step_retrieval(work: Path) -> int:
    """In this process (run as a child): the retrieval stage of a default search per dev question, and
    dev R@50/R@100 of the agent's loop over it with a scripted model (no Crawler, no Selector)."""
    import asyncio

    from engine.agent.queries import retrieval_text, variants_with
    from engine.agent.search import SearchDeps, run_search
    from engine.agent.settings import AgentSettings
    from engine.eval.metrics import Candidate, MetricTable, load_queries, query_metrics
    from engine.events import SearchFinished
    from engine.sources.local_index import LocalIndex
    from pasa_testing.scripted import ScriptedModel

    queries, _ = load_queries(DEV)
    index = LocalIndex(work / "index.sqlite")
    settings = AgentSettings(score_top=0, expand_layers=0, max_queries=0, select_rule="top_unrejected")
    variants = variants_with(index.acronyms)
    times: list[float] = []
    cpu: list[float] = []  # CPU seconds of this process: what the shared cores' load does not inflate
    n_queries = 0
    for q in queries:
        start, start_cpu = time.perf_counter(), time.process_time()
        texts = [q.question, *variants(q.question)]
        for text in dict.fromkeys(" ".join(t.split()) for t in texts):
            index.search_sync(retrieval_text(text), limit=settings.results_per_query)
            n_queries += 1
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    times.sort()
    cpu.sort()
    model = ScriptedModel([""], lambda _p: 0.05)

    async def recall(source: LocalIndex) -> dict[str, float]:
        table = MetricTable()
        for q in queries:
            deps = SearchDeps(crawler_model=model, selector_model=model, sources=[source], query_variants=variants)
            events = [e async for e in run_search(q.question, settings, deps)]
            finished = events[-1]
            assert isinstance(finished, SearchFinished)
            ranked = [Candidate(r.paper.title, r.paper.arxiv_id, r.selected) for r in finished.results]
            table.add(query_metrics(q, ranked))
        return table.mean()

    mean = asyncio.run(recall(index))
    # What the dense prefilter (a large index's; engine/sources/dense.py) costs: the same loop with the
    # exact scan, and how much of the exact top 300 (the depth fused with BM25F) the prefilter keeps.
    prefilter: dict[str, Any] = {"used": bool(index.dense is not None and index.dense.prefiltered)}
    if index.dense is not None and index.dense.prefiltered:
        from engine.sources import dense

        exact_index = LocalIndex(work / "index.sqlite")
        assert exact_index.dense is not None and exact_index.bm25f is not None
        exact_index.dense = dense.DenseRanker(
            exact_index.bm25f.directory, delta=exact_index.bm25f.delta_dir, prefilter_min_rows=2**62
        )
        kept = []
        for q in queries:
            text = retrieval_text(q.question)
            truth = set(exact_index.dense.top(text, index.dense_depth))
            kept.append(len(truth & set(index.dense.top(text, index.dense_depth))) / max(1, len(truth)))
        exact = asyncio.run(recall(exact_index))
        prefilter.update(
            {
                "top300_kept_mean": round(sum(kept) / len(kept), 4),
                "top300_kept_worst": round(min(kept), 4),
                "exact_R@50": round(exact["recall@50"], 4),
                "exact_R@100": round(exact["recall@100"], 4),
            }
        )
    _record(
        work,
        prefilter=prefilter,
        retrieval={
            "questions": len(times),
            "queries": n_queries,
            "p50_s": round(times[len(times) // 2], 3),
            "p95_s": round(times[min(len(times) - 1, int(0.95 * len(times)))], 3),
            "max_s": round(times[-1], 3),
            "cpu_p50_s": round(cpu[len(cpu) // 2], 3),
            "cpu_p95_s": round(cpu[min(len(cpu) - 1, int(0.95 * len(cpu)))], 3),
            "R@50": round(mean["recall@50"], 4),
            "R@100": round(mean["recall@100"], 4),
            "R@20": round(mean["recall@20"], 4),
        },
    )
    return 0


def step_search(work: Path) -> None:
    question = json.loads(DEV.read_text(encoding="utf-8").splitlines()[0])["question"]
    pasa = str(ROOT / ".venv" / "bin" / "pasa")
    cmd = ["nice", "-n", "5", pasa, "search", question, "--json", "--no-library"]
    _record(work, search=_timed(cmd, _env(work), work / "search.log"))


def step_update(work: Path, extra: Path, count: int) -> int:
    """In this process (run as a child): `count` new papers through apply_updates."""
    from engine.sources.local_index import apply_updates, row_to_paper

    papers = []
    with extra.open(encoding="utf-8") as fh:
        for line in fh:
            paper = row_to_paper(json.loads(line))
            if paper is not None:
                papers.append(paper)
            if len(papers) >= count:
                break
    start = time.perf_counter()
    report = apply_updates(work / "index.sqlite", papers, last_update="2026-12-01")
    _record(
        work,
        update={"papers": report.added, "rankings": report.rankings, "seconds": round(time.perf_counter() - start, 1)},
    )
    return 0


def run(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus)
    extra = corpus.with_name(corpus.stem + ".extra.jsonl")
    me = [str(ROOT / ".venv" / "bin" / "python"), str(Path(__file__).resolve())]
    for size in [int(s) for s in args.sizes.split(",")]:
        work = Path(args.work) / str(size)
        done = json.loads((work / RESULTS).read_text()) if (work / RESULTS).is_file() else {}
        steps = args.steps.split(",")
        if "build" in steps and "build" not in done:
            step_build(work, corpus, size)
        env = _env(work)
        if "build" in steps and "prefilter_repair" not in done and (work / "index.sqlite").is_file():
            # An index built before the dense prefilter existed gets it from `pasa index repair`, as a
            # user's would; an index built now has it from its build (then nothing runs here).
            from engine.sources import index_lifecycle

            if index_lifecycle.check(work / "index.sqlite").state == "dense_unfiltered":
                pasa = str(ROOT / ".venv" / "bin" / "pasa")
                r = _timed(["nice", "-n", "10", pasa, "index", "repair"], env, work / "prefilter.log")
                _record(work, prefilter_repair=r, disk_gb=_disk(work), disk=_disk_parts(work))
            else:
                _record(work, prefilter_repair={})
            done = json.loads((work / RESULTS).read_text())
        if "disk" not in done and (work / "index.sqlite").is_file() and "update" not in done:
            _record(work, disk=_disk_parts(work))
        if "retrieval" in steps and "retrieval" not in done:
            r = _timed([*me, "child-retrieval", str(work)], env, work / "retrieval.log")
            _record(work, retrieval_process=r)
        if "search" in steps and "search" not in done:
            step_search(work)
        if "update" in steps and "update" not in done:
            r = _timed(
                ["nice", "-n", "5", *me, "child-update", str(work), str(extra), str(args.update)],
                env,
                work / "update.log",
            )
            _record(work, update_process=r)
    print(table(Path(args.work), [int(s) for s in args.sizes.split(",")]))
    return 0


def table(root: Path, sizes: list[int]) -> str:
    results = {
        s: json.loads((root / str(s) / RESULTS).read_text()) if (root / str(s) / RESULTS).is_file() else {}
        for s in sizes
    }

    def cell(size: int, *path: str, fmt: str = "{}") -> str:
        value: Any = results[size]
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return "not measured"
            value = value[key]
        return fmt.format(value)

    rows = [
        ("build wall time (min), shared cores", ("build", "wall_s"), "{:.0f}", 1 / 60),
        ("build CPU time (min)", ("build", "cpu_s"), "{:.1f}", 1 / 60),
        ("  + dense prefilter by `pasa index repair`, CPU (min)", ("prefilter_repair", "cpu_s"), "{:.1f}", 1 / 60),
        ("  + dense prefilter by `pasa index repair`, peak (GB)", ("prefilter_repair", "peak_gb"), "{:.2f}", 1),
        ("peak memory while building (GB)", ("build", "peak_gb"), "{:.2f}", 1),
        ("index on disk, all rankings (GB)", ("disk_gb",), "{:.2f}", 1),
        ("  of which SQLite (papers + FTS5)", ("disk", "sqlite_gb"), "{:.2f}", 1),
        ("  of which BM25F postings + acronyms", ("disk", "postings_gb"), "{:.2f}", 1),
        ("  of which dense ranking (int8)", ("disk", "dense_gb"), "{:.2f}", 1),
        ("retrieval stage per question p50 (s)", ("retrieval", "p50_s"), "{:.3f}", 1),
        ("retrieval stage per question p95 (s)", ("retrieval", "p95_s"), "{:.3f}", 1),
        ("retrieval stage per question, CPU p50 (s)", ("retrieval", "cpu_p50_s"), "{:.3f}", 1),
        ("retrieval stage per question, CPU p95 (s)", ("retrieval", "cpu_p95_s"), "{:.3f}", 1),
        ("retrieval process peak RSS (GB)", ("retrieval_process", "peak_gb"), "{:.2f}", 1),
        ("whole default search: peak RSS (GB)", ("search", "peak_gb"), "{:.2f}", 1),
        ("whole default search: wall (s)", ("search", "wall_s"), "{:.0f}", 1),
        ("whole default search: CPU (s)", ("search", "cpu_s"), "{:.0f}", 1),
        ("update of 20k new papers, wall (s)", ("update", "seconds"), "{:.0f}", 1),
        ("update process: CPU (s)", ("update_process", "cpu_s"), "{:.0f}", 1),
        ("update: peak RSS (GB)", ("update_process", "peak_gb"), "{:.2f}", 1),
        ("dev R@50 (retrieval, scripted model)", ("retrieval", "R@50"), "{:.4f}", 1),
        ("dev R@100 (retrieval, scripted model)", ("retrieval", "R@100"), "{:.4f}", 1),
        ("dense prefilter: share of the exact top 300 kept, mean", ("prefilter", "top300_kept_mean"), "{:.4f}", 1),
        ("dense prefilter: share of the exact top 300 kept, worst", ("prefilter", "top300_kept_worst"), "{:.4f}", 1),
        ("dev R@50 with the exact dense scan instead", ("prefilter", "exact_R@50"), "{:.4f}", 1),
        ("dev R@100 with the exact dense scan instead", ("prefilter", "exact_R@100"), "{:.4f}", 1),
    ]
    # Growth: each size's figure over the smallest size's, beside the growth of the papers themselves.
    growth = [f"growth ×{s / sizes[0]:.1f} papers" for s in sizes[1:]]
    head = "| figure | " + " | ".join([*(f"{s:,} papers" for s in sizes), *growth]) + " |"
    lines = [head, "|---|" + "---|" * (2 * len(sizes) - 1)]
    for label, path, fmt, factor in rows:
        cells = []
        values: list[float | None] = []
        for s in sizes:
            text = cell(s, *path)
            values.append(None if text == "not measured" else float(text))
            if text != "not measured":
                text = fmt.format(float(text) * factor)
            cells.append(text)
        for v in values[1:]:
            first = values[0]
            cells.append(f"×{v / first:.1f}" if v is not None and first else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    loads = [
        f"{s:,}: build {cell(s, 'build', 'load')}, retrieval {cell(s, 'retrieval_process', 'load')}" for s in sizes
    ]
    lines.append("")
    lines.append("Load average (1 min) at the start and end of each step: " + "; ".join(loads))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("corpus", help="write the large corpus (real papers + distractors)")
    c.add_argument("--corpus", default=str(CORPUS))
    c.add_argument("--total", type=int, default=2_500_000)
    c.add_argument("--extra", type=int, default=20_000, help="rows after --total, in <out>.extra.jsonl")
    c.add_argument("--seed", type=int, default=18)
    c.add_argument("--out", required=True)
    c.set_defaults(handler=make_corpus)
    r = sub.add_parser("run", help="build and measure each size (steps already measured are kept)")
    r.add_argument("--corpus", required=True, help="the file `corpus` wrote")
    r.add_argument("--sizes", default="192732,1000000,2500000")
    r.add_argument("--work", required=True)
    r.add_argument("--steps", default="build,retrieval,search,update")
    r.add_argument("--update", type=int, default=20_000)
    r.set_defaults(handler=run)
    tb = sub.add_parser("table", help="print the table of what was measured")
    tb.add_argument("--sizes", default="192732,1000000,2500000")
    tb.add_argument("--work", required=True)
    tb.set_defaults(handler=lambda a: print(table(Path(a.work), [int(s) for s in a.sizes.split(",")])) or 0)
    cr = sub.add_parser("child-retrieval")
    cr.add_argument("work")
    cr.set_defaults(handler=lambda a: step_retrieval(Path(a.work)))
    cu = sub.add_parser("child-update")
    cu.add_argument("work")
    cu.add_argument("extra")
    cu.add_argument("count", type=int)
    cu.set_defaults(handler=lambda a: step_update(Path(a.work), Path(a.extra), a.count))
    args = ap.parse_args()
    handler: Any = args.handler
    return int(handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
