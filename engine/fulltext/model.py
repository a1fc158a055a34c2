"""The parsed full text of a paper, whatever it came from (LaTeXML HTML, PDF, unarXive JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from engine.papers import Paper


@dataclass(frozen=True, slots=True)
class BibEntry:
    """One bibliography entry: the raw string plus whatever identifiers it carries."""

    id: str
    raw: str
    title: str | None = None  # parsed title, when a parser found one
    arxiv_id: str | None = None
    doi: str | None = None
    year: int | None = None
    authors: tuple[str, ...] = ()
    # Identifiers given by the source of the full text (e.g. unarXive's OpenAlex link).
    ids: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Section:
    """A section under its PaSa-style two-level name, e.g. "2 Related Work" or "3 Method 3.4 Guarantees"."""

    name: str
    text: str
    cites: tuple[str, ...] = ()  # BibEntry ids cited in this section, in order of first citation


@dataclass(frozen=True, slots=True)
class FullText:
    paper_id: str
    title: str
    abstract: str
    sections: tuple[Section, ...]
    bibliography: dict[str, BibEntry]
    origin: str = ""  # "arxiv-html" | "ar5iv" | "pdf" | "unarxive"

    def section_names(self) -> list[str]:
        return [s.name for s in self.sections]

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def cited_in(self, names: list[str]) -> list[BibEntry]:
        """Bibliography entries cited in the named sections, first-cited first, without repeats."""
        seen: set[str] = set()
        out: list[BibEntry] = []
        for name in names:
            sec = self.section(name)
            if sec is None:
                continue
            for bib_id in sec.cites:
                if bib_id in seen or bib_id not in self.bibliography:
                    continue
                seen.add(bib_id)
                out.append(self.bibliography[bib_id])
        return out


@runtime_checkable
class FullTextProvider(Protocol):
    """Gives the full text of a paper when it can; None when no full text exists."""

    async def fulltext(self, paper: Paper) -> FullText | None: ...
