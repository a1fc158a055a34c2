"""The online half of a search: one httpx client and fetcher per search, the sources the user enabled,
full texts (offline unarXive data first, then arXiv HTML → ar5iv → PDF) and the citation resolver.

Built inside the running event loop (an httpx.AsyncClient belongs to one loop) and closed when the
search ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from engine.fulltext.model import FullTextProvider
from engine.references import CitationResolver, ReferenceResolver
from engine.sources.base import PaperSource, ReferenceSource, TitleMatcher
from engine.sources.cache import DiskCache
from engine.sources.catalog import build_online_sources
from engine.sources.http import HttpFetcher, Notify
from engine.sources.keys import env_or_keyring
from engine.sources.local_index import LocalIndex
from pasa_desktop.settings import Settings


class OnlineStack:
    def __init__(
        self,
        settings: Settings,
        names: Sequence[str],
        *,
        index: LocalIndex | None,
        offline_fulltext: FullTextProvider | None,
        notify: Notify,
    ) -> None:
        online = [n for n in names if n != "local"]
        self.client = httpx.AsyncClient(
            timeout=settings.sources.timeout_s,
            follow_redirects=True,
            headers={"User-Agent": "PaSa-Desktop/0.1 (literature manager; mailto:unknown)"},
        )
        cache = DiskCache(settings.cache_path())
        self.fetcher = HttpFetcher(
            client=self.client,
            cache=cache,
            max_retries=settings.sources.max_retries,
            timeout_s=settings.sources.timeout_s,
            notify=notify,
            # The agent reports a source going offline itself (once); the fetcher must not repeat it.
            report_offline=False,
            # One stalled source gives up well inside the search budget; the others and the index carry on.
            deadline_s=min(30.0, max(10.0, settings.agent.max_seconds / 6)),
        )
        built = build_online_sources(online, self.fetcher, keys=env_or_keyring)
        self.sources: list[PaperSource] = list(built.values())
        matchers: list[TitleMatcher] = [s for s in built.values() if isinstance(s, TitleMatcher)]
        references: list[ReferenceSource] = [s for s in built.values() if isinstance(s, ReferenceSource)]
        providers: list[FullTextProvider] = [offline_fulltext] if offline_fulltext is not None else []
        if online or settings.sources.fulltext_online:
            from engine.fulltext.online import ChainedFullTexts, OnlineFullTexts

            providers.append(OnlineFullTexts(self.fetcher, cache=cache))
            self.fulltext: FullTextProvider | None = ChainedFullTexts(providers)
        else:
            self.fulltext = providers[0] if providers else None
        self.resolver: ReferenceResolver | None = None
        if self.fulltext is not None:
            self.resolver = CitationResolver(
                local=index, matchers=matchers, reference_sources=references, notify=notify
            )

    async def aclose(self) -> None:
        await self.client.aclose()
