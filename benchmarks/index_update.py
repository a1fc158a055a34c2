"""What an incremental index update costs, against the full build it avoids.

    python benchmarks/index_update.py [--base 20000] [--new 2000] [--changed 200] [--removed 100] [--work /tmp/idx-update]

Builds an index of the first `--base` rows of the project's corpus (../shared/data/corpus/papers.jsonl.gz)
with every ranking (BM25F postings, acronyms, dense), then applies the next `--new` rows as new papers,
`--changed` revised papers and `--removed` withdrawals through `apply_updates` (papers + FTS5 in one
transaction, then the delta segment), and times each step against rebuilding the postings whole.
It also times one BM25F+dense search with and without the delta, and checks that both rank the same
papers first. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.papers import Paper
from engine.sources.bm25f import build_postings, postings_dir
from engine.sources.local_index import LocalIndex, apply_updates, build_index, row_to_paper

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus" / "papers.jsonl.gz"
QUERIES = [
    "coded computation against stragglers in distributed training",
    "graph neural networks for molecular property prediction",
    "contrastive self-supervised learning of visual representations",
    "speculative decoding for faster language model inference",
]


def _rows(n_skip: int, n_take: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < n_skip:
                continue
            if len(out) >= n_take:
                break
            out.append(json.loads(line))
    return out


def _top(index: LocalIndex) -> list[list[str]]:
    return [[p.id for p, _ in index.search_sync(q, limit=10)] for q in QUERIES]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=int, default=20_000)
    ap.add_argument("--new", type=int, default=2_000)
    ap.add_argument("--changed", type=int, default=200)
    ap.add_argument("--removed", type=int, default=100)
    ap.add_argument("--work", type=Path, default=Path("/tmp/idx-update"))
    args = ap.parse_args()
    if not CORPUS.is_file():
        print(f"corpus missing: {CORPUS}", file=sys.stderr)
        return 2
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    base_file = args.work / "base.jsonl"
    with base_file.open("w", encoding="utf-8") as fh:
        for row in _rows(0, args.base):
            fh.write(json.dumps(row) + "\n")
    index = args.work / "index.sqlite"
    t = time.perf_counter()
    report = build_index(base_file, index)
    t_build = time.perf_counter() - t

    base_rows = _rows(0, args.base)
    new = [p for p in (row_to_paper(r) for r in _rows(args.base, args.new)) if p is not None]
    changed = [_revised(p) for p in (row_to_paper(r) for r in base_rows[: args.changed]) if p is not None]
    removed = [
        str(r["arxiv_id"]) for r in base_rows[args.changed : args.changed + 5 * args.removed] if r.get("arxiv_id")
    ]
    removed = removed[: args.removed]

    before = LocalIndex(index)
    t = time.perf_counter()
    _top(before)
    t_query_base = (time.perf_counter() - t) / len(QUERIES)
    before.close()

    t = time.perf_counter()
    upd = apply_updates(index, [*new, *changed], removed)
    t_update = time.perf_counter() - t

    after = LocalIndex(index)
    assert after.bm25f is not None and after.fallback_reason is None
    _top(after)  # warm
    t = time.perf_counter()
    delta_top = _top(after)
    t_query_delta = (time.perf_counter() - t) / len(QUERIES)
    after.close()

    t = time.perf_counter()
    build_postings(index)
    t_full = time.perf_counter() - t
    full = LocalIndex(index)
    full_top = _top(full)
    same_first = sum(a[:1] == b[:1] for a, b in zip(delta_top, full_top, strict=True))
    overlap = sum(len(set(a) & set(b)) for a, b in zip(delta_top, full_top, strict=True)) / (10 * len(QUERIES))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = sum(f.stat().st_size for f in postings_dir(index).rglob("*") if f.is_file()) / 1e6

    print("| figure | value |\n|---|---|")
    print(
        f"| base index | {report.added:,} papers, built in {t_build:.1f} s (papers, FTS5, postings, acronyms, dense) |"
    )
    print(
        f"| update applied | {upd.added:,} added, {upd.changed:,} revised, {upd.removed:,} removed, {upd.unchanged:,} unchanged |"
    )
    print(f"| incremental update (papers + FTS5 + delta segment) | {t_update:.1f} s (rankings: {upd.rankings}) |")
    print(f"| full postings rebuild it avoids | {t_full:.1f} s |")
    print(
        f"| search (BM25F + feedback + dense), base / with delta | {t_query_base * 1000:.0f} ms / {t_query_delta * 1000:.0f} ms |"
    )
    print(
        f"| same first result, delta vs full rebuild | {same_first}/{len(QUERIES)} queries; top-10 overlap {overlap:.2f} |"
    )
    print(f"| rankings on disk after the full rebuild | {size_mb:.0f} MB |")
    print(f"| peak RSS of this script | {peak_mb:.0f} MB |")
    return 0


def _revised(paper: Paper) -> Paper:
    return replace(paper, abstract=paper.abstract + " Revised: we add experiments.")


if __name__ == "__main__":
    raise SystemExit(main())
