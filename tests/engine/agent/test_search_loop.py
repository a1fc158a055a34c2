"""The search loop end to end on a real index, driven by scripted models (these tests are about control
flow: events, budgets, cancellation, resume, expansion), plus a real-model run on the embedded GGUF."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from engine import events as ev
from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.errors import InputError, SourceOffline
from engine.fulltext.model import BibEntry
from engine.papers import Paper
from engine.references import Resolution
from engine.sources.local_index import LocalIndex
from pasa_testing.scripted import ScriptedModel

QUERY = "Which works study coded computation to mitigate stragglers in distributed gradient descent?"


def crawler_reply(prompt: str) -> str:
    if "predict which sections" in prompt:
        return "[Expand]1 Introduction[StopExpand]" if "1 Introduction" in prompt else "[StopExpand]"
    return "[Search] gradient coding stragglers\n[Search] coded distributed computing\n[StopSearch]"


def keyword_scorer(prompt: str) -> float:
    title = prompt.split("Title: ", 1)[1].split("\n", 1)[0].lower()
    return 0.9 if ("strag" in title or "cod" in title) else 0.1


class CountingScorer:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, prompt: str) -> float:
        self.calls += 1
        return keyword_scorer(prompt)


async def drain(gen: object) -> list[ev.Event]:
    return [e async for e in gen]  # type: ignore[attr-defined]


def deps_for(index: Path, scorer: object = keyword_scorer, delay_s: float = 0.0) -> SearchDeps:
    model = ScriptedModel(crawler_reply, scorer, delay_s=delay_s)  # type: ignore[arg-type]
    return SearchDeps(crawler_model=model, selector_model=model, sources=[LocalIndex(index)])


async def test_full_run_emits_events_in_order(small_index: Path) -> None:
    settings = AgentSettings(expand_layers=0, results_per_query=20, score_top=30)
    events = await drain(run_search(QUERY, settings, deps_for(small_index)))
    kinds = [type(e) for e in events]
    assert kinds[0] is ev.SearchStarted and kinds[-1] is ev.SearchFinished
    issued = [e.query for e in events if isinstance(e, ev.QueryIssued)]
    assert issued[0] == QUERY and "gradient coding stragglers" in issued
    assert len([e for e in events if isinstance(e, ev.QueryFinished)]) == len(issued)
    finished = events[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status == ev.SearchStatus.DONE
    found = {p.key for e in events if isinstance(e, ev.PapersFound) for p in e.papers}
    assert {r.paper.key for r in finished.results} == found
    assert len([e for e in events if isinstance(e, ev.PaperScored)]) == min(30, len(found))
    # Every event survives a JSON round trip (that is what the library stores).
    for event in events:
        assert ev.event_from_dict(ev.event_to_dict(event)) == event
    scored = {e.key: e.score for e in events if isinstance(e, ev.PaperScored)}
    assert all(r.selector_score == scored.get(r.paper.key) for r in finished.results)


async def test_empty_query_is_an_input_error(small_index: Path) -> None:
    with pytest.raises(InputError):
        await drain(run_search("   \n ", AgentSettings(), deps_for(small_index)))


async def test_cancel_stops_within_a_second_and_keeps_results(small_index: Path) -> None:
    settings = AgentSettings(expand_layers=0, score_top=50)
    cancel = asyncio.Event()
    events: list[ev.Event] = []
    cancelled_at = 0.0
    async for event in run_search(QUERY, settings, deps_for(small_index, delay_s=0.5), cancel=cancel):
        events.append(event)
        if isinstance(event, ev.PaperScored) and not cancel.is_set():
            cancel.set()
            cancelled_at = time.monotonic()
    assert time.monotonic() - cancelled_at < 1.0
    finished = events[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status == ev.SearchStatus.CANCELLED
    assert len(finished.results) == len({p.key for e in events if isinstance(e, ev.PapersFound) for p in e.papers})


async def test_time_budget_truncates(small_index: Path) -> None:
    settings = AgentSettings(expand_layers=0, score_top=50, max_seconds=1.0)
    started = time.monotonic()
    events = await drain(run_search(QUERY, settings, deps_for(small_index, delay_s=0.3)))
    assert time.monotonic() - started < 3.0
    finished = events[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status == ev.SearchStatus.TRUNCATED
    assert finished.results


async def test_resume_skips_what_was_done(small_index: Path) -> None:
    settings = AgentSettings(expand_layers=0, score_top=40)
    first = CountingScorer()
    events: list[ev.Event] = []
    gen = run_search(QUERY, settings, deps_for(small_index, first))
    async for event in gen:
        events.append(event)
        if sum(isinstance(e, ev.PaperScored) for e in events) == 12:
            break  # the process "dies" here: only what was emitted survives
    await gen.aclose()  # type: ignore[attr-defined]  # run_search is an async generator; it is annotated AsyncIterator
    scored_before = {e.key for e in events if isinstance(e, ev.PaperScored)}
    second = CountingScorer()
    resumed = await drain(run_search(QUERY, settings, deps_for(small_index, second), resume=events))
    finished = resumed[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status == ev.SearchStatus.DONE
    assert not any(isinstance(e, ev.QueryIssued) for e in resumed)  # the Crawler is not asked again
    rescored = {e.key for e in resumed if isinstance(e, ev.PaperScored)}
    assert not (rescored & scored_before)
    assert first.calls + second.calls == len(scored_before | rescored)
    assert scored_before <= {r.paper.key for r in finished.results}


async def test_garbage_from_the_model_is_bounded(small_index: Path) -> None:
    endless = ScriptedModel(lambda _p: "[Search] the the the the the the the the" * 500, lambda _p: float("0.2"))
    deps = SearchDeps(crawler_model=endless, selector_model=endless, sources=[LocalIndex(small_index)])
    events = await drain(run_search(QUERY, AgentSettings(expand_layers=0, score_top=5), deps))
    issued = [e.query for e in events if isinstance(e, ev.QueryIssued)]
    assert issued[0] == QUERY and len(issued) <= 1 + 1 + AgentSettings().max_queries
    assert isinstance(events[-1], ev.SearchFinished) and events[-1].status == ev.SearchStatus.DONE


class OfflineSource:
    name = "arxiv"

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        raise SourceOffline("arxiv", "no network")


async def test_offline_source_is_reported_once_and_search_goes_on(small_index: Path) -> None:
    deps = deps_for(small_index)
    deps.sources = [OfflineSource(), LocalIndex(small_index)]
    events = await drain(run_search(QUERY, AgentSettings(expand_layers=0, score_top=5), deps))
    notices = [e for e in events if type(e).__name__ == "Notice" and e.source == "arxiv"]  # type: ignore[union-attr]
    assert len(notices) == 1 and "offline" in notices[0].message  # type: ignore[union-attr]
    assert isinstance(events[-1], ev.SearchFinished) and events[-1].results


class FixtureSource:
    """Returns the fixture's own papers, so the loop has something with a full text to expand."""

    name = "fixture"

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = list(papers)

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        return self.papers[:limit]


