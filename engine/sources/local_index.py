"""The offline paper index: one SQLite file with an FTS5 table, searched with BM25F fused with a dense
ranking.

Built from a JSON-lines corpus (this project's `papers.jsonl.gz` format or arXiv's OAI metadata
snapshot) by `build_index`, which also writes the BM25F postings beside it (engine/sources/bm25f.py),
with the acronyms the abstracts define (acronyms.py) and, where the packaged MiniLM is installed, the
static-embedding ranking (dense.py) that every BM25F search is fused with.
Searching never raises on user text: a query is reduced to its words, so FTS operators, quotes and
parentheses are just words. A query with a quoted phrase, or an index whose postings are missing or
stale, is ranked by FTS5's own bm25() (phrases matched as phrases).
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from engine.errors import ConfigError, InputError
from engine.papers import Paper, normalise_title, strip_arxiv_version
from engine.sources.acronyms import AcronymTable
from engine.sources.bm25f import (
    Bm25fRanker,
    build_postings,
    fuse_ranks,
    has_dense,
    postings_current,
    postings_dir,
)
from engine.sources.dense import DenseRanker
from engine.sources.title_match import title_similarity

SCHEMA_VERSION = 1
# FTS5 bm25() weight of the title column (the abstract's is 1.0), used where BM25F is not. The issue's
# baseline ("direct BM25") weights titles x10; over the full corpus x1 measured better for the agent's
# retrieval (R@20 0.396 vs 0.359, R@100 0.530 vs 0.492 on dev, benchmarks/RESULTS.md §0).
BASELINE_TITLE_WEIGHT = 10.0
TITLE_WEIGHT = 1.0
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")

# Function words that carry no topic. Questions in AutoScholarQuery style ("What works proposed ...")
# are full of them; OR-ing them makes BM25 slow and slightly worse.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no nor
    not now of off on once only or other our out over own same she should so some such than that the
    their them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours
    paper papers work works study studies research researches method methods approach approaches
    proposed propose proposes propose introduced introduce shown show shows used use using uses
    explored explore discussed discuss tell give find list provide provided cited mentioned existing
    previous prior some any been has have recent recently related various different any one ones
    examples example like such based""".split()
)

