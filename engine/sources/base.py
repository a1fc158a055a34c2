"""Protocols every paper source implements, plus optional capabilities some sources have."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from engine.papers import Paper


@runtime_checkable
class PaperSource(Protocol):
    """Keyword search returning papers in the source's rank order (best first)."""

    name: str

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]: ...


@runtime_checkable
class TitleMatcher(Protocol):
    """Sources that can look a paper up by (approximate) title, arXiv id or DOI."""

    name: str

    async def match_title(self, title: str) -> Paper | None: ...

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]: ...


@dataclass(frozen=True, slots=True)
class CitedReference:
    """A structured reference from a citation graph (e.g. Semantic Scholar), with citing contexts."""

    paper: Paper
    contexts: tuple[str, ...] = ()


@runtime_checkable
class ReferenceSource(Protocol):
    """Sources that know what a paper cites (Semantic Scholar references, OpenAlex referenced_works)."""

    name: str

    async def references(self, paper: Paper) -> list[CitedReference]: ...
