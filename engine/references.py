"""Resolving bibliography entries to papers, with a confidence score.

The protocol lives here so the agent can depend on it; implementations follow the order DESIGN.md
asks for: structured sources first, then identifiers inside the entry, then fuzzy title matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine.fulltext.model import BibEntry
from engine.papers import Paper


@dataclass(frozen=True, slots=True)
class Resolution:
    entry: BibEntry
    paper: Paper | None  # None = unresolved (never a guess below the confidence threshold)
    confidence: float  # 0..1
    method: str  # "arxiv-id" | "doi" | "s2-references" | "openalex" | "title-local" | "title-match" | "none"


@runtime_checkable
class ReferenceResolver(Protocol):
    async def resolve(self, citing: Paper, entries: Sequence[BibEntry]) -> list[Resolution]: ...
