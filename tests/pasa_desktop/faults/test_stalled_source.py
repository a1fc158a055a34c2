"""One stalled online source must not use the whole search budget (#16): a real search over the offline
index with arXiv behind a loopback server that never answers gives up on arXiv inside its deadline,
says so once, and scores what the index found — well before the budget ends."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from engine import events as ev
from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.sources.arxiv import ArxivSource
from engine.sources.http import HttpFetcher
from engine.sources.local_index import LocalIndex
from pasa_testing.scripted import ScriptedModel
from tests.pasa_desktop.faults.server import RawServer, Reply

QUERY = "Which works study coded computation to mitigate stragglers in distributed gradient descent?"


def _crawler(_prompt: str) -> str:
    return "[Search] gradient coding stragglers\n[Search] coded distributed computing\n[StopSearch]"


def _score(prompt: str) -> float:
    title = prompt.split("Title: ", 1)[1].split("\n", 1)[0].lower()
    return 0.9 if "cod" in title or "strag" in title else 0.1


async def test_a_stalled_arxiv_gives_up_and_the_index_carries_the_search(small_index: Path) -> None:
    budget = 60.0
    with RawServer(lambda _r: Reply(200, b"", delay_s=budget * 2)) as server:
        async with httpx.AsyncClient(timeout=budget) as client:
            # What OnlineStack gives a search (deadline: budget / 6, at least 10 s), shortened for the test.
            fetcher = HttpFetcher(client, timeout_s=budget, max_retries=2, deadline_s=2.0, report_offline=False)
            arxiv = ArxivSource(fetcher, api_url=f"{server.url}/api/query")
            model = ScriptedModel(_crawler, _score)  # type: ignore[arg-type]
            deps = SearchDeps(crawler_model=model, selector_model=model, sources=[arxiv, LocalIndex(small_index)])
            settings = AgentSettings(expand_layers=0, score_top=10, max_seconds=budget)
            start = time.monotonic()
            events = [e async for e in run_search(QUERY, settings, deps)]
            took = time.monotonic() - start
    finished = events[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status == ev.SearchStatus.DONE
    assert took < budget / 3, f"the stalled source held the search for {took:.1f} s"
    said = [e for e in events if isinstance(e, ev.Notice) and e.source == "arxiv"]
    assert len(said) == 1, said  # said once, not once per query
    assert len([e for e in events if isinstance(e, ev.PaperScored)]) == 10  # the index's papers were scored
    assert len(server.seen) == 1  # not asked again while it sits out its cool-down
