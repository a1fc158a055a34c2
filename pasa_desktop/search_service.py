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
from engine.sources.local_index import BuildReport, LocalIndex, build_index, ensure_postings
from pasa_desktop.settings import Settings

if TYPE_CHECKING:
    from pasa_desktop.library import Library


def default_fulltext_path(settings: Settings) -> Path | None:
    value = os.environ.get("PASA_FULLTEXT") or settings.paths.fulltext
    return Path(value) if value else None


def ensure_index(settings: Settings, progress: Callable[[int, int, int], None] | None = None) -> BuildReport | None:
    """Build the offline index from the configured corpus when none exists yet; None if one exists
    (after writing its BM25F postings if an older version built it without)."""
    index = settings.index_path()
    if index.exists():
        ensure_postings(index)
        return None
    corpus = settings.corpus_path()
    if corpus is None or not corpus.exists():
        raise ConfigError(
            f"no offline paper index at {index}",
            hint="run `pasa index build --from CORPUS.jsonl.gz` (or set PASA_CORPUS)",
        )
    return build_index(corpus, index, progress=progress)


class SearchService:
    """Long-lived: the GUI keeps one; the CLI makes one per command."""

    def __init__(self, settings: Settings, library: Library | None = None) -> None:
        self.settings = settings
        self.library = library
        self._models: dict[str, ChatModel] = {}
        self._index: LocalIndex | None = None
        self._fulltext: FullTextProvider | None = None

    # -- what a search needs, built lazily and kept --

    def model(self, profile_name: str) -> ChatModel:
        if profile_name not in self._models:
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
        self,
        query: str,
        *,
        agent: AgentSettings | None = None,
        resume_run: int | None = None,
        cancel: asyncio.Event | None = None,
        crawler: str | None = None,
        selector: str | None = None,
        sources: list[str] | None = None,
    ) -> AsyncIterator[tuple[int, Event]]:
        """Run (or resume) a search, recording each event before yielding it. run_id is 0 without a library."""
        agent = agent or self.settings.agent
        prior: list[Event] = []
        run_id = 0
        if resume_run is not None:
            if self.library is None:
                raise ConfigError("resuming needs the library", hint="do not pass --no-library with --resume")
            prior = self.library.run_events(resume_run)
            started = next((e for e in prior if isinstance(e, SearchStarted)), None)
            if started is None:
                raise InputError(f"run {resume_run} has no recorded start", hint="pasa history lists runs")
            query = started.query
            agent = AgentSettings.model_validate(started.settings) if started.settings else agent
            run_id = resume_run
        elif not query.strip():
            raise InputError("the research query is empty", hint="describe the papers you are looking for")
        names = list(dict.fromkeys(sources or self.settings.sources.enabled))
        if not names:
            raise ConfigError("no paper source is enabled", hint="enable `local` or an online source in settings")
        roles = {crawler or self.settings.crawler_profile, selector or self.settings.selector_profile}
        to_load = [p for p in self.settings.profiles if p.name in roles and p.name not in self._models]
        if to_load:
            from engine.models.memory import ensure_fits

            # Both roles are checked together: each alone may fit where the pair does not. (An unknown
            # profile name is reported by loading it, below.)
            await asyncio.to_thread(ensure_fits, to_load)
        crawler_model = await asyncio.to_thread(self.model, crawler or self.settings.crawler_profile)
        selector_model = await asyncio.to_thread(self.model, selector or self.settings.selector_profile)
        index = await asyncio.to_thread(self.index) if "local" in names else None
        notices: list[Notice] = []
        from pasa_desktop.online import OnlineStack

        stack = OnlineStack(self.settings, names, index=index, offline_fulltext=self.fulltext(), notify=notices.append)
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
        if self.library is not None and resume_run is None:
            run_id = self.library.create_run(query, agent.model_dump(mode="json"))
        try:
            async for event in run_search(query, agent, deps, resume=prior, cancel=cancel):
                if self.library is not None:
                    self.library.record(run_id, event)
                yield run_id, event
        finally:
            await stack.aclose()

    def close(self) -> None:
        for model in self._models.values():
            model.close()
        self._models.clear()
        if self._index is not None:
            self._index.close()
            self._index = None
