"""`pasa eval`: one flushed line per query, metrics only over queries with answers, BM25 beside the agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.eval.metrics import Candidate, EvalQuery, load_queries, query_metrics
from tests.pasa_desktop.cli.conftest import pasa


def test_metrics_follow_pasa_definitions() -> None:
    q = EvalQuery(
        qid="q", question="?", gold_titles=("Gradient Coding", "Coded MapReduce"), gold_arxiv=("1612.03301v2", "")
    )
    ranked = (
        [
            Candidate("Something else", None, True),
            Candidate("gradient   coding!", None, True),  # normalised title match
            Candidate("Another", "1612.03301", False),  # duplicate of gold 1 by arXiv id
        ]
        + [Candidate(f"filler {i}", None, False) for i in range(60)]
        + [Candidate("Coded MapReduce", None, False)]
    )
    m = query_metrics(q, ranked)
    assert m["crawler_recall"] == 1.0
    assert m["precision"] == 0.5 and m["recall"] == 0.5
    assert m["recall@20"] == 0.5 and m["recall@50"] == 0.5 and m["recall@100"] == 1.0
    assert query_metrics(q, [Candidate("x", None, False)])["precision"] == 0.0


def test_load_queries_skips_bad_lines(tmp_path: Path) -> None:
    f = tmp_path / "q.jsonl"
    f.write_text(
        '{"qid": "a", "question": "x?", "answer": ["T"], "answer_arxiv_id": ["2101.00001v3"]}\n{oops\n'
        '{"qid": "b", "question": "  "}\n{"qid": "c", "question": "y?"}\n'
    )
    queries, skipped = load_queries(f)
    assert [q.qid for q in queries] == ["a", "c"] and skipped == 2
    assert queries[0].gold_arxiv == ("2101.00001",) and not queries[1].has_answers


@pytest.mark.slow
def test_eval_writes_lines_and_prints_both_systems(
    tmp_path: Path, user_env: dict[str, str], dev_queries: list[dict[str, object]]
) -> None:
    queries = tmp_path / "q.jsonl"
    rows = [dict(dev_queries[0]), {"qid": "no-answer", "question": "coded computation for stragglers"}]
    queries.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    result = pasa(
        "eval",
        "--queries",
        str(queries),
        "--output",
        str(out),
        "--preset",
        "quick",
        "--max-seconds",
        "20",
        env=user_env,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["qid"] for r in lines] == [rows[0]["qid"], "no-answer"]
    for r in lines:
        assert {"qid", "papers", "crawled", "seconds"} <= r.keys() and r["crawled"] == len(r["papers"])
        assert all({"id", "title", "arxiv_id", "score", "selected", "found_by"} <= p.keys() for p in r["papers"])
    assert "over 1 queries with answers" in result.stdout
    assert "agent" in result.stdout and "BM25" in result.stdout
    # A rerun keeps what was done and runs nothing again.
    again = pasa("eval", "--queries", str(queries), "--output", str(out), env=user_env)
    assert again.returncode == 0 and len(out.read_text().splitlines()) == 2


def test_an_unscored_run_prints_no_precision_or_recall(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.eval.metrics import MetricTable
    from pasa_desktop.cli.evaluate import print_metrics

    q = EvalQuery("q1", "a question", ("Gold Paper",), ())
    agent, bm25 = MetricTable(), MetricTable()
    agent.add(query_metrics(q, [Candidate("Gold Paper", None, False)]))
    bm25.add(query_metrics(q, [Candidate("Gold Paper", None, False)]))
    print_metrics(agent, bm25, scored=False)
    out = capsys.readouterr().out
    agent_row = next(line for line in out.splitlines() if line.startswith("│ agent"))
    assert "0.0000" not in agent_row.split("│")[2] and "–" in agent_row  # precision is not a measured 0
    assert "1.0000" in agent_row  # R@20 still measured
    assert "Nothing was scored" in out
