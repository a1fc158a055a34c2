"""A scripted search for UI-flow tests: real events recorded into a real library, paced like a search.

It stands in for the engine's search loop where a test is about what the window does with events
(tree, plots, table, cancel, resume), not about retrieval quality.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import AsyncIterator, Callable

from engine import events as ev
from engine.papers import Paper
from pasa_desktop.gui_controller import Launched, SearchRequest
from pasa_desktop.gui_controller.search_process import serve
from pasa_desktop.library import Library

TOPICS = ("coded computation", "gradient coding", "straggler mitigation")


def paper(i: int) -> Paper:
    topic = TOPICS[i % len(TOPICS)]
    return Paper(
        id=f"test:{i}",
        title=f"{topic.title()} for Distributed Training, Part {i}",
        abstract=f"We study {topic} in distributed training clusters with slow workers (paper {i}). " * 3,
        authors=(f"Ada Lovelace{i}", "Alan Turing", "Grace Hopper"),
        year=2015 + i % 10,
        venue="NeurIPS" if i % 2 else "ICML",
        arxiv_id=f"2101.{10000 + i:05d}",
        source="local",
    )


def score_of(i: int) -> float:
    return round(((i * 37) % 100) / 100.0, 2)


def script(query: str, n_queries: int = 3, per_query: int = 6) -> list[ev.Event]:
    """A full search: queries → papers → scores → one expansion with cited papers → finished."""
    events: list[ev.Event] = [ev.SearchStarted(query=query, settings={"preset": "standard"})]
    found = scored = selected = 0
    n = 0
    for q in range(n_queries):
        text = f"{TOPICS[q % len(TOPICS)]} stragglers"
        events.append(ev.QueryIssued(text))
        batch = tuple(paper(n + k) for k in range(per_query))
        events.append(ev.PapersFound(batch, tuple(ev.FoundBy("query", query=text, rank=k + 1, source="local")
                                               for k in range(per_query))))
        events.append(ev.QueryFinished(text, per_query))
        found += per_query
        events.append(ev.Progress("search", f"Crawler: searched “{text}”", ev.Counts(q + 1, found, scored, selected)))
        for k in range(per_query):
            s = score_of(n + k)
            events.append(ev.PaperScored(batch[k].key, s, s > 0.5, reason=""))
            scored += 1
            selected += s > 0.5
        n += per_query
    parent = paper(1)
    events.append(ev.SectionsChosen(parent.key, ("2 Related Work", "3 Method")))
    cited = tuple(paper(n + k) for k in range(4))
    events.append(ev.PapersFound(cited, tuple(ev.FoundBy("expansion", parent_key=parent.key, section="2 Related Work",
                                                   rank=k + 1) for k in range(4))))
    events.append(ev.PaperExpanded(parent.key, ("2 Related Work", "3 Method"), cited=9, resolved=4))
    events.append(ev.Notice("warning", "semantic_scholar", "offline: using the local index only"))
    for k, p in enumerate(cited):
        events.append(ev.PaperScored(p.key, score_of(n + k), score_of(n + k) > 0.5))
    return events


class ScriptedSearch:
    """A `StreamFactory`: records each event to the library (as the app's search service does)."""

    def __init__(self, library: Library, *, delay_s: float = 0.02, n_queries: int = 3, per_query: int = 6) -> None:
        self.library = library
        self.delay_s = delay_s
        self.n_queries = n_queries
        self.per_query = per_query
        self.started: list[SearchRequest] = []

    async def __call__(self, request: SearchRequest, cancel: asyncio.Event) -> AsyncIterator[tuple[int, ev.Event]]:
        self.started.append(request)
        t0 = time.monotonic()
        if request.resume_run is not None:
            run_id = request.resume_run
            done = len(self.library.run_events(run_id))
            query = self.library.run(run_id).query
            events = script(query, self.n_queries, self.per_query)
            remaining = [ev.SearchStarted(query=query, resumed=True), *events[done:]]
        else:
            run_id = await asyncio.to_thread(self.library.create_run, request.query, {"preset": request.preset})
            remaining = script(request.query, self.n_queries, self.per_query)
        for event in remaining:
            if cancel.is_set():
                break
            if not (isinstance(event, ev.SearchStarted) and event.resumed):
                await asyncio.to_thread(self.library.record, run_id, event)
            yield run_id, event
            await asyncio.sleep(self.delay_s)
        status = ev.SearchStatus.CANCELLED if cancel.is_set() else ev.SearchStatus.DONE
        finished = ev.SearchFinished(status, seconds=time.monotonic() - t0)
        await asyncio.to_thread(self.library.record, run_id, finished)
        yield run_id, finished


# A test's search: given the request and its cancel flag, the events (run_id, event) it sends.
StreamFactory = Callable[[SearchRequest, asyncio.Event], AsyncIterator[tuple[int, ev.Event]]]


class _ThreadWorker:
    """A thread standing in for the search process (it cannot be killed: its stream stops on cancel)."""

    pid = None

    def __init__(self, thread: threading.Thread) -> None:
        self._thread = thread

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def kill(self) -> None:
        pass


class InThreadSearch:
    """A `SearchLauncher` that serves a test's stream from a thread of this process over a real pipe, with
    the search process's own `serve`: the window reads it exactly as it reads the child process."""

    def __init__(self, stream: StreamFactory) -> None:
        self.stream = stream

    def __call__(self, request: SearchRequest) -> Launched:
        ours, theirs = multiprocessing.Pipe()
        thread = threading.Thread(target=serve, args=(theirs, lambda cancel: self.stream(request, cancel)),
                                  name="pasa-test-search", daemon=True)
        thread.start()
        return Launched(ours, _ThreadWorker(thread))
