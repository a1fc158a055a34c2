"""SFT data in PaSa's format: `{"messages": [user prompt, assistant reply]}` rows with PaSa's exact prompts.

Sources of rows:
- query files (AutoScholarQuery format) with gold papers: Selector pairs (gold → True, retrieved
  non-gold → False, optionally only those the current Selector also rejects) and Crawler search
  sessions (queries verified to retrieve gold papers);
- the user's own decisions (JSON lines of accepted/rejected papers per search, written by the user): Selector pairs.

PaSa's Selector targets carry a GPT-4o reason; we have none, so the reason is a short template that
names the decision. The decision token, which is what scoring reads, is exact.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.agent.prompts import search_prompt, selector_prompt
from engine.errors import InputError
from engine.papers import Paper, normalise_title, strip_arxiv_version

ABSTRACT_CHARS = 1500  # the agent's default cut (AgentSettings.abstract_chars)


class Retriever(Protocol):
    """What data building needs from a paper index (engine.sources.local_index.LocalIndex via IndexRetriever)."""

    def search(self, query: str, limit: int) -> list[Paper]: ...

    def match_title(self, title: str) -> Paper | None: ...

    def by_arxiv_id(self, arxiv_id: str) -> Paper | None: ...


class IndexRetriever:
    """The offline SQLite index as a Retriever."""

    def __init__(self, index_path: Path) -> None:
        from engine.sources.local_index import LocalIndex

        self.index = LocalIndex(index_path)

    def search(self, query: str, limit: int) -> list[Paper]:
        return [p for p, _score in self.index.search_sync(query, limit=limit)]

    def match_title(self, title: str) -> Paper | None:
        return self.index.match_title_sync(title)

    def by_arxiv_id(self, arxiv_id: str) -> Paper | None:
        found = self.index.by_ids_sync([arxiv_id])
        return found[0] if found else None

    def close(self) -> None:
        self.index.close()


@dataclass(frozen=True, slots=True)
class QueryRecord:
    qid: str
    question: str
    gold_titles: tuple[str, ...]
    gold_arxiv_ids: tuple[str, ...]

    @property
    def gold_keys(self) -> frozenset[str]:
        return frozenset(normalise_title(t) for t in self.gold_titles if t)

    def is_gold(self, paper: Paper) -> bool:
        if paper.arxiv_id and strip_arxiv_version(paper.arxiv_id) in {
            strip_arxiv_version(a) for a in self.gold_arxiv_ids if a
        }:
            return True
        return paper.title_key in self.gold_keys


@dataclass(frozen=True, slots=True)
class SelectorPair:
    query: str
    title: str
    abstract: str
    label: bool
    origin: str  # "gold", "retrieved", "library"


@dataclass
class DataReport:
    """Counts shown before training (the panel's preview and `pasa train data`)."""

    rows: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # one clear message per skipped input

    def summary(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_kind.items()))
        return f"{self.rows} rows ({parts}); {len(self.skipped)} skipped"


def read_queries(path: Path, report: DataReport | None = None) -> list[QueryRecord]:
    """AutoScholarQuery-format queries; malformed lines are skipped and reported, never fatal."""
    if not path.is_file():
        raise InputError(f"query file not found: {path}")
    out: list[QueryRecord] = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = str(row["question"]).strip()
            if not question:
                raise ValueError("empty question")
            answers = row.get("answer") or []
            ids = row.get("answer_arxiv_id") or []
            if not isinstance(answers, list) or not isinstance(ids, list):
                raise ValueError("answer and answer_arxiv_id must be lists")
        except (ValueError, KeyError, TypeError) as exc:
            if report is not None:
                report.skipped.append(f"{path.name}:{number}: {exc}")
            continue
        out.append(
            QueryRecord(
                qid=str(row.get("qid") or f"line{number}"),
                question=question,
                gold_titles=tuple(str(t) for t in answers),
                gold_arxiv_ids=tuple(str(a) for a in ids),
            )
        )
    return out


