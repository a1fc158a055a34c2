"""SFT data building: PaSa's exact prompts, gold/retrieved pairs from a real index, library decisions."""

from __future__ import annotations

import json
from pathlib import Path

from engine.agent.prompts import search_prompt, selector_prompt
from training.data import (
    DataReport,
    IndexRetriever,
    build_crawler_data,
    build_selector_data,
    pairs_from_decisions,
    preview,
    read_queries,
    read_sft_rows,
)


def test_selector_pairs_from_queries(small_index: Path, queries_file: Path, tmp_path: Path) -> None:
    retriever = IndexRetriever(small_index)
    out = tmp_path / "selector.jsonl"
    report = build_selector_data(queries_file, out, retriever=retriever, negatives_per_query=2, candidates=5)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert report.rows == len(rows) > 0
    assert report.by_kind["selector-true"] == 5  # every gold paper of the 4 queries is in the index
    assert report.by_kind["selector-false"] > 0
    assert any("not JSON" in s or "line5" in s or ":5:" in s for s in report.skipped)  # the broken line
    gold = {q.question: set(q.gold_titles) for q in read_queries(queries_file)}
    for row in rows:
        user, reply = row["messages"][0]["content"], row["messages"][1]["content"]
        assert row["messages"][0]["role"] == "user" and row["messages"][1]["role"] == "assistant"
        title = user.split("Title: ", 1)[1].split("\n", 1)[0]
        query = user.split("User Query: ", 1)[1].split("\n", 1)[0]
        abstract = user.split("Abstract: ", 1)[1].split("\n\nUser Query", 1)[0]
        assert user == selector_prompt(query, title, abstract)  # byte-exact PaSa prompt
        assert reply.startswith("True\nReason: ") == (title in gold[query])


def test_crawler_rows_use_queries_that_find_gold(small_index: Path, queries_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "crawler.jsonl"
    report = build_crawler_data(queries_file, out, retriever=IndexRetriever(small_index))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert report.by_kind["crawler-search"] == len(rows) == 4
    first = rows[0]["messages"]
    assert first[0]["content"] == search_prompt("graph neural networks that predict molecule properties")
    assert first[1]["content"].startswith("[Search] ") and first[1]["content"].endswith("\n[StopSearch]")


def test_library_decisions_become_pairs(tmp_path: Path) -> None:
    rows = [
        {"query": "q", "title": "A", "abstract": "x", "decision": "accept"},
        {"query": "q", "title": "B", "decision": "rejected"},
        {"query": "q", "title": "C", "decision": "undecided"},  # ignored
        {"title": "no query"},  # reported
        {"query": " ", "title": "D", "decision": "accept"},  # reported
    ]
    report = DataReport()
    pairs = list(pairs_from_decisions(rows, report))
    assert [(p.title, p.label, p.origin) for p in pairs] == [("A", True, "library"), ("B", False, "library")]
    assert len(report.skipped) == 2
    export = tmp_path / "decisions.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "lib.jsonl"
    built = build_selector_data(None, out, decisions=export)
    assert built.by_kind == {"selector-true": 1, "selector-false": 1}


def test_malformed_sft_rows_are_skipped_with_reasons(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}
    path = tmp_path / "rows.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                "{broken",
                json.dumps({"messages": [{"role": "user", "content": "only a user turn"}]}),
                json.dumps({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": " "}]}),
                json.dumps({"messages": [{"role": "robot", "content": "u"}, {"role": "assistant", "content": "a"}]}),
                json.dumps([1, 2]),
            ]
        )
    )
    report = DataReport()
    assert read_sft_rows(path, report) == [good]
    assert len(report.skipped) == 5
    table, counts = preview(path)
    assert counts.rows == 1 and table[0]["reply"] == "a"