_CREATE = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS papers(
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    arxiv_id TEXT,
    doi TEXT,
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    abstract TEXT NOT NULL DEFAULT '',
    authors TEXT NOT NULL DEFAULT '[]',
    year INTEGER,
    venue TEXT,
    source TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5(
    title, abstract, content='papers', content_rowid='rowid', tokenize='porter unicode61'
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS papers_arxiv ON papers(arxiv_id);
CREATE INDEX IF NOT EXISTS papers_doi ON papers(doi);
CREATE INDEX IF NOT EXISTS papers_title_key ON papers(title_key);
"""


def query_terms(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased content words of `text`, in order, without repeats."""
    seen: set[str] = set()
    terms: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower()
        if low in seen or (not keep_stopwords and low in STOPWORDS) or len(low) < 2:
            continue
        seen.add(low)
        terms.append(low)
    return terms


_PHRASE = re.compile(r'"([^"]+)"')


def fts_match(text: str, *, keep_stopwords: bool = False) -> str:
    """An FTS5 MATCH expression that is always valid: quoted phrases kept as phrases, every other
    word quoted, all OR-ed together. Operators, stars and brackets typed by a user are just words."""
    phrases: list[str] = []
    if text.count('"') >= 2:
        for inner in _PHRASE.findall(text):
            words = [w.lower() for w in _WORD.findall(inner)]
            if len(words) >= 2:
                phrases.append(" ".join(words))
        text = _PHRASE.sub(" ", text)
    terms = query_terms(text, keep_stopwords=keep_stopwords)
    if not terms and not phrases:
        terms = query_terms(text, keep_stopwords=True)
    return " OR ".join('"' + t + '"' for t in [*phrases, *terms])


def text_has_no_phrase(text: str) -> bool:
    """No quoted phrase of two or more words (which only FTS5 can match as a phrase)."""
    if text.count('"') < 2:
        return True
    return not any(len(_WORD.findall(inner)) >= 2 for inner in _PHRASE.findall(text))


def ensure_postings(path: Path, progress: Callable[[int, int], None] | None = None) -> bool:
    """Write the BM25F postings of the index at `path` when missing or stale; True if it wrote them."""
    if postings_current(path):
        return False
    build_postings(path, progress=progress)
    return True


@dataclass(frozen=True, slots=True)
class BuildReport:
    added: int
    skipped: int  # corrupt or unusable lines
    duplicates: int
    path: Path


def _split_authors(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(a).strip() for a in value if str(a).strip()]
    if isinstance(value, str):
        parts = re.split(r",\s*|\s+and\s+", value.replace("\n", " "))
        return [p.strip() for p in parts if p.strip()]
    return []


def row_to_paper(row: dict[str, Any]) -> Paper | None:
    """A corpus row (this project's format or arXiv OAI metadata) as a Paper, or None if unusable."""
    title = re.sub(r"\s+", " ", str(row.get("title") or "")).strip()
    if not title or not normalise_title(title):
        return None
    is_arxiv_snapshot = "categories" in row and ("update_date" in row or "versions" in row)
    arxiv_id = row.get("arxiv_id") or (row.get("id") if is_arxiv_snapshot else None)
    year: int | None = None
    raw_year = row.get("year")
    if isinstance(raw_year, int) or (isinstance(raw_year, str) and raw_year.isdigit()):
        year = int(raw_year)
    elif is_arxiv_snapshot:
        versions = row.get("versions") or []
        created = versions[0].get("created", "") if versions and isinstance(versions[0], dict) else ""
        found = re.search(r"(19|20)\d{2}", created) or re.search(r"(19|20)\d{2}", str(row.get("update_date", "")))
        year = int(found.group(0)) if found else None
    pid = str(row.get("id") or "")
    if is_arxiv_snapshot and pid:
        pid = f"arxiv:{strip_arxiv_version(pid)}"
    if not pid:
        return None
    return Paper(
        id=pid,
        title=title,
        abstract=re.sub(r"\s+", " ", str(row.get("abstract") or "")).strip(),
        authors=tuple(_split_authors(row.get("authors"))),
        year=year,
        venue=str(row.get("venue") or row.get("journal-ref") or "") or None,
        arxiv_id=strip_arxiv_version(str(arxiv_id)) if arxiv_id else None,
        doi=str(row["doi"]).lower() if row.get("doi") else None,
        source=str(row.get("source") or ("arxiv" if is_arxiv_snapshot else "")),
    )


def _iter_rows(fh: IO[str], on_skip: Callable[[], None]) -> Iterator[dict[str, Any]]:
    for line in fh:
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            on_skip()
            continue
        if isinstance(row, dict):
            yield row
        else:
            on_skip()


def build_index(
    source: Path,
    target: Path,
    *,
    progress: Callable[[int, int, int], None] | None = None,
    chunk: int = 5000,
) -> BuildReport:
    """Build the index at `target` (and its BM25F postings) from a JSON-lines(.gz) corpus; the old index
    stays until the new one is complete.

    `progress(bytes_read, total_bytes, papers_added)` is called after every chunk.
    """
    if not source.is_file():
        raise InputError(f"corpus file not found: {source}", hint="pass --from PATH to a JSON-lines corpus")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".building")
    tmp.unlink(missing_ok=True)
    total = source.stat().st_size
    skipped = duplicates = added = 0

    def skip() -> None:
        nonlocal skipped
        skipped += 1

    con = sqlite3.connect(tmp)
    try:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _CREATE)
        raw = source.open("rb")
        with raw:
            fh: IO[str] = (
                io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace")
                if source.suffix == ".gz"
                else io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
            )
            batch: list[tuple[Any, ...]] = []
            for row in _iter_rows(fh, skip):
                paper = row_to_paper(row)
                if paper is None:
                    skipped += 1
                    continue
                batch.append(
                    (
                        paper.id,
                        paper.arxiv_id,
                        paper.doi,
                        paper.title,
                        paper.title_key,
                        paper.abstract,
                        json.dumps(list(paper.authors)),
                        paper.year,
                        paper.venue,
                        paper.source,
                    )
                )
                if len(batch) >= chunk:
                    added, duplicates = _flush(con, batch, added, duplicates)
                    if progress:
                        progress(raw.tell(), total, added)
            added, duplicates = _flush(con, batch, added, duplicates)
        con.execute("INSERT INTO papers_fts(papers_fts) VALUES('rebuild')")
        con.executescript(_INDEXES)
        con.execute("INSERT OR REPLACE INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
        con.execute("INSERT OR REPLACE INTO meta VALUES('source', ?)", (str(source),))
        con.execute("INSERT OR REPLACE INTO meta VALUES('build_id', ?)", (uuid.uuid4().hex,))
        con.commit()
    finally:
        con.close()
    build_postings(tmp, target=postings_dir(target))
    if progress:
        progress(total, total, added)
    tmp.replace(target)
    return BuildReport(added=added, skipped=skipped, duplicates=duplicates, path=target)


def _flush(con: sqlite3.Connection, batch: list[tuple[Any, ...]], added: int, dups: int) -> tuple[int, int]:
    if not batch:
        return added, dups
    before = con.total_changes
    con.executemany(
        "INSERT OR IGNORE INTO papers(id, arxiv_id, doi, title, title_key, abstract, authors, year, venue, source)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        batch,
    )
    new = con.total_changes - before
    size = len(batch)
    batch.clear()
    return added + new, dups + size - new


_COLUMNS = "p.id, p.arxiv_id, p.doi, p.title, p.abstract, p.authors, p.year, p.venue, p.source"


def _paper(row: Sequence[Any]) -> Paper:
    arxiv_id = row[1]
    return Paper(
        id=row[0],
        title=row[3],
        abstract=row[4] or "",
        authors=tuple(json.loads(row[5] or "[]")),
        year=row[6],
        venue=row[7],
        arxiv_id=arxiv_id,
        doi=row[2],
        url=f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None,
        source="local",
        external_ids={"local": row[0]},
    )


# The dense ranking's best DENSE_DEPTH rows join BM25F's at DENSE_WEIGHT in a reciprocal-rank fusion
# (bm25f.fuse_ranks); both chosen on train.jsonl by benchmarks/retrieval_signals.py (RESULTS.md §1.8).
DENSE_WEIGHT = 0.5
DENSE_DEPTH = 300


class LocalIndex:
    """The offline index as a PaperSource and TitleMatcher. Safe to share between threads."""

    name = "local"

    def __init__(self, path: Path, *, title_weight: float = TITLE_WEIGHT) -> None:
        if not path.is_file():
            raise ConfigError(
                f"offline paper index not found at {path}",
                hint="build it with `pasa index build --from CORPUS.jsonl.gz` (or set paths.index)",
            )
        self.path = path
        # BM25 weight of the title column against the abstract's 1.0 (see benchmarks/RESULTS.md).
        self.title_weight = title_weight
        self._local = threading.local()
        con = self._con()
        try:
            con.execute("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH 'x' LIMIT 1").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path} is not a PaSa index ({exc})", hint="rebuild it with `pasa index build`") from exc
        # Missing or stale postings (an index built before BM25F, or rebuilt since) fall back to FTS5's
        # bm25(); `pasa index ensure` (run by ./run.sh) writes them.
        self.bm25f: Bm25fRanker | None = None
        # The static-embedding ranking fused with BM25F (engine/sources/dense.py); None where the
        # packaged MiniLM was not installed when the postings were written.
        self.dense: DenseRanker | None = None
        self.dense_weight = DENSE_WEIGHT
        self.dense_depth = DENSE_DEPTH
        if postings_current(path):
            try:
                self.bm25f = Bm25fRanker(postings_dir(path))
                if has_dense(postings_dir(path)):
                    self.dense = DenseRanker(postings_dir(path))
            except (OSError, ValueError):  # unreadable arrays: rebuilt by `pasa index build`
                self.bm25f = self.dense = None

    @property
    def acronyms(self) -> AcronymTable | None:
        """The acronyms this index's abstracts define (None where its postings are missing or stale)."""
        return self.bm25f.acronyms if self.bm25f is not None else None

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            con.execute("PRAGMA query_only=ON")
            con.execute("PRAGMA mmap_size=268435456")
            self._local.con = con
        return con

    def count(self) -> int:
        row = self._con().execute("SELECT count(*) FROM papers").fetchone()
        return int(row[0])

    # -- blocking API (used directly by benchmarks and via threads by the async API) --

    def search_sync(
        self,
        query: str,
        *,
        limit: int,
        before: date | None = None,
        keep_stopwords: bool = False,
        title_weight: float | None = None,
    ) -> list[tuple[Paper, float]]:
        """Papers with their BM25F score (or FTS5 bm25() score, see the module's docstring; higher is
        better), best first. Asking for a `title_weight` means FTS5's bm25() with that weight."""
        if self.bm25f is not None and title_weight is None and text_has_no_phrase(query):
            return self._search_bm25f(self.bm25f, query, limit=limit, before=before, keep_stopwords=keep_stopwords)
        match = fts_match(query, keep_stopwords=keep_stopwords)
        if not match:
            return []
        sql = (
            f"SELECT {_COLUMNS}, bm25(papers_fts, ?, 1.0) AS s FROM papers_fts"
            " JOIN papers p ON p.rowid = papers_fts.rowid WHERE papers_fts MATCH ?"
        )
        params: list[Any] = [self.title_weight if title_weight is None else title_weight, match]
        if before is not None:
            sql += " AND (p.year IS NULL OR p.year <= ?)"
            params.append(before.year)
        sql += " ORDER BY s LIMIT ?"
        params.append(limit)
        return [(_paper(r), -float(r[9])) for r in self._con().execute(sql, params)]

    def _search_bm25f(
        self, ranker: Bm25fRanker, query: str, *, limit: int, before: date | None, keep_stopwords: bool
    ) -> list[tuple[Paper, float]]:
        words = query_terms(query, keep_stopwords=keep_stopwords) or query_terms(query, keep_stopwords=True)
        max_year = before.year if before else None
        hits = ranker.top(words, max(limit, self.dense_depth), max_year=max_year, texts=self._texts)
        if self.dense is not None and self.dense_weight > 0 and hits:
            late = ranker.after_year(max_year) if max_year is not None else None
            semantic = self.dense.top(query, self.dense_depth, exclude=late)
            hits = fuse_ranks([(1.0, [r for r, _ in hits]), (self.dense_weight, semantic)])
        hits = hits[:limit]
        if not hits:
            return []
        rowids = [rowid for rowid, _ in hits]
        marks = ",".join("?" * len(rowids))
        rows = self._con().execute(f"SELECT p.rowid, {_COLUMNS} FROM papers p WHERE p.rowid IN ({marks})", rowids)
        by_rowid = {int(r[0]): _paper(r[1:]) for r in rows}
        return [(by_rowid[rowid], score) for rowid, score in hits if rowid in by_rowid]

    def _texts(self, rowids: Sequence[int]) -> list[tuple[str, str]]:
        marks = ",".join("?" * len(rowids))
        rows = self._con().execute(f"SELECT title, abstract FROM papers WHERE rowid IN ({marks})", list(rowids))
        return [(str(t), str(a or "")) for t, a in rows]

    def get(self, paper_id: str) -> Paper | None:
        row = self._con().execute(f"SELECT {_COLUMNS} FROM papers p WHERE p.id = ?", (paper_id,)).fetchone()
        return _paper(row) if row else None

    def _title_candidates(self, terms: list[str], limit: int = 20) -> list[str]:
        """Ids of papers whose title holds every term: an AND over the title column is a few small
        posting-list intersections (milliseconds), where a BM25 OR over every word takes a second."""
        if not terms:
            return []
        match = " AND ".join(f'title:"{t}"' for t in terms)
        sql = "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid WHERE papers_fts MATCH ? LIMIT ?"
        try:
            return [str(r[0]) for r in self._con().execute(sql, (match, limit))]
        except sqlite3.DatabaseError:
            return []

    def match_title_sync(self, title: str, *, min_similarity: float = 0.9) -> Paper | None:
        """The paper with this (approximate) title: exact normalised key first, then papers whose title holds
        all the title's content words (or its 4 longest, for a parsed title with a stray word), accepted
        only above `min_similarity`. None rather than a guess."""
        key = normalise_title(title)
        if len(key) < 8:
            return None
        row = self._con().execute(f"SELECT {_COLUMNS} FROM papers p WHERE p.title_key = ? LIMIT 1", (key,)).fetchone()
        if row:
            return _paper(row)
        terms = query_terms(title)
        candidates = self._title_candidates(terms)
        if not candidates and len(terms) > 4:
            candidates = self._title_candidates(sorted(terms, key=len, reverse=True)[:4])
        best: tuple[float, Paper] | None = None
        for paper_id in candidates:
            paper = self.get(paper_id)
            if paper is None:
                continue
            score = title_similarity(title, paper.title)
            if score >= min_similarity and (best is None or score > best[0]):
                best = (score, paper)
        return best[1] if best else None

    def by_ids_sync(self, arxiv_ids: Iterable[str] = (), dois: Iterable[str] = ()) -> list[Paper]:
        con = self._con()
        out: list[Paper] = []
        for aid in arxiv_ids:
            row = con.execute(
                f"SELECT {_COLUMNS} FROM papers p WHERE p.arxiv_id = ? LIMIT 1", (strip_arxiv_version(aid),)
            ).fetchone()
            if row:
                out.append(_paper(row))
        for doi in dois:
            row = con.execute(f"SELECT {_COLUMNS} FROM papers p WHERE p.doi = ? LIMIT 1", (doi.lower(),)).fetchone()
            if row:
                out.append(_paper(row))
        return out

    # -- async API (PaperSource / TitleMatcher) --

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        hits = await asyncio.to_thread(self.search_sync, query, limit=limit, before=before)
        return [p for p, _ in hits]

    async def match_title(self, title: str) -> Paper | None:
        return await asyncio.to_thread(self.match_title_sync, title)

    async def by_ids(self, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = ()) -> list[Paper]:
        return await asyncio.to_thread(self.by_ids_sync, arxiv_ids, dois)

    def close(self) -> None:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
