"""Completing library papers' metadata online (engine.metadata), and writing what changed in one transaction.

`complete_library_papers(library, paper_ids, names)` reads the papers, asks the sources, and applies
every change at once (or nothing, with `dry_run`). What the library adds to the engine's rules:

- a field the user gave (the value an imported .bib/.ris/.json record carried) is protected: it is
  filled when blank, never replaced or renamed;
- an arXiv id or DOI that another library paper already has is not written (that would make two papers
  one work); the report says which paper has it, for `pasa library merge`;
- a citation key the library made without an author (the paper had none) is made again once the authors
  are known — "devlinBERTPretrainingDeep2018" instead of "BERTPretrainingDeep2018"; a key from an
  imported file is the user's and stays;
- each completion is kept as a source record ("completion"), so where a value came from stays visible;
- a paper that changed while the sources were asked is left alone (its new state is the user's).

The HTTP stack (one httpx client, the disk cache, the shared fetcher) is built here, as `online.py`
does for a search. `PASA_METADATA_API` points all four services at one base URL (a mirror, or a
loopback server in tests): `<base>/arxiv/api/query`, `<base>/s2/graph/v1`, `<base>/openalex`,
`<base>/crossref`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from engine.metadata import DETAILS, Completion, FieldChange, MetadataSources, complete_papers, offline_completion
from engine.papers import Paper
from engine.sources.arxiv import API_URL as ARXIV_API
from engine.sources.arxiv import ArxivSource
from engine.sources.cache import DiskCache
from engine.sources.crossref import API_URL as CROSSREF_API
from engine.sources.crossref import CrossrefSource
from engine.sources.http import HttpFetcher
from engine.sources.keys import KeyLookup, env_or_keyring
from engine.sources.openalex import API_URL as OPENALEX_API
from engine.sources.openalex import OpenAlexSource
from engine.sources.semantic_scholar import API_URL as S2_API
from engine.sources.semantic_scholar import SemanticScholarSource
from pasa_desktop.library import catalogue
from pasa_desktop.library.citekey import citekey_base, unique_citekey
from pasa_desktop.library.database import Db
from pasa_desktop.library.library import Library
from pasa_desktop.settings import Settings

METADATA_SOURCES = ("arxiv", "semantic_scholar", "openalex", "crossref")
COMPLETION_SOURCE = "completion"
API_BASE_ENV = "PASA_METADATA_API"
# Sources whose records are the user's own words about a paper (imports; Zotero pulls).
_USER_SOURCES = ("import:", "zotero", "user")
# A library row (catalogue.PAPER_COLUMNS), then what completion also needs.
_COLUMNS = f"{catalogue.PAPER_COLUMNS}, p.external_ids, p.updated"
_PROTECTABLE = ("authors", "year", "venue", "doi", "url", "arxiv_id", *DETAILS)


@dataclass(frozen=True, slots=True)
class PaperCompletion:
    """One library paper's completion: the engine's report plus what the library decided."""

    paper_id: int
    title: str
    changes: tuple[FieldChange, ...] = ()
    messages: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()


@dataclass
class CompletionReport:
    papers: list[PaperCompletion] = field(default_factory=list)
    applied: bool = False  # False for a dry run (or when nothing changed)
    sources: tuple[str, ...] = ()

    @property
    def changed(self) -> list[PaperCompletion]:
        return [p for p in self.papers if p.changes]

    @property
    def messages(self) -> list[str]:
        """Every distinct message, in first-seen order (one failing source is said once, not per paper)."""
        seen: dict[str, None] = {}
        for p in self.papers:
            for m in p.messages:
                seen.setdefault(m, None)
        # "offline (not retried yet)" repeats, for every later paper, what the first failure already said.
        offline = {m.split(":", 1)[0] for m in seen if ": offline: " in m or ": gave up after" in m}
        return [m for m in seen if not (m.endswith("offline (not retried yet) (check the network connection)")
                                        and m.split(":", 1)[0] in offline)]  # fmt: skip

    @property
    def unreachable(self) -> bool:
        """Sources were asked, none answered for any paper, and they said why: nothing could be checked."""
        return (
            bool(self.sources) and bool(self.papers) and not any(p.matches for p in self.papers) and bool(self.messages)
        )

    def summary(self) -> str:
        fields = sum(len(p.changes) for p in self.papers)
        verb = "completed" if self.applied or not fields else "would complete"
        where = f" from {', '.join(self.sources)}" if self.sources else " (offline: venue names only)"
        return (
            f"{verb} {len(self.changed)} of {len(self.papers)} paper{'s' if len(self.papers) != 1 else ''}"
            f" ({fields} field{'s' if fields != 1 else ''}){where}"
        )


@dataclass(frozen=True, slots=True)
class _Loaded:
    paper_id: int
    paper: Paper
    citekey: str
    updated: str
    protected: frozenset[str]
    user_citekey: bool


def _protected(records: Sequence[dict[str, Any]]) -> tuple[frozenset[str], bool]:
    """The fields user records gave a value, and whether one of them named the paper's citation key."""
    fields: set[str] = set()
    for record in records:
        for name in _PROTECTABLE:
            value = record.get(name) if name not in DETAILS else (record.get("external_ids") or {}).get(name)
            if value:
                fields.add(name)
    return frozenset(fields), bool(records)


