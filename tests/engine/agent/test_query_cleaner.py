"""The query cleaner between the Crawler and the sources: no junk query is run or shown.

Cases come from the embedded SmolLM2 Crawler's real replies to PaSa's search prompt on train questions
(tests/engine/agent/data/crawler_replies.jsonl, recorded by benchmarks/crawler_queries.py fill) and from the
junk issue #15 reports seen in the window ("The answer is:", "Method: … Query: …", "Available
queries: - 1. … - 2. …", the question repeated three times in one query).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from engine.agent import prompts
from engine.agent.crawler import Crawler, crawler_writes_queries_for
from engine.agent.query_cleaner import clean_queries, clean_query, is_restatement, is_search_string, reply_items
from engine.agent.search import NO_FULLTEXT, SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.events import Event, FoundBy, Notice, PaperExpanded, PapersFound, QueryIssued, SearchFinished
from engine.papers import Paper
from pasa_testing.scripted import ScriptedModel

REPLIES = Path(__file__).parent / "data" / "crawler_replies.jsonl"
QUESTION = "Which works focus on face verification models and discuss their performance in unconstrained environments?"

# What must never survive: instruction text, labels, list markers, tags, the model's own chat turns.
JUNK = re.compile(
    r"please generate|mutually exclusive|user query|search the relevant|survey papers would be better"
    r"|\b(?:query|queries|method|answer|a|q)\s*:|the answer is|available queries|^\s*(?:[-*•]|\d+[.)])\s"
    r"|\[/?(?:search|stopsearch|expand)\]|\s(?:[-*•]|\d{1,2}[.)])\s+\w",
    re.IGNORECASE,
)


def assert_clean(queries: list[str], question: str) -> None:
    for query in queries:
        assert not JUNK.search(query), query
        assert is_search_string(query), query
        assert not is_restatement(query, question), query
        assert query == " ".join(query.split()) and query.strip("\"'`:-. ") == query, query
        words = query.lower().split()
        # No phrase repeated back to back ("x y x y x y").
        for n in range(1, len(words) // 2 + 1):
            for i in range(len(words) - 2 * n + 1):
                assert words[i : i + n] != words[i + n : i + 2 * n] or (n == 1 and len(words[i]) <= 2), query
    assert len({q.lower() for q in queries}) == len(queries)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The answer is:", []),
        ("The answer is: federated learning with differential privacy", ["federated learning with differential privacy"]),
        ("Method: contrastive sentence embeddings Query: SimCSE dropout augmentation",
         ["contrastive sentence embeddings", "SimCSE dropout augmentation"]),
        ("Available queries: - 1. graph neural network oversmoothing - 2. message passing depth - 3. GNN survey",
         ["graph neural network oversmoothing", "message passing depth", "GNN survey"]),
        ("1. coded computation stragglers\n2. gradient coding\n3) straggler mitigation survey",
         ["coded computation stragglers", "gradient coding", "straggler mitigation survey"]),
        ("Please generate some mutually exclusive queries in a list to search the relevant papers according to "
         "the User Query.", []),
        (f"User Query: {QUESTION}", []),
        (f"{QUESTION} {QUESTION} {QUESTION}", []),
        ("face verification in the wild face verification in the wild face verification in the wild",
         ["face verification in the wild"]),
        ("Please provide a list of studies that have been conducted on adversarial training",
         ["adversarial training"]),
        ("**\"deep metric learning for faces\"**", ["deep metric learning for faces"]),
        ("A: [Search]\n\nA: [Search]\n\nA: [Search", []),
        ("survey", []),
        ("", []),
        ("2023, 2023, 2023, 2023", []),
        (" ".join(["word"] * 5 + [f"term{i}" for i in range(30)]), []),
        # Further real replies (train questions 21-100, benchmarks/crawler_queries.py fill):
        ("Mutual Exclusive Query", []),
        ("https://www.researchgate.net/projects/active-learning/", []),
        ("Ref: [https://www.researchgate.net/discover/publication/2023/02/22/the-future-of-data-protection", []),
        ("Inverse Dynamic Models (IDMs)](https://www.sciencedirect.com/sciencejournals/research/innovation",
         ["Inverse Dynamic Models IDMs"]),
        ("Generative Adversarial Networks (GANs", ["Generative Adversarial Networks GANs"]),
        ("Auxiliary Learning Methods: Auxiliary Learning Methods: Auxiliary Learning Methods:",
         ["Auxiliary Learning Methods"]),
        ("Syntactically, the answer is:\n[Syntactically]\n\nThis is a list of queries that search the relevant "
         "papers according to the User Query.", []),
    ],
)
def test_issue_cases(raw: str, expected: list[str]) -> None:
    cleaned = clean_query(raw, QUESTION)
    assert cleaned == expected
    assert_clean(cleaned, QUESTION)


def test_restatement_kept_when_the_question_itself_does_not_run() -> None:
    assert clean_query(f"Query: {QUESTION}", QUESTION) == []
    kept = clean_query(f"Query: {QUESTION}", None)
    assert kept == ["focus on face verification models and discuss their performance in unconstrained environments?"]


def test_reply_items_keep_a_cut_off_last_item() -> None:
    reply = "[Search] gradient coding [Search] coded matrix multiplication\n[StopSearch]"
    assert reply_items(reply) == ["gradient coding", "coded matrix multiplication"]
    assert reply_items("[Search] straggler mitigation surv") == ["straggler mitigation surv"]
    assert reply_items("1. a list\n2. without tags") == ["1. a list\n2. without tags"]


def test_duplicates_and_limit() -> None:
    cleaned = clean_queries(["Gradient coding", "gradient  coding.", "1. coded computing 2. gradient coding"], None, limit=5)
    assert cleaned == ["Gradient coding", "coded computing"]
    assert clean_queries(["a b c d", "alpha beta", "gamma delta", "epsilon zeta"], None, limit=2) == [
        "alpha beta",
        "gamma delta",
    ]


def _replies() -> list[dict[str, str]]:
    if not REPLIES.is_file():
        pytest.fail(f"{REPLIES} is missing (benchmarks/crawler_queries.py fill writes it)")
    return [json.loads(line) for line in REPLIES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_real_replies_of_the_embedded_crawler_leave_no_junk() -> None:
    rows = _replies()
    assert len(rows) >= 20
    for row in rows:
        model = ScriptedModel([row["reply"]])
        queries = Crawler(model, AgentSettings(crawler_queries="on")).search_queries(row["question"])
        assert model.prompts == [prompts.search_prompt(row["question"])]
        assert_clean(queries, row["question"])
        assert len(queries) <= AgentSettings().max_queries


class RecordingSource:
    """A real in-memory source that remembers every query it was asked."""

    name = "recording"

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        self.asked.append(query)
        slug = abs(hash(query))
        return [Paper(id=f"x:{slug}-{i}", title=f"{query} {word}") for i, word in enumerate(("alpha", "beta", "gamma"))][:limit]


async def _drain(question: str, reply: str, settings: AgentSettings) -> tuple[list[Event], RecordingSource]:
    source = RecordingSource()
    model = ScriptedModel([reply], lambda _p: 0.2)
    deps = SearchDeps(
        crawler_model=model,
        selector_model=model,
        sources=[source],
        query_variants=lambda q: [q.replace("?", " survey")],
    )
    events = [e async for e in run_search(question, settings, deps)]
    return events, source


async def test_no_junk_query_reaches_a_source() -> None:
    rows = _replies()
    settings = AgentSettings(expand_layers=0, score_top=0, crawler_queries="on")
    for row in rows:
        events, source = await _drain(row["question"], row["reply"], settings)
        crawler = [e.query for e in events if isinstance(e, QueryIssued) and e.origin == "crawler"]
        assert_clean(crawler, row["question"])
        # The source saw the question, its variant and the cleaned Crawler queries: nothing else.
        assert len(source.asked) == len({e.query for e in events if isinstance(e, QueryIssued)})
    junk = ("Available queries: - 1. face verification benchmarks - 2. unconstrained face recognition "
            "- 3. The answer is:")
    events, source = await _drain(QUESTION, junk, settings)
    issued = [(e.query, e.origin) for e in events if isinstance(e, QueryIssued)]
    assert issued[0] == (QUESTION, "user") and issued[1][1] == "planner"
    assert issued[2:] == [("face verification benchmarks", "crawler"), ("unconstrained face recognition", "crawler")]
    # Each query's papers say who wrote it: you, the planner, the Crawler model.
    found = [f for e in events if isinstance(e, PapersFound) for f in e.found_by]
    labels = {f.origin: f.label() for f in found}
    assert labels["user"] == f"you: {QUESTION}"
    assert labels["planner"].startswith("planner: ")
    assert labels["crawler"].startswith("Crawler model: ")
    assert FoundBy("query", query="q").label() == "query: q"  # runs recorded before origins were kept


async def test_embedded_crawler_writes_no_queries_by_default() -> None:
    settings = AgentSettings(expand_layers=0, score_top=0)
    assert not crawler_writes_queries_for(settings, "embedded")
    assert crawler_writes_queries_for(settings, "gguf", "pasa-7b-crawler.Q4_K_M.gguf")
    assert crawler_writes_queries_for(settings.model_copy(update={"crawler_queries": "on"}), "embedded")
    assert not crawler_writes_queries_for(settings.model_copy(update={"crawler_queries": "off"}), "openai", "x")
    source = RecordingSource()
    model = ScriptedModel(["[Search] gradient coding[StopSearch]"], lambda _p: 0.2, name="embedded")
    deps = SearchDeps(crawler_model=model, selector_model=model, sources=[source])
    events = [e async for e in run_search(QUESTION, settings, deps)]
    assert model.prompts == []  # the Crawler was never asked
    assert [e.origin for e in events if isinstance(e, QueryIssued)] == ["user"]


async def test_one_notice_when_expansion_cannot_run() -> None:
    settings = AgentSettings(expand_layers=2, expand_per_layer=5, score_top=0)
    events, _source = await _drain(QUESTION, "[StopSearch]", settings)
    notices = [e for e in events if isinstance(e, Notice) and e.source == "expansion"]
    assert len(notices) == 1 and notices[0].message == NO_FULLTEXT and notices[0].level == "info"
    assert isinstance(events[-1], SearchFinished) and events[-1].status.value == "done"
    # No notice when the budget asks for no expansion.
    events, _source = await _drain(QUESTION, "[StopSearch]", settings.model_copy(update={"expand_layers": 0}))
    assert not [e for e in events if isinstance(e, Notice) and e.source == "expansion"]


class OfflineFullTexts:
    """Online full texts with no network: every paper fails the same way."""

    def __init__(self) -> None:
        self.asked = 0

    async def fulltext(self, paper: Paper) -> None:
        from engine.errors import SourceOffline

        self.asked += 1
        raise SourceOffline("fulltext", "arxiv.org unreachable")


class NoResolver:
    async def resolve(self, citing: Paper, entries: object) -> list[object]:
        return []


async def test_one_notice_when_online_full_texts_are_unreachable() -> None:
    source = RecordingSource()
    model = ScriptedModel(["[StopSearch]"], lambda _p: 0.2)
    texts = OfflineFullTexts()
    deps = SearchDeps(crawler_model=model, selector_model=model, sources=[source], fulltext=texts,
                      resolver=NoResolver())  # type: ignore[arg-type]
    settings = AgentSettings(expand_layers=2, expand_per_layer=3, score_top=0)
    events = [e async for e in run_search(QUESTION, settings, deps)]
    notices = [e for e in events if isinstance(e, Notice) and e.source == "expansion"]
    assert texts.asked >= 3  # every candidate was still tried (offline full texts could have had them)
    assert len(notices) == 1 and notices[0].level == "warning" and "unreachable" in notices[0].message
    assert not [e for e in events if isinstance(e, Notice) and e.source == "fulltext"]
    assert isinstance(events[-1], SearchFinished) and events[-1].status.value == "done"


class EmptyFullTexts:
    """A full-text source that holds none of the papers (an offline sample, say)."""

    async def fulltext(self, paper: Paper) -> None:
        return None


async def test_one_notice_when_expansion_reads_no_paper() -> None:
    from engine.agent.presets import NONE_READ

    source = RecordingSource()
    model = ScriptedModel(["[StopSearch]"], lambda _p: 0.2)
    deps = SearchDeps(crawler_model=model, selector_model=model, sources=[source], fulltext=EmptyFullTexts(),
                      resolver=NoResolver())  # type: ignore[arg-type]
    settings = AgentSettings(expand_layers=2, expand_per_layer=3, score_top=0)
    events = [e async for e in run_search(QUESTION, settings, deps)]
    tried = [e for e in events if isinstance(e, PaperExpanded)]
    notices = [e for e in events if isinstance(e, Notice) and e.source == "expansion"]
    assert tried and all(not e.sections for e in tried)
    assert [n.message for n in notices] == [NONE_READ.format(tried=len(tried))]
    assert isinstance(events[-1], SearchFinished) and events[-1].status.value == "done"