def find_gold_papers(record: QueryRecord, retriever: Retriever) -> list[Paper]:
    """The gold papers present in the index (matched by arXiv id, else by title), with abstracts."""
    found: dict[str, Paper] = {}
    for i, title in enumerate(record.gold_titles):
        arxiv_id = record.gold_arxiv_ids[i] if i < len(record.gold_arxiv_ids) else ""
        paper = retriever.by_arxiv_id(arxiv_id) if arxiv_id else None
        paper = paper or (retriever.match_title(title) if title else None)
        if paper is not None and paper.abstract:
            found[paper.key] = paper
    return list(found.values())


def selector_reason(label: bool) -> str:
    if label:
        return "The paper addresses the topic and the specific requirements of the user query."
    return "The paper does not satisfy the specific requirements of the user query."


def selector_row(pair: SelectorPair, abstract_chars: int = ABSTRACT_CHARS) -> dict[str, Any]:
    prompt = selector_prompt(pair.query, pair.title, pair.abstract[:abstract_chars])
    reply = f"{'True' if pair.label else 'False'}\nReason: {selector_reason(pair.label)}"
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]}


def crawler_search_row(question: str, queries: Sequence[str]) -> dict[str, Any]:
    reply = "".join(f"[Search] {q}\n" for q in queries) + "[StopSearch]"
    return {"messages": [{"role": "user", "content": search_prompt(question)}, {"role": "assistant", "content": reply}]}


def selector_pairs_from_queries(
    records: Iterable[QueryRecord],
    retriever: Retriever,
    *,
    negatives_per_query: int = 4,
    candidates: int = 30,
    rejects: Callable[[str, Paper], bool] | None = None,
    seed: int = 0,
) -> Iterator[SelectorPair]:
    """Gold papers as positives; non-gold papers retrieved for the question as negatives.

    Negatives are drawn at random from the top `candidates` BM25 results (hard but not only the
    hardest, since a few top hits are unlabelled positives). `rejects(question, paper)` — the
    current Selector saying False — filters negatives further when given.
    """
    rng = random.Random(seed)
    for record in records:
        gold = find_gold_papers(record, retriever)
        if not gold:
            continue
        for paper in gold:
            yield SelectorPair(record.question, paper.title, paper.abstract, True, "gold")
        pool = [p for p in retriever.search(record.question, candidates) if p.abstract and not record.is_gold(p)]
        if rejects is not None:
            pool = [p for p in pool if rejects(record.question, p)]
        for paper in rng.sample(pool, min(negatives_per_query, len(pool))):
            yield SelectorPair(record.question, paper.title, paper.abstract, False, "retrieved")


def _title_query(title: str, words: int = 8) -> str:
    from engine.sources.local_index import query_terms

    return " ".join(query_terms(title)[:words])


def crawler_queries_for(record: QueryRecord, retriever: Retriever, *, max_queries: int = 5, depth: int = 10) -> list[str]:
    """Search queries for an imitation target: the content words of each gold title, kept only when
    that query actually retrieves a gold paper in the top `depth` (so the target is a useful action)."""
    chosen: list[str] = []
    for title in record.gold_titles:
        query = _title_query(title)
        if len(query) < 3 or query in chosen:
            continue
        if any(record.is_gold(p) for p in retriever.search(query, depth)):
            chosen.append(query)
        if len(chosen) >= max_queries:
            break
    return chosen


def pairs_from_decisions(rows: Iterable[dict[str, Any]], report: DataReport | None = None) -> Iterator[SelectorPair]:
    """Selector pairs from library decisions: `{"query", "title", "abstract", "decision": accept|reject}`.

    This is a plain function over rows so training never imports the app's library: the rows come from a
    JSON-lines file the user writes (no command exports them yet). Undecided rows are ignored, bad ones
    reported.
    """
    for number, row in enumerate(rows, 1):
        try:
            query = str(row["query"]).strip()
            title = str(row["title"]).strip()
            decision = str(row["decision"]).strip().lower()
        except (KeyError, TypeError):
            if report is not None:
                report.skipped.append(f"decision {number}: needs query, title and decision")
            continue
        if decision not in ("accept", "accepted", "reject", "rejected"):
            continue
        if not query or not title:
            if report is not None:
                report.skipped.append(f"decision {number}: empty query or title")
            continue
        yield SelectorPair(query, title, str(row.get("abstract") or ""), decision.startswith("accept"), "library")