def _load(conn: Db, paper_ids: Sequence[int]) -> list[_Loaded]:
    out: list[_Loaded] = []
    for start in range(0, len(paper_ids), 500):
        chunk = tuple(paper_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows = {int(r[0]): r for r in conn.execute(f"SELECT {_COLUMNS} FROM paper p WHERE p.id IN ({marks})", chunk)}
        users: dict[int, list[dict[str, Any]]] = {}
        for pid, source, record in conn.execute(
            f"SELECT paper_id, source, record FROM paper_source WHERE paper_id IN ({marks})", chunk
        ):
            if str(source).startswith(_USER_SOURCES):
                data = json.loads(record or "{}")
                if isinstance(data, dict):
                    users.setdefault(int(pid), []).append(data)
        for pid in chunk:
            row = rows.get(pid)
            if row is None:
                continue
            stored = catalogue.row_to_paper_row(row[:-2])
            ext, updated = row[-2:]
            extra = json.loads(ext or "{}")
            external = {str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {}
            paper = stored.to_paper().with_updates(external_ids=external)
            protected, user_key = _protected(users.get(pid, []))
            out.append(_Loaded(pid, paper, stored.citekey, updated, protected, user_key))
    return out


def build_sources(
    fetcher: HttpFetcher, names: Sequence[str], *, keys: KeyLookup = env_or_keyring, base_url: str | None = None
) -> MetadataSources:
    """The named metadata sources around one fetcher; `base_url` points them all at a mirror."""
    base = (base_url or "").rstrip("/")
    mailto = os.environ.get("PASA_CROSSREF_MAILTO") or None
    sources = MetadataSources()
    if "arxiv" in names:
        sources.arxiv = ArxivSource(fetcher, api_url=f"{base}/arxiv/api/query" if base else ARXIV_API)
    if "semantic_scholar" in names:
        s2_url = f"{base}/s2/graph/v1" if base else S2_API
        sources.semantic_scholar = SemanticScholarSource(fetcher, keys=keys, api_url=s2_url)
    if "openalex" in names:
        sources.openalex = OpenAlexSource(fetcher, keys=keys, api_url=f"{base}/openalex" if base else OPENALEX_API)
    if "crossref" in names:
        sources.crossref = CrossrefSource(fetcher, mailto=mailto, api_url=f"{base}/crossref" if base else CROSSREF_API)
    return sources


@asynccontextmanager
async def library_fetcher(settings: Settings) -> AsyncIterator[HttpFetcher]:
    """The HTTP stack of the library's online actions (completion, open-access PDFs): one httpx client, the
    disk cache, one shared fetcher; closed when done (the window calls this many times)."""
    cache = DiskCache(settings.cache_path())
    try:
        async with httpx.AsyncClient(timeout=settings.sources.timeout_s, follow_redirects=True) as client:
            yield HttpFetcher(
                client=client,
                cache=cache,
                max_retries=settings.sources.max_retries,
                timeout_s=settings.sources.timeout_s,
                # One silent service must not hold the whole library: it sits out and the others carry on.
                deadline_s=max(30.0, 3 * settings.sources.timeout_s),
                report_offline=False,  # each failure is in the report's messages
            )
    finally:
        cache.close()


async def _ask(
    settings: Settings, papers: list[_Loaded], names: Sequence[str], progress: Callable[[int, int], None] | None
) -> list[Completion]:
    async with library_fetcher(settings) as fetcher:
        sources = build_sources(fetcher, names, base_url=os.environ.get(API_BASE_ENV) or None)
        return await complete_papers(
            [p.paper for p in papers],
            sources,
            protected={p.paper.id: p.protected for p in papers},
            progress=progress,
        )


def _identifier_owner(conn: Db, column: str, value: str, paper_id: int) -> int | None:
    row = conn.execute(f"SELECT id FROM paper WHERE {column} = ? AND id != ? LIMIT 1", (value, paper_id)).first()
    return int(row[0]) if row else None


def _metadata(paper: Paper) -> tuple[object, ...]:
    return (
        paper.title,
        paper.authors,
        paper.year,
        paper.venue,
        paper.arxiv_id,
        paper.doi,
        paper.url,
        paper.external_ids,
    )


def _apply(conn: Db, loaded: _Loaded, done: Completion) -> PaperCompletion:
    """Write one completion (inside the caller's transaction); returns what was really written."""
    messages = list(done.messages)
    now = _load(conn, [loaded.paper_id])
    # A decision, tag or rating meanwhile is fine; new metadata (an import merged into it) is the user's.
    if not now or _metadata(now[0].paper) != _metadata(loaded.paper):
        why = "was deleted" if not now else "changed while the sources were asked"
        return PaperCompletion(
            loaded.paper_id,
            loaded.paper.title,
            (),
            (*messages, f"paper {loaded.paper_id} {why}; left as it is"),
            done.matches,
        )
    paper = done.paper
    changes = list(done.changes)
    for column in ("arxiv_id", "doi"):
        value = getattr(paper, column)
        if value and value != getattr(loaded.paper, column):
            owner = _identifier_owner(conn, column, value, loaded.paper_id)
            if owner is not None:
                paper = paper.with_updates(**{column: getattr(loaded.paper, column)})
                changes = [c for c in changes if c.field != column]
                messages.append(
                    f"paper {owner} already has {column} {value}: not copied (pasa library merge {owner} {loaded.paper_id}?)"
                )
    if not changes:
        if done.matches:  # checked, and complete already: an export need not ask again
            catalogue.add_source(
                conn, loaded.paper_id, loaded.paper.with_updates(id=COMPLETION_SOURCE, source=COMPLETION_SOURCE)
            )
        return PaperCompletion(loaded.paper_id, loaded.paper.title, (), tuple(messages), done.matches)
    paper = catalogue.clean(paper)
    citekey = loaded.citekey
    if paper.authors and not loaded.paper.authors and not loaded.user_citekey:
        nameless = citekey_base((), loaded.paper.title, loaded.paper.year)
        if citekey.startswith(nameless):
            citekey = unique_citekey(
                citekey_base(paper.authors, paper.title, paper.year),
                lambda k: (
                    conn.execute("SELECT 1 FROM paper WHERE citekey = ? AND id != ?", (k, loaded.paper_id)).first()
                    is not None
                ),
            )
            if citekey != loaded.citekey:
                changes.append(FieldChange("citekey", loaded.citekey, citekey, "authors"))
    conn.execute(
        "UPDATE paper SET authors = ?, first_author_key = ?, year = ?, venue = ?, arxiv_id = ?, doi = ?, url = ?,"
        " external_ids = ?, citekey = ?, updated = ? WHERE id = ?",
        (
            json.dumps(list(paper.authors), ensure_ascii=False),
            catalogue.author_key(paper.authors),
            paper.year,
            paper.venue,
            paper.arxiv_id,
            paper.doi,
            paper.url,
            json.dumps(paper.external_ids, ensure_ascii=False),
            citekey,
            catalogue.now(),
            loaded.paper_id,
        ),
    )
    record = paper.with_updates(id=COMPLETION_SOURCE, source=COMPLETION_SOURCE)
    catalogue.add_source(conn, loaded.paper_id, record)
    catalogue.reindex(conn, loaded.paper_id)
    return PaperCompletion(loaded.paper_id, loaded.paper.title, tuple(changes), tuple(messages), done.matches)


def online_enabled(settings: Settings) -> bool:
    """Whether the user let the app go online: an online search source is enabled in Settings. Exports
    complete metadata first only then (an explicit "complete" always asks)."""
    return any(name != "local" for name in settings.sources.enabled)


def completed_before(library: Library, paper_ids: Sequence[int]) -> set[int]:
    """Papers that were completed once already (an export does not ask again for them)."""
    out: set[int] = set()
    with library._read() as conn:
        for start in range(0, len(paper_ids), 500):
            chunk = tuple(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out |= {
                int(r[0])
                for r in conn.execute(
                    f"SELECT DISTINCT paper_id FROM paper_source WHERE source = ? AND paper_id IN ({marks})",
                    (COMPLETION_SOURCE, *chunk),
                )
            }
    return out


def complete_library_papers(
    library: Library,
    settings: Settings,
    paper_ids: Sequence[int],
    names: Sequence[str] = METADATA_SOURCES,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CompletionReport:
    """Complete these papers from the named sources (none: offline, venue names only) and apply the
    changes in one transaction — or only report them, with `dry_run`."""
    names = tuple(n for n in METADATA_SOURCES if n in names)
    with library._read() as conn:
        loaded = _load(conn, list(dict.fromkeys(paper_ids)))
    if names:
        completions = asyncio.run(_ask(settings, loaded, names, progress))
    else:
        completions = [offline_completion(p.paper, protected=p.protected) for p in loaded]
    report = CompletionReport(sources=names)
    if dry_run or not any(c.changed or c.matches for c in completions):
        report.papers = [
            PaperCompletion(p.paper_id, p.paper.title, c.changes, c.messages, c.matches)
            for p, c in zip(loaded, completions, strict=True)
        ]
        return report
    with library._write() as conn:
        report.papers = [_apply(conn, p, c) for p, c in zip(loaded, completions, strict=True)]
    report.applied = any(p.changes for p in report.papers)
    return report
