"""PaSa's metrics (per query, macro-averaged). An answer matches by arXiv id (version stripped) or by
normalised title (lower-case letters only), as PaSa's own evaluation does.

- crawler recall = |crawled ∩ gold| / |gold|
- precision      = |selected ∩ gold| / |selected|   (0 when nothing is selected)
- recall         = |selected ∩ gold| / |gold|
- recall@k       = |top-k crawled by rank ∩ gold| / |gold|
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.papers import normalise_title, strip_arxiv_version

KS = (20, 50, 100)


@dataclass(frozen=True, slots=True)
class EvalQuery:
    qid: str
    question: str
    gold_titles: tuple[str, ...] = ()
    gold_arxiv: tuple[str, ...] = ()
    published: str = ""  # YYYYMMDD or ""

    @property
    def has_answers(self) -> bool:
        return bool(self.gold_titles)


def load_queries(path: Path) -> tuple[list[EvalQuery], int]:
    """Queries from a JSON-lines file; returns (queries, number of unusable lines skipped)."""
    if not path.is_file():
        raise InputError(f"query file not found: {path}", hint="pass --queries PATH to a JSON-lines file")
    out: list[EvalQuery] = []
    skipped = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = str(row["question"]).strip()
        except (ValueError, KeyError, TypeError):
            skipped += 1
            continue
        if not question:
            skipped += 1
            continue
        answers = row.get("answer") or []
        ids = row.get("answer_arxiv_id") or []
        meta = row.get("source_meta") or {}
        out.append(
            EvalQuery(
                qid=str(row.get("qid") or f"q{len(out) + 1}"),
                question=question,
                gold_titles=tuple(str(a) for a in answers if str(a).strip()),
                gold_arxiv=tuple(strip_arxiv_version(str(i)) for i in ids if str(i).strip()),
                published=str(meta.get("published_time") or "") if isinstance(meta, dict) else "",
            )
        )
    return out, skipped


@dataclass(frozen=True, slots=True)
class Candidate:
    title: str
    arxiv_id: str | None
    selected: bool


def _gold_keys(query: EvalQuery) -> list[set[str]]:
    """One key set per gold paper: its normalised title and, when known, its arXiv id."""
    golds: list[set[str]] = []
    for i, title in enumerate(query.gold_titles):
        keys = {"t:" + normalise_title(title)}
        if i < len(query.gold_arxiv) and query.gold_arxiv[i]:
            keys.add("a:" + query.gold_arxiv[i])
        golds.append(keys)
    return golds


def _keys(c: Candidate) -> set[str]:
    keys = {"t:" + normalise_title(c.title)}
    if c.arxiv_id:
        keys.add("a:" + strip_arxiv_version(c.arxiv_id))
    return keys


def _hits(golds: list[set[str]], candidates: Iterable[Candidate]) -> int:
    found: set[str] = set()
    for c in candidates:
        found |= _keys(c)
    return sum(1 for g in golds if g & found)


def query_metrics(query: EvalQuery, ranked: Sequence[Candidate]) -> dict[str, float]:
    golds = _gold_keys(query)
    n = len(golds)
    selected = [c for c in ranked if c.selected]
    sel_hits = _hits(golds, selected)
    # Precision counts selected papers that are gold (a gold paper found twice counts once).
    sel_gold = sum(1 for c in selected if any(_keys(c) & g for g in golds))
    out = {
        "crawler_recall": _hits(golds, ranked) / n,
        "precision": sel_gold / len(selected) if selected else 0.0,
        "recall": sel_hits / n,
    }
    for k in KS:
        out[f"recall@{k}"] = _hits(golds, ranked[:k]) / n
    return out


@dataclass
class MetricTable:
    """Macro averages of per-query metrics."""

    rows: list[dict[str, float]] = field(default_factory=list)

    def add(self, metrics: dict[str, float]) -> None:
        self.rows.append(metrics)

    def mean(self) -> dict[str, float]:
        if not self.rows:
            return {}
        keys = self.rows[0].keys()
        return {k: sum(r[k] for r in self.rows) / len(self.rows) for k in keys}

    def as_dict(self) -> dict[str, Any]:
        return {"queries": len(self.rows), **self.mean()}
