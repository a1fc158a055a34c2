"""What the relevance Selector's choices are worth when a person reads them (TRAINING questions only).

The Selector is calibrated against AutoScholarQuery's labels: for each question, the papers that the
question's source paper happened to cite. Most papers that meet a question are not among them, so label
precision says little about what a researcher would find useful. This script puts that to a reading:

    sample  — for 25 training questions drawn with a fixed seed, the 2 papers the Selector ranks first in
              the pool a default search scores (held-out P, 5 folds over questions, as the preparation
              fits) and 2 others drawn at random from the rest of that pool. Writes them, shuffled and
              without their group, P or label, for a reader to judge (question, title, abstract).
    score   — joins the reader's judgments (1 = the paper meets the question, 0 = it does not) with the
              hidden key and prints the table of benchmarks/RESULTS.md §1.12.

    sample-dev / score-dev — the same on dev, as evaluation (nothing is chosen from it): 25 dev questions
              from a `pasa eval --queries dev.jsonl --output FILE` run of the default settings, each with
              the 2 papers the search selected and 2 others drawn from the rest of the papers it scored;
              abstracts from the corpus file.

The judgments are kept in benchmarks/selector_reading_check.json by question fingerprint (dev: qid) and
paper key (no text from the data set).

    PASA_DATA_DIR=/tmp/h1-data .venv/bin/python benchmarks/selector_reading_check.py sample --out /tmp/blind
    PASA_DATA_DIR=/tmp/h1-data .venv/bin/python benchmarks/selector_reading_check.py score
    .venv/bin/python benchmarks/selector_reading_check.py sample-dev --eval eval-dev.jsonl --out /tmp/blind
    .venv/bin/python benchmarks/selector_reading_check.py score-dev --eval eval-dev.jsonl
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from engine.models.relevance_training import _cross_validate, _design, _folds, fit_platt, roc_auc, usable_questions

QUESTIONS = 25
SEED = 20261202
JUDGMENTS = Path(__file__).with_name("selector_reading_check.json")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def fingerprint(question: str) -> str:
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:12]


def draw(work: str | None) -> list[dict[str, Any]]:
    """The sample, in a fixed order: per question its 2 selected papers, then 2 others, with the hidden key."""
    from relevance_selector import load_prepared  # the sibling script (benchmarks/ is run as scripts)

    p = load_prepared(work)
    row_of, q_emb, doc, title = p.embeddings
    usable, qe = usable_questions(p.questions, q_emb)
    d = _design(usable, row_of, qe, doc, title, p.pairs, True)
    penalty = np.full(d.x.shape[1], 300.0)  # the preparation's choice (RESULTS §1.9)
    penalty[:4] = 0.01
    z = _cross_validate(d, _folds(len(usable), 0), penalty)
    pool_idx = np.concatenate(d.pool_rows)
    a, b = fit_platt(z[pool_idx], d.y[pool_idx])
    prob = 1 / (1 + np.exp(-(a * z + b)))
    rng = random.Random(SEED)
    out: list[dict[str, Any]] = []
    for qi in rng.sample(range(len(usable)), QUESTIONS):
        q = usable[qi]
        pr = prob[d.pool_rows[qi]]
        order = [int(i) for i in np.argsort(-pr, kind="stable")]
        chosen = [(i, "selected") for i in order[:2]] + [(i, "other") for i in rng.sample(order[2:], 2)]
        for i, group in chosen:
            paper = q.pool[i]
            out.append({"question": q.question, "qfp": fingerprint(q.question), "key": paper.key,
                        "title": paper.title, "abstract": paper.abstract[:1200], "group": group,
                        "gold": bool(paper.gold), "p": float(pr[i]), "pool_rank": i + 1})
    return out


def write_blind(items: list[dict[str, Any]], out: Path) -> None:
    random.Random(SEED + 1).shuffle(items)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "blind.jsonl").open("w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps({k: it[k] for k in ("qfp", "key", "question", "title", "abstract")}) + "\n")
    print(f"{len(items)} pairs for reading in {out / 'blind.jsonl'}; record each as "
          f'"<qfp> <key>": 1 or 0 in {JUDGMENTS.name}')


def report(items: list[dict[str, Any]], split: str) -> None:
    saved = json.loads(JUDGMENTS.read_text(encoding="utf-8"))
    judged: dict[str, int] = saved["judgments"] if split == "train" else saved.get("dev", {})
    missing = [f"{it['qfp']} {it['key']}" for it in items if f"{it['qfp']} {it['key']}" not in judged]
    if missing:
        raise SystemExit(f"{len(missing)} pairs not judged yet, e.g. {missing[0]}")
    read = np.array([judged[f"{it['qfp']} {it['key']}"] for it in items], dtype=float)
    gold = np.array([it["gold"] for it in items], dtype=float)
    p = np.array([it["p"] for it in items])
    selected = np.array([it["group"] == "selected" for it in items])
    print(f"| group (25 {split} questions) | pairs | meet the question when read | cited (label) | mean P |")
    print("|---|---|---|---|---|")
    for name, mask in (("the Selector's best 2 of the pool", selected), ("2 others from the same pool", ~selected)):
        print(f"| {name} | {int(mask.sum())} | {int(read[mask].sum())} ({read[mask].mean():.2f}) "
              f"| {int(gold[mask].sum())} ({gold[mask].mean():.2f}) | {p[mask].mean():.3f} |")
    print(f"\nAUC of P: against reading {roc_auc(p, read):.3f}; against the labels {roc_auc(p, gold):.3f}")
    print(f"cited papers judged to meet their question: {int(read[gold > 0].sum())} of {int(gold.sum())}")
    read_papers = int(read.sum())
    print(f"papers that meet their question: {read_papers}; of them cited (labelled): {int((read * gold).sum())}")


def draw_dev(eval_file: Path, queries: Path, corpus: Path) -> list[dict[str, Any]]:
    """Per dev question (25, fixed seed): the 2 papers the search selected, then 2 other papers it scored."""
    import gzip

    from engine.eval.metrics import Candidate, load_queries, query_metrics

    by_qid = {q.qid: q for q in load_queries(queries)[0]}
    rows = [json.loads(line) for line in eval_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["qid"] in by_qid and sum(p["selected"] for p in r["papers"]) >= 2]
    rng = random.Random(SEED)
    out: list[dict[str, Any]] = []
    for r in rng.sample(sorted(rows, key=lambda r: r["qid"]), QUESTIONS):
        scored = [p for p in r["papers"] if p.get("score") is not None]
        chosen = [(p, "selected") for p in scored if p["selected"]][:2]
        chosen += [(p, "other") for p in rng.sample([p for p in scored if not p["selected"]], 2)]
        for paper, group in chosen:
            gold = query_metrics(by_qid[r["qid"]], [Candidate(paper["title"], paper.get("arxiv_id"), True)])
            out.append({"question": r["question"], "qfp": r["qid"], "key": paper["id"], "title": paper["title"],
                        "abstract": "", "group": group, "gold": gold["precision"] > 0, "p": float(paper["score"]),
                        "pool_rank": scored.index(paper) + 1})
    wanted = {it["key"] for it in out}
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("id") in wanted:
                for it in out:
                    if it["key"] == row["id"]:
                        it["abstract"] = str(row.get("abstract") or "")[:1200]
    return out


def main() -> int:
    from relevance_selector import parser_with_work  # the sibling script (benchmarks/ is run as scripts)

    parser = parser_with_work(__doc__, ("sample", "score", "sample-dev", "score-dev"))
    parser.add_argument("--eval", type=Path, help="dev: the `pasa eval` output (one JSON line per question)")
    parser.add_argument("--queries", type=Path, default=SHARED / "queries" / "dev.jsonl")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "papers.jsonl.gz")
    parser.add_argument("--out", default="/tmp/selector-reading", help="where `sample` writes the blind pairs")
    args = parser.parse_args()
    if args.what.endswith("-dev"):
        if args.eval is None:
            parser.error("--eval FILE is required for the dev check")
        items = draw_dev(args.eval, args.queries, args.corpus)
        if args.what == "sample-dev":
            write_blind(items, Path(args.out))
        else:
            report(items, "dev")
    elif args.what == "sample":
        write_blind(draw(args.work), Path(args.out))
    else:
        report(draw(args.work), "train")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
