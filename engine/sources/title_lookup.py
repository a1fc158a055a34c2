"""Fast title matching on the offline index, for resolving many references per expanded paper.

`LocalIndex.match_title` ranks an OR query over every word with BM25, about a second per miss on the
full corpus; resolving 40 references of 20 papers that way would take minutes. Here a title is looked
up by its exact key first, then with an FTS5 AND query over its content words restricted to the title
column (small posting-list intersections: milliseconds), then with its longest words only (a parsed
title may carry a stray word). Candidates are accepted by title similarity.

Reads the index's published schema (`papers`, `papers_fts(title, abstract)`) through its own read-only
connection per thread; papers are built by `LocalIndex.get`.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Sequence
from datetime import date

from engine.papers import Paper, normalise_title
from engine.sources.local_index import STOPWORDS, LocalIndex
from engine.sources.title_match import title_similarity

_WORD = re.compile(r"[A-Za-z0-9]+")


def title_terms(title: str) -> list[str]:
    seen: list[str] = []
    for word in _WORD.findall(title):
        low = word.lower()
        if len(low) >= 2 and low not in STOPWORDS and low not in seen:
            seen.append(low)
    return seen


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

    def _ids_for(self, terms: list[str], limit: int = 20) -> list[str]:
        if not terms:
            return []
        match = " AND ".join(f'title:"{t}"' for t in terms)
        try:
            rows = (
                self._con()
                .execute(
                    "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid"
                    " WHERE papers_fts MATCH ? LIMIT ?",
                    (match, limit),
                )
                .fetchall()
            )
        except sqlite3.DatabaseError:
            return []
        return [str(r[0]) for r in rows]

    def exact_titles_sync(self, titles: Sequence[str]) -> list[Paper | None]:
        """Papers whose normalised title equals each given string exactly (an indexed look-up each)."""
        out: list[Paper | None] = []
        for title in titles:
            key = normalise_title(title)
            row = self._con().execute("SELECT id FROM papers WHERE title_key = ? LIMIT 1", (key,)).fetchone()
            out.append(self.index.get(str(row[0])) if row and len(key) >= 8 else None)
        return out

    def match_title_sync(self, title: str) -> Paper | None:
        key = normalise_title(title)
        if len(key) < 8:
            return None
        row = self._con().execute("SELECT id FROM papers WHERE title_key = ? LIMIT 1", (key,)).fetchone()
        if row:
            return self.index.get(str(row[0]))
        terms = title_terms(title)
        candidates = self._ids_for(terms)
        if not candidates and len(terms) > 4:
            candidates = self._ids_for(sorted(terms, key=len, reverse=True)[:4])
        best: tuple[float, Paper] | None = None
        for paper_id in candidates:
            paper = self.index.get(paper_id)
            if paper is None:
                continue
            score = title_similarity(title, paper.title)
            if score >= self.min_similarity and (best is None or score > best[0]):
                best = (score, paper)
        return best[1] if best else None

    async def match_title(self, title: str) -> Paper | None:
        return await asyncio.to_thread(self.match_title_sync, title)

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]:
        return await self.index.by_ids(arxiv_ids, dois)

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        return await self.index.search(query, limit=limit, before=before)