class IdResolver:
    """Resolves entries that carry an arXiv id into placeholder papers (the real resolver is tested elsewhere)."""

    async def resolve(self, citing: Paper, entries: Sequence[BibEntry]) -> list[Resolution]:
        out = []
        for entry in entries:
            aid = entry.arxiv_id or entry.ids.get("arxiv_id") or None
            paper = Paper(id=f"arxiv:{aid}", title=entry.title or entry.raw[:80], arxiv_id=aid) if aid else None
            out.append(Resolution(entry=entry, paper=paper, confidence=1.0 if paper else 0.0, method="arxiv-id"))
        return out


async def test_expansion_reads_real_full_texts(unarxive_fixture: Path) -> None:
    from engine.fulltext.unarxive import UnarxiveFullTexts

    texts = UnarxiveFullTexts(unarxive_fixture)
    papers = [p for p in (texts.paper(i) for i in texts.ids()) if p is not None]
    model = ScriptedModel(crawler_reply, lambda _p: 0.7)
    deps = SearchDeps(
        crawler_model=model,
        selector_model=model,
        sources=[FixtureSource(papers)],
        fulltext=texts,
        resolver=IdResolver(),
    )
    settings = AgentSettings(max_queries=0, results_per_query=49, expand_layers=1, expand_per_layer=49, score_top=500)
    events = await drain(run_search("random polynomials and their zeros", settings, deps))
    expanded = [e for e in events if isinstance(e, ev.PaperExpanded)]
    assert len(expanded) == len(papers)
    chosen = [e for e in events if isinstance(e, ev.SectionsChosen)]
    assert chosen and all(s == ("1 Introduction",) for e in chosen for s in [e.sections] if s)
    cited = [e for e in events if isinstance(e, ev.PapersFound) and e.found_by and e.found_by[0].kind == "expansion"]
    assert cited, "expanding the Introductions of 49 real papers finds cited papers with arXiv ids"
    assert all(f.section == "1 Introduction" and f.parent_key for e in cited for f in e.found_by)
    finished = events[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status == ev.SearchStatus.DONE


async def test_a_slow_crawler_cannot_leave_the_search_empty(small_index: Path) -> None:
    """The user's question is searched before the Crawler writes anything: a starved CPU or a short
    budget still gives results."""
    slow = ScriptedModel(crawler_reply, keyword_scorer, delay_s=5.0)
    deps = SearchDeps(crawler_model=slow, selector_model=slow, sources=[LocalIndex(small_index)])
    started = time.monotonic()
    events = await drain(run_search(QUERY, AgentSettings(expand_layers=0, max_seconds=1.5), deps))
    assert time.monotonic() - started < 3.0
    finished = events[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status == ev.SearchStatus.TRUNCATED
    assert next(e.query for e in events if isinstance(e, ev.QueryIssued)) == QUERY
    assert len(finished.results) >= 10
