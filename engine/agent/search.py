"""The search loop: an async generator of events. A blocking helper just drains it.

Steps: search session (Crawler queries + the user's own question) → retrieval from every source →
Selector scores (best-by-retrieval first) → expansion layers (full text → sections the Crawler
picks → cited papers resolved → scored) → final ranking. A resumed run folds the old events into
its state first and skips every step whose result is already known (queries run, papers scored,
papers expanded).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from engine.agent.crawler import Crawler, crawler_writes_queries
from engine.agent.presets import NO_FULLTEXT, NONE_READ
from engine.agent.queries import retrieval_text
from engine.agent.query_cleaner import clean_query
from engine.agent.ranking import rank, resolve_select_rule, retrieval_order
from engine.agent.selector import Selector
from engine.agent.settings import AgentSettings
from engine.agent.state import RunState
from engine.errors import InputError, PasaError, SourceError, SourceOffline
from engine.events import (
    Event,
    FoundBy,
    Notice,
    PaperExpanded,
    PaperScored,
    PapersFound,
    Progress,
    ProgressStage,
    QueryFinished,
    QueryIssued,
    QueryOrigin,
    RankedPaper,
    SearchFinished,
    SearchStarted,
    SearchStatus,
    SectionsChosen,
)
from engine.fulltext.model import FullTextProvider
from engine.models.base import ChatModel
from engine.papers import Paper
from engine.references import ReferenceResolver
from engine.sources.base import PaperSource

T = TypeVar("T")


@dataclass
class SearchDeps:
    crawler_model: ChatModel
    selector_model: ChatModel
    sources: Sequence[PaperSource]
    fulltext: FullTextProvider | None = None
    resolver: ReferenceResolver | None = None
    # Extra deterministic query variants (e.g. keyword forms of the question); see engine.agent.queries.
    query_variants: Callable[[str], list[str]] | None = None
    # Sources and resolvers that report through a `notify` callback append here; the loop emits them.
    notices: list[Notice] = field(default_factory=list)

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)


class _Cancelled(Exception):
    pass


class _OutOfTime(Exception):
    pass


@dataclass
class _Run:
    query: str
    settings: AgentSettings
    deps: SearchDeps
    cancel: asyncio.Event
    state: RunState
    started: float = field(default_factory=time.monotonic)
    offline_reported: set[str] = field(default_factory=set)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` unless the user cancels or the time budget runs out first."""
        task = asyncio.ensure_future(awaitable)
        waiter = asyncio.ensure_future(self.cancel.wait())
        remaining = self.settings.max_seconds - self.elapsed()
        try:
            done, _ = await asyncio.wait(
                {task, waiter}, timeout=max(remaining, 0.0), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if task in done:
            return task.result()
        task.cancel()
        if self.cancel.is_set():
            raise _Cancelled
        raise _OutOfTime

    def check(self) -> None:
        if self.cancel.is_set():
            raise _Cancelled
        if self.elapsed() >= self.settings.max_seconds:
            raise _OutOfTime

    def progress(self, stage: ProgressStage, message: str) -> Progress:
        return Progress(stage=stage, message=message, counts=self.state.counts())

    def drain(self) -> list[Notice]:
        out = list(self.deps.notices)
        self.deps.notices.clear()
        return out

    def emit(self, event: Event) -> Event:
        self.state.apply(event)
        return event


async def run_search(
    query: str,
    settings: AgentSettings,
    deps: SearchDeps,
    *,
    resume: Sequence[Event] = (),
    cancel: asyncio.Event | None = None,
) -> AsyncIterator[Event]:
    """Search for papers meeting `query`. Always ends with a `SearchFinished` event (unless closed early)."""
    query = " ".join(query.split())
    if not query:
        raise InputError("the research query is empty", hint="describe the papers you are looking for")
    # "auto" selection becomes concrete for this Selector model (the embedded one cannot use PaSa's
    # P(True) > 0.5); done before SearchStarted so a resumed search ranks the same way.
    settings = resolve_select_rule(settings, deps.selector_model.info)
    run = _Run(query, settings, deps, cancel or asyncio.Event(), RunState.from_events(resume))
    run.state.query = run.state.query or query
    yield run.emit(SearchStarted(query=query, settings=settings.model_dump(mode="json"), resumed=bool(resume)))
    status = SearchStatus.DONE
    message = ""
    try:
        async for event in _search_session(run):
            yield event
        async for event in _score_pending(run):
            yield event
        reason = _no_expansion_reason(run)
        if reason:
            yield Notice(level="info", source="expansion", message=reason)
        for layer in range(max(run.state.layer, 1), settings.expand_layers + 1):
            async for event in _expand_layer(run, layer):
                yield event
            async for event in _score_pending(run):
                yield event
        # (Unreachable online full texts were already said, with their own reason.)
        if run.state.expanded and not run.state.read and "fulltext" not in run.offline_reported:
            yield Notice(level="info", source="expansion", message=NONE_READ.format(tried=len(run.state.expanded)))
    except _Cancelled:
        status, message = SearchStatus.CANCELLED, "cancelled by the user"
    except _OutOfTime:
        status, message = SearchStatus.TRUNCATED, f"time budget of {settings.max_seconds:.0f} s reached"
    except PasaError as exc:
        status, message = SearchStatus.FAILED, str(exc)
        yield Notice(level="error", source="agent", message=str(exc))
    results = tuple(rank(run.state, settings))
    yield SearchFinished(status=status, results=results, message=message, seconds=run.elapsed())


async def _search_session(run: _Run) -> AsyncIterator[Event]:
    """The user's own question (and its deterministic variants) is searched first: retrieval takes
    milliseconds, so a search always has results even when the Crawler is slow or the budget is short.
    Then the Crawler writes its queries and they are searched in turn."""
    state, settings = run.state, run.settings
    if not state.queries:
        planned: list[tuple[str, QueryOrigin]] = []
        if settings.include_user_query:
            planned.append((run.query, "user"))
        if run.deps.query_variants is not None:
            planned.extend((q, "planner") for q in run.deps.query_variants(run.query))
        for event in _issue(run, planned):
            yield event
    async for event in _run_pending_queries(run):
        yield event
    # The embedded Crawler's queries measured useless (crawler.py): by default it is not asked.
    writes = crawler_writes_queries(settings, run.deps.crawler_model.info)
    if writes and not any(origin == "crawler" for _q, origin in state.queries):
        yield run.progress("search", "Crawler: writing search queries…")
        crawler = Crawler(run.deps.crawler_model, settings)
        try:
            written = await run.guard(asyncio.to_thread(crawler.search_queries, run.query))
        except PasaError as exc:
            written = []
            yield Notice(level="warning", source="crawler", message=f"the Crawler failed, searching without it: {exc}")
        for event in _issue(run, [(q, "crawler") for q in written]):
            yield event
        async for event in _run_pending_queries(run):
            yield event


def _issue(run: _Run, planned: list[tuple[str, QueryOrigin]]) -> list[Event]:
    """QueryIssued for each new query. A model-written query passes the query cleaner first (lists
    split, labels and prompt echoes removed, restatements of the question dropped), so nothing but a
    search string reaches a source or the crawl view."""
    known = {q.lower() for q, _origin in run.state.queries}
    question = run.query if run.settings.include_user_query else None
    events: list[Event] = []
    for planned_text, origin in planned:
        texts = clean_query(planned_text, question) if origin == "crawler" else [" ".join(planned_text.split())]
        for text in texts:
            if not text or text.lower() in known:
                continue
            known.add(text.lower())
            events.append(run.emit(QueryIssued(query=text, origin=origin)))
    return events


async def _run_pending_queries(run: _Run) -> AsyncIterator[Event]:
    state = run.state
    for text, origin in list(state.queries):
        if text in state.queries_done:
            continue
        run.check()
        yield run.progress("search", f"Searching: {text}")
        hits = 0
        for source in run.deps.sources:
            papers = await _source_search(run, source, text)
            if papers is None:  # offline, already reported
                continue
            if isinstance(papers, Notice):
                yield papers
                continue
            hits += len(papers)
            event = _found(
                run,
                papers,
                [
                    FoundBy(kind="query", query=text, rank=i, source=source.name, origin=origin)
                    for i in range(1, len(papers) + 1)
                ],
            )
            if event is not None:
                yield run.emit(event)
        for notice in run.drain():
            yield notice
        yield run.emit(QueryFinished(query=text, hits=hits))


async def _source_search(run: _Run, source: PaperSource, text: str) -> list[Paper] | Notice | None:
    if source.name in run.offline_reported:
        return None
    try:
        wanted = retrieval_text(text)
        return await run.guard(source.search(wanted, limit=run.settings.results_per_query, before=run.settings.before))
    except SourceOffline as exc:
        run.offline_reported.add(source.name)
        return Notice(level="warning", source=source.name, message=f"offline, continuing without it: {exc.message}")
    except SourceError as exc:
        return Notice(level="warning", source=source.name, message=exc.message)


def _found(run: _Run, papers: Sequence[Paper], how: Sequence[FoundBy]) -> PapersFound | None:
    """New papers (within the paper budget) and repeat sightings, or None when nothing changed."""
    state = run.state
    new: list[Paper] = []
    new_how: list[FoundBy] = []
    again: list[tuple[str, FoundBy]] = []
    batch_keys: set[str] = set()
    for paper, found in zip(papers, how, strict=True):
        key = paper.key
        if key in state.papers:
            again.append((key, found))
        elif key not in batch_keys and len(state.papers) + len(new) < run.settings.max_papers:
            batch_keys.add(key)
            new.append(paper)
            new_how.append(found)
    if not new and not again:
        return None
    return PapersFound(papers=tuple(new), found_by=tuple(new_how), also_found=tuple(again))


async def _score_pending(run: _Run) -> AsyncIterator[Event]:
    state, settings = run.state, run.settings
    if settings.score_top == 0:
        return
    pending = [k for k in retrieval_order(state, settings)[: settings.score_top] if k not in state.scores]
    if not pending:
        return
    selector = Selector(run.deps.selector_model, abstract_chars=settings.abstract_chars)
    for start in range(0, len(pending), selector.batch_size):
        run.check()
        batch = pending[start : start + selector.batch_size]
        yield run.progress(
            "score",
            f"Selector: scoring {len(state.scores) + 1}–{len(state.scores) + len(batch)} of {len(state.scores) + len(pending) - start}",
        )
        papers = [state.papers[k] for k in batch]
        try:
            scores = await run.guard(asyncio.to_thread(selector.score, run.query, papers))
        except PasaError as exc:
            # The run ends "failed" (run_search's handler): "done" with nothing scored would be untrue.
            raise PasaError(f"the Selector failed after scoring {len(state.scores)} paper(s): {exc}") from exc
        for key, score in zip(batch, scores, strict=True):
            yield run.emit(PaperScored(key=key, score=score, selected=score > settings.select_threshold))


def _no_expansion_reason(run: _Run) -> str:
    """Why the expansion layers the budget asks for cannot run ("" when they can, or none are asked)."""
    settings, deps = run.settings, run.deps
    if settings.expand_layers == 0 or settings.expand_per_layer == 0:
        return ""
    if deps.fulltext is None or deps.resolver is None:
        return NO_FULLTEXT
    return ""


async def _expand_layer(run: _Run, layer: int) -> AsyncIterator[Event]:
    state, settings, deps = run.state, run.settings, run.deps
    if deps.fulltext is None or deps.resolver is None or settings.expand_per_layer == 0:
        return
    ranked: list[RankedPaper] = rank(state, settings)
    candidates = [r.paper for r in ranked if r.paper.key not in state.expanded][: settings.expand_per_layer]
    crawler = Crawler(deps.crawler_model, settings)
    for paper in candidates:
        run.check()
        key = paper.key
        yield run.progress("expand", f"Reading the full text of '{paper.title[:80]}'…")
        try:
            fulltext = await run.guard(deps.fulltext.fulltext(paper))
        except SourceOffline as exc:
            # Said once: each further paper would fail the same way.
            if "fulltext" not in run.offline_reported:
                run.offline_reported.add("fulltext")
                yield Notice(
                    level="warning",
                    source="expansion",
                    message="Online full texts (arXiv HTML, ar5iv, PDFs) are unreachable, so citation expansion "
                    f"reads only the papers in the offline full texts, if any: {exc.message}",
                )
            fulltext = None
        except PasaError as exc:
            yield Notice(level="warning", source="fulltext", message=f"{paper.title[:60]}: {exc}")
            fulltext = None
        if fulltext is None or not fulltext.sections:
            yield run.emit(PaperExpanded(key=key, sections=(), cited=0, resolved=0, layer=layer))
            continue
        names = fulltext.section_names()
        chosen = await run.guard(asyncio.to_thread(crawler.choose_sections, run.query, paper, names))
        yield SectionsChosen(key=key, sections=tuple(chosen))
        yield run.progress("expand", f"Crawler: expanding {len(chosen)} sections of '{paper.title[:60]}'…")
        entries = fulltext.cited_in(chosen)
        resolutions = await run.guard(deps.resolver.resolve(paper, entries)) if entries else []
        papers: list[Paper] = []
        how: list[FoundBy] = []
        section_of = {bib: s.name for s in fulltext.sections if s.name in chosen for bib in reversed(s.cites)}
        for position, res in enumerate(resolutions, start=1):
            if res.paper is None:
                continue
            papers.append(res.paper)
            how.append(
                FoundBy(
                    kind="expansion",
                    parent_key=key,
                    section=section_of.get(res.entry.id, ""),
                    rank=position,
                    source=res.method,
                )
            )
        event = _found(run, papers, how) if papers else None
        if event is not None:
            yield run.emit(event)
        for notice in run.drain():
            yield notice
        yield run.emit(
            PaperExpanded(key=key, sections=tuple(chosen), cited=len(entries), resolved=len(papers), layer=layer)
        )
