"""The offline index as a TitleMatcher for reference resolution: exact-title batch look-ups plus
`LocalIndex.match_title_sync` (exact key, then an AND over the title column: milliseconds per title)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from datetime import date

from engine.papers import Paper, normalise_title
from engine.sources.local_index import LocalIndex


class IndexTitleMatcher:
    """TitleMatcher (and PaperSource, delegated) over a LocalIndex, with fast title look-ups."""

    name = "local"

    def __init__(self, index: LocalIndex, *, min_similarity: float = 0.9) -> None:
        self.index = index
        self.min_similarity = min_similarity
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.index.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.con = con
        return con

    def exact_titles_sync(self, titles: Sequence[str]) -> list[Paper | None]:
        """Papers whose normalised title equals each given string exactly (an indexed look-up each)."""
        out: list[Paper | None] = []
        for title in titles:
            key = normalise_title(title)
            row = self._con().execute("SELECT id FROM papers WHERE title_key = ? LIMIT 1", (key,)).fetchone()
            out.append(self.index.get(str(row[0])) if row and len(key) >= 8 else None)
        return out

    def match_title_sync(self, title: str) -> Paper | None:
        return self.index.match_title_sync(title, min_similarity=self.min_similarity)

    async def match_title(self, title: str) -> Paper | None:
        return await asyncio.to_thread(self.match_title_sync, title)

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]:
        return await self.index.by_ids(arxiv_ids, dois)

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        return await self.index.search(query, limit=limit, before=before)
