"""Building the online sources a search uses, by name, around one shared fetcher.

`GuardedSource` is how "with no network, online sources report offline once and the search continues"
is kept: it turns a source's SourceError into one Notice per kind of failure and an empty result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from engine.errors import SourceError, SourceOffline
from engine.events import Notice, NoticeLevel
from engine.papers import Paper
from engine.sources.arxiv import ArxivSource
from engine.sources.base import PaperSource
from engine.sources.http import HttpFetcher, Notify
from engine.sources.keys import KeyLookup, no_keys
from engine.sources.openalex import OpenAlexSource
from engine.sources.semantic_scholar import SemanticScholarSource
from engine.sources.serper import SerperSource

ONLINE_SOURCES = ("arxiv", "semantic_scholar", "openalex", "serper")


def build_online_sources(
    names: Sequence[str], fetcher: HttpFetcher, *, keys: KeyLookup = no_keys
) -> dict[str, ArxivSource | SemanticScholarSource | OpenAlexSource | SerperSource]:
    """The named online sources (unknown names are ignored: "local" is built by the caller)."""
    arxiv = ArxivSource(fetcher)
    built: dict[str, ArxivSource | SemanticScholarSource | OpenAlexSource | SerperSource] = {}
    for name in names:
        if name == "arxiv":
            built[name] = arxiv
        elif name == "semantic_scholar":
            built[name] = SemanticScholarSource(fetcher, keys=keys)
        elif name == "openalex":
            built[name] = OpenAlexSource(fetcher, keys=keys)
        elif name == "serper":
            built[name] = SerperSource(fetcher, keys=keys, enrich=arxiv)
    return built


class GuardedSource:
    """A PaperSource that never raises SourceError: it reports each distinct failure once and returns []."""

    def __init__(self, inner: PaperSource, notify: Notify) -> None:
        self.inner = inner
        self.name = inner.name
        self.notify = notify
        self._reported: set[str] = set()

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        try:
            return await self.inner.search(query, limit=limit, before=before)
        except SourceError as exc:
            kind = "offline" if isinstance(exc, SourceOffline) else exc.message
            if kind not in self._reported:
                self._reported.add(kind)
                level: NoticeLevel = "warning" if isinstance(exc, SourceOffline) or exc.retriable else "error"
                self.notify(Notice(level=level, source=self.name, message=str(exc)))
            return []