def read_jsonl(path: Path, report: DataReport | None = None) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            if report is not None:
                report.skipped.append(f"{path.name}:{number}: not JSON ({exc.args[0][:60]})")
            continue
        if isinstance(row, dict):
            rows.append(row)
        elif report is not None:
            report.skipped.append(f"{path.name}:{number}: not a JSON object")
    return rows


def sft_row_problem(row: Any) -> str | None:
    """Why a row cannot be an SFT example (None if it can): a user turn then a non-empty assistant turn."""
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
        return "needs a \"messages\" list"
    messages = row["messages"]
    if len(messages) < 2:
        return "needs at least a user and an assistant message"
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in (
            "system",
            "user",
            "assistant",
        ):
            return "each message needs a role (system/user/assistant) and string content"
    if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
        return "the last message must be a non-empty assistant reply"
    return None


def read_sft_rows(path: Path, report: DataReport | None = None) -> list[dict[str, Any]]:
    """Valid SFT rows of a JSONL file; malformed rows are skipped with a message in `report`."""
    report = report if report is not None else DataReport()
    good: list[dict[str, Any]] = []
    for i, row in enumerate(read_jsonl(path, report), 1):
        problem = sft_row_problem(row)
        if problem:
            report.skipped.append(f"{path.name} row {i}: {problem}")
            continue
        good.append({"messages": row["messages"]})
    report.rows = len(good)
    return good


def row_kind(row: dict[str, Any]) -> str:
    """selector-true / selector-false / crawler-search / other: for counts and the preview table."""
    user = row["messages"][0]["content"]
    reply = row["messages"][-1]["content"]
    if user.startswith("You are an elite researcher"):
        return "selector-true" if reply.startswith("True") else "selector-false"
    if user.startswith("Please generate some mutually exclusive queries"):
        return "crawler-search"
    if user.startswith("You are conducting research on"):
        return "crawler-expand"
    return "other"


def write_rows(rows: Iterable[dict[str, Any]], out: Path, report: DataReport) -> DataReport:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            report.rows += 1
            report.by_kind[row_kind(row)] += 1
    tmp.replace(out)
    return report


def build_selector_data(
    queries: Path | None,
    out: Path,
    *,
    retriever: Retriever | None = None,
    decisions: Path | None = None,
    negatives_per_query: int = 4,
    candidates: int = 30,
    limit: int | None = None,
    seed: int = 0,
) -> DataReport:
    report = DataReport()
    rows: list[dict[str, Any]] = []
    if queries is not None:
        if retriever is None:
            raise InputError("building Selector pairs from queries needs a paper index", hint="pass --index")
        records = read_queries(queries, report)[:limit]
        pairs = selector_pairs_from_queries(
            records, retriever, negatives_per_query=negatives_per_query, candidates=candidates, seed=seed
        )
        rows.extend(selector_row(p) for p in pairs)
    if decisions is not None:
        rows.extend(selector_row(p) for p in pairs_from_decisions(read_jsonl(decisions, report), report))
    random.Random(seed).shuffle(rows)
    return write_rows(rows, out, report)


def build_crawler_data(
    queries: Path, out: Path, *, retriever: Retriever, limit: int | None = None, max_queries: int = 5
) -> DataReport:
    report = DataReport()
    rows: list[dict[str, Any]] = []
    for record in read_queries(queries, report)[:limit]:
        chosen = crawler_queries_for(record, retriever, max_queries=max_queries)
        if chosen:
            rows.append(crawler_search_row(record.question, chosen))
        else:
            report.skipped.append(f"{record.qid}: no gold paper is retrievable, no target session")
    return write_rows(rows, out, report)


def preview(path: Path, count: int = 50) -> tuple[list[dict[str, str]], DataReport]:
    """The first `count` valid rows as (kind, prompt, reply) for a table, plus counts over the whole file."""
    report = DataReport()
    rows = read_sft_rows(path, report)
    for row in rows:
        report.by_kind[row_kind(row)] += 1
    table = [
        {"kind": row_kind(r), "prompt": r["messages"][0]["content"], "reply": r["messages"][-1]["content"]}
        for r in rows[:count]
    ]
    return table, report
