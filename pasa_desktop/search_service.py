"""Wires settings, sources, models and the library around the engine's search loop.

The CLI and the GUI both use `SearchService`: it builds what a search needs from settings (models
are loaded once and kept), records every event to the library as it arrives (that is what makes
`--resume` work after Ctrl-C, a crash or kill -9), and yields `(run_id, event)` pairs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.errors import ConfigError, InputError
from engine.events import Event, Notice, SearchStarted
from engine.fulltext.model import FullTextProvider
from engine.models.base import ChatModel
from engine.models.profiles import load_model
from engine.sources.index_lifecycle import IndexHealth
from engine.sources.local_index import LocalIndex
from pasa_desktop.search_request import SearchPlan, SearchRequest
from pasa_desktop.settings import Settings

if TYPE_CHECKING:
    from pasa_desktop.library import Library


async def _beat(library: Library, run_id: int) -> None:
    """Keep the run's lease fresh while the search runs (a long model call records no event)."""
    from pasa_desktop.library.leases import HEARTBEAT_S

    while True:
        await asyncio.sleep(HEARTBEAT_S)
        await asyncio.to_thread(library.heartbeat_run, run_id)


def default_fulltext_path(settings: Settings) -> Path | None:
    value = os.environ.get("PASA_FULLTEXT") or settings.paths.fulltext
    return Path(value) if value else None


def ensure_index(settings: Settings, progress: Callable[[int, int, int], None] | None = None) -> IndexHealth:
    """The offline index ready to search: pasa_desktop/offline_index.py (index_lifecycle) decides."""
    from pasa_desktop.offline_index import prepare_index

    return prepare_index(settings, progress=progress)


class SearchService:
    """Long-lived: the GUI keeps one; the CLI makes one per command."""

    def __init__(
        self,
        settings: Settings,
        library: Library | None = None,
        *,
        model_loader: Callable[[str], ChatModel] | None = None,
    ) -> None:
        self.settings = settings
        self.library = library
        # Tests (and embedders) hand in models by profile name; by default profiles are loaded.
        self._model_loader = model_loader
        self._models: dict[str, ChatModel] = {}
        self._index: LocalIndex | None = None
        self._fulltext: FullTextProvider | None = None

    # -- what a search needs, built lazily and kept --

    def model(self, profile_name: str) -> ChatModel:
        if profile_name not in self._models:
            if self._model_loader is not None:
                self._models[profile_name] = self._model_loader(profile_name)
            else:
                self._models[profile_name] = load_model(self.settings.profile(profile_name))
        return self._models[profile_name]

    def index(self) -> LocalIndex:
        if self._index is None:
            self._index = LocalIndex(self.settings.index_path())
        return self._index

    def fulltext(self) -> FullTextProvider | None:
        """Offline full texts (unarXive format) when configured; online full texts come with OnlineStack."""
        if self._fulltext is None:
            path = default_fulltext_path(self.settings)
            if path is not None and path.exists():
                from engine.fulltext.unarxive import UnarxiveFullTexts

                self._fulltext = UnarxiveFullTexts(path)
        return self._fulltext

    # -- running --

    async def run(
        self, request: SearchRequest, *, cancel: asyncio.Event | None = None
    ) -> AsyncIterator[tuple[int, Event]]:
        """Run (or resume) a search, recording each event before yielding it. run_id is 0 without a library.

        The run is held (leases.py) from before the first event to the last: resuming a run that another
        live process holds raises RunHeld (an InputError) before any model loads."""
        plan = request.plan(self.settings)
        query, agent = plan.query, plan.agent
        prior: list[Event] = []
        run_id = 0
        if plan.resume_run is not None:
            if self.library is None:
                raise ConfigError("resuming needs the library", hint="do not pass --no-library with --resume")
            run_id = plan.resume_run
            self.library.claim_run(run_id)
            prior = self.library.run_events(run_id)
            started = next((e for e in prior if isinstance(e, SearchStarted)), None)
            if started is None:
                self.library.release_run(run_id)
                raise InputError(f"run {run_id} has no recorded start", hint="pasa history lists runs")
            query = started.query
            agent = AgentSettings.model_validate(started.settings) if started.settings else agent
        try:
            async for item in self._run(plan, query, agent, prior, run_id, cancel):
                yield item
        finally:
            if self.library is not None and run_id:
                self.library.release_run(run_id)

    async def _run(
        self,
        plan: SearchPlan,
        query: str,
        agent: AgentSettings,
        prior: list[Event],
        run_id: int,
        cancel: asyncio.Event | None,
    ) -> AsyncIterator[tuple[int, Event]]:
        names = plan.sources
        crawler, selector = plan.settings.crawler_profile, plan.settings.selector_profile
        from engine.models.base import NoModel
        from pasa_desktop.selector_setup import selector_for_search

        # The default relevance Selector until its first-use training is done: none (nothing scored), said so.
        ready, selector_waiting = selector_for_search(plan.settings, selector)
        to_load = [p for p in plan.settings.profiles if p.name in {crawler, ready} and p.name not in self._models]
        if to_load and self._model_loader is None:
            from engine.models.memory import ensure_fits

            # Both roles are checked together: each alone may fit where the pair does not.
            await asyncio.to_thread(ensure_fits, to_load)
        crawler_model = await asyncio.to_thread(self.model, crawler)
        selector_model = NoModel("no Selector is ready") if ready is None else await asyncio.to_thread(self.model, ready)
        index = await asyncio.to_thread(self.index) if "local" in names else None
        notices: list[Notice] = [selector_waiting] if selector_waiting is not None else []
        from pasa_desktop.online import OnlineStack

        stack = OnlineStack(plan.settings, names, index=index, offline_fulltext=self.fulltext(),
                            notify=notices.append)
        from engine.agent.queries import variants_with

        deps = SearchDeps(
            crawler_model=crawler_model,
            selector_model=selector_model,
            sources=([index] if index is not None else []) + stack.sources,
            fulltext=stack.fulltext,
            resolver=stack.resolver,
            query_variants=variants_with(index.acronyms if index is not None else None),
            notices=notices,
        )
        library = self.library
        heartbeat: asyncio.Task[None] | None = None
        if library is not None:
            if not run_id:
                run_id = library.create_run(query, agent.model_dump(mode="json"))  # held by this process
            heartbeat = asyncio.create_task(_beat(library, run_id))
        try:
            async for event in run_search(query, agent, deps, resume=prior, cancel=cancel):
                if library is not None:
                    library.record(run_id, event)
                yield run_id, event
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            if library is not None and run_id:
                library.release_run(run_id)
            await stack.aclose()

    def close(self) -> None:
        for model in self._models.values():
            model.close()
        self._models.clear()
        if self._index is not None:
            self._index.close()
            self._index = None
