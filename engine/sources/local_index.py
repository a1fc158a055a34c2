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
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, InputError
from engine.papers import Paper, normalise_title, strip_arxiv_version
from engine.sources import snapshot
from engine.sources.acronyms import AcronymTable
from engine.sources.bm25f import (
    Bm25fRanker,
    build_delta,
    build_postings,
    delta_rows,
    fuse_ranks,
    has_dense,
    postings_dir,
    postings_state,
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
    """Write the BM25F postings of the index at `path` when missing or stale (or only their delta
    segment, when that is what an interrupted update left behind); True if it wrote anything.
    Damaged files are engine.sources.index_lifecycle's to find."""
    state = postings_state(path)
    if state == "current":
        return False
    if state == "delta_stale":
        build_delta(path)
    else:
        build_postings(path, progress=progress)
    return True


@dataclass(frozen=True, slots=True)
class BuildReport:
    added: int
    skipped: int  # corrupt or unusable lines
    duplicates: int
    path: Path
    filtered: int = 0  # rows outside the categories asked for
    resumed_at: int = 0  # bytes of the (decompressed) corpus an earlier, interrupted build had indexed


def _split_authors(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(a).strip() for a in value if str(a).strip()]
    if isinstance(value, str):
        parts = re.split(r",\s*|\s+and\s+", value.replace("\n", " "))
        return [p.strip() for p in parts if p.strip()]
    return []


_NEW_ID = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}")
_OLD_ID = re.compile(r"^[a-z-]+(?:\.[A-Z]{2})?/(\d{2})(\d{2})\d{3}")


def arxiv_id_year(arxiv_id: str) -> int | None:
    """The year an arXiv id was issued in: "2106.15928" -> 2021, "hep-th/9901001" -> 1999."""
    found = _NEW_ID.match(arxiv_id) or _OLD_ID.match(arxiv_id)
    if not found or not 1 <= int(found.group(2)) <= 12:
        return None
    yy = int(found.group(1))
    return (1900 if yy >= 91 else 2000) + yy


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
        found = re.search(r"(19|20)\d{2}", created)
        # update_date is the last revision's date, often years after publication: the id's YYMM is closer.
        year = int(found.group(0)) if found else arxiv_id_year(str(row.get("id") or ""))
        if year is None:
            found = re.search(r"(19|20)\d{2}", str(row.get("update_date", "")))
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


def _paper_row(paper: Paper) -> tuple[Any, ...]:
    return (
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


_COUNTS = ("added", "skipped", "duplicates", "filtered")


def _resume_point(tmp: Path, fingerprint: str) -> tuple[str, int, dict[str, int]] | None:
    """(phase, offset, counts) of an interrupted build of the same corpus into `tmp`, or None."""
    if not tmp.is_file():
        return None
    try:
        con = sqlite3.connect(tmp)
        try:
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        finally:
            con.close()
        if meta.get("build_source") != fingerprint:
            return None
        counts = json.loads(meta.get("build_counts", "{}"))
        return str(meta["build_phase"]), int(meta["build_offset"]), {k: int(counts.get(k, 0)) for k in _COUNTS}
    except (sqlite3.DatabaseError, KeyError, ValueError, TypeError):
        return None


def build_index(
    source: Path,
    target: Path,
    *,
    progress: Callable[[int, int, int], None] | None = None,
    chunk: int = 5000,
    categories: str | Sequence[str] | None = None,
    resume: bool = True,
) -> BuildReport:
    """Build the index at `target` (and its BM25F postings) from a JSON-lines(.gz) corpus; the old index
    stays until the new one is complete.

    The corpus is streamed (engine/sources/snapshot.py); with `categories` ("cs.*,stat.ML") only rows
    of those arXiv categories are kept. Every chunk of rows is committed together with the offset it
    reached, so a build that is interrupted (Ctrl-C, a crash, kill -9) continues from there when run
    again on the same file with the same categories (`resume=False` starts over).
    `progress(bytes_read, total_bytes, papers_added)` is called after every chunk.
    """
    if not source.is_file():
        raise InputError(f"corpus file not found: {source}", hint="pass --from PATH to a JSON-lines corpus")
    patterns = snapshot.parse_categories(categories)
    keep = snapshot.CategoryFilter(patterns)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".building")
    fingerprint = snapshot.fingerprint(source, patterns)
    point = _resume_point(tmp, fingerprint) if resume else None
    if point is None:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
        phase, start, counts = "rows", 0, dict.fromkeys(_COUNTS, 0)
    else:
        phase, start, counts = point
    total = source.stat().st_size

    con = sqlite3.connect(tmp)
    failed = False
    try:
        # WAL, synchronous=NORMAL: a committed chunk survives a crash or kill -9, at little cost.
        con.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + _CREATE)

        def checkpoint(phase: str, offset: int) -> None:
            con.executemany(
                "INSERT OR REPLACE INTO meta VALUES(?, ?)",
                [
                    ("build_source", fingerprint),
                    ("build_phase", phase),
                    ("build_offset", str(offset)),
                    ("build_counts", json.dumps(counts)),
                ],
            )
            con.commit()

        if phase == "rows":
            batch: list[tuple[Any, ...]] = []
            line: snapshot.Line | None = None
            for line in snapshot.stream(source, start=start):
                row = line.row
                if row is None:
                    counts["skipped"] += 1
                elif keep and not keep.keeps(row):
                    counts["filtered"] += 1
                elif (paper := row_to_paper(row)) is None:
                    counts["skipped"] += 1
                else:
                    batch.append(_paper_row(paper))
                if len(batch) >= chunk:
                    _flush(con, batch, counts)
                    checkpoint("rows", line.offset)
                    if progress:
                        progress(line.position, total, counts["added"])
            _flush(con, batch, counts)
            if not counts["added"]:
                # An empty index would silently replace a working one: say why nothing was usable.
                outside = f", {counts['filtered']:,} outside {', '.join(patterns)}" if patterns else ""
                raise InputError(
                    f"no usable papers in {source} ({counts['skipped']:,} unusable lines{outside})",
                    hint="a corpus is JSON lines with at least an id and a title per line",
                )
            checkpoint("rows", line.offset if line is not None else start)
            con.execute("INSERT INTO papers_fts(papers_fts) VALUES('rebuild')")
            con.executescript(_INDEXES)
            con.execute("INSERT OR REPLACE INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
            con.execute("INSERT OR REPLACE INTO meta VALUES('source', ?)", (str(source),))
            con.execute("INSERT OR REPLACE INTO meta VALUES('categories', ?)", (json.dumps(list(patterns)),))
            con.execute("INSERT OR REPLACE INTO meta VALUES('build_id', ?)", (uuid.uuid4().hex,))
            checkpoint("postings", total)
        con.execute("PRAGMA journal_mode=DELETE")  # one self-contained file from here on
    except InputError:
        failed = True
        raise
    finally:
        con.close()
        if failed:  # nothing to resume: the corpus itself is unusable
            for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
                leftover.unlink(missing_ok=True)
    if progress:
        progress(total, total, counts["added"])
    build_postings(tmp, target=postings_dir(target))
    con = sqlite3.connect(tmp)
    try:
        # The finished index keeps no checkpoint ('build_id' is the build's identity, not one).
        con.execute("DELETE FROM meta WHERE key IN ('build_source', 'build_phase', 'build_offset', 'build_counts')")
        con.commit()
    finally:
        con.close()
    tmp.replace(target)
    return BuildReport(
        added=counts["added"],
        skipped=counts["skipped"],
        duplicates=counts["duplicates"],
        path=target,
        filtered=counts["filtered"],
        resumed_at=start,
    )


def _flush(con: sqlite3.Connection, batch: list[tuple[Any, ...]], counts: dict[str, int]) -> None:
    if not batch:
        return
    before = con.total_changes
    con.executemany(
        "INSERT OR IGNORE INTO papers(id, arxiv_id, doi, title, title_key, abstract, authors, year, venue, source)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        batch,
    )
    new = con.total_changes - before
    counts["added"] += new
    counts["duplicates"] += len(batch) - new
    batch.clear()


@contextmanager
def writer_lock(index_path: Path) -> Iterator[None]:
    """One process at a time writes an index and its rankings (a build, an update, a repair): the
    window's search process and `pasa index update` could otherwise both rewrite the same files. An
    advisory lock on `<index>.lock`; not re-entrant, so it is taken once, around the whole write."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no second process to guard against in the bundle's platforms
        yield
        return
    index_path.parent.mkdir(parents=True, exist_ok=True)
    with open(index_path.with_name(index_path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class UpdateReport:
    added: int
    changed: int
    unchanged: int
    removed: int
    rankings: str  # "delta" (the delta segment rewritten), "full" (postings rebuilt), "none"


# A delta segment is folded into a full postings build once it holds this share of the base's rows:
# scoring reads both segments, and the delta is rewritten whole at each update, so its cost grows with
# it; a full build (minutes at 193k papers) resets it.
COMPACT_SHARE = 0.25

_FIELDS = "rowid, id, arxiv_id, doi, title, title_key, abstract, authors, year, venue, source"


def _fts(con: sqlite3.Connection, rowid: int, title: str, abstract: str, *, delete: bool) -> None:
    if delete:  # an external-content FTS5 table forgets a row given the values it indexed
        con.execute(
            "INSERT INTO papers_fts(papers_fts, rowid, title, abstract) VALUES('delete', ?, ?, ?)",
            (rowid, title, abstract),
        )
    else:
        con.execute("INSERT INTO papers_fts(rowid, title, abstract) VALUES(?, ?, ?)", (rowid, title, abstract))


def apply_updates(
    index_path: Path,
    papers: Iterable[Paper],
    deleted: Iterable[str] = (),
    *,
    last_update: str | None = None,
    compact_share: float = COMPACT_SHARE,
) -> UpdateReport:
    """Add, change and remove papers in the index at `index_path` and its rankings, without a full build.

    The papers table and FTS5 change in one transaction (with `last_update`, the date the harvest
    reached, and a new 'delta_id'): a paper is matched by arXiv id (else by id); a changed one is
    written under a new rowid so the base postings' row for it becomes dead; `deleted` holds arXiv
    ids. Then the BM25F/acronym/dense delta segment is rewritten from the index (bm25f.build_delta),
    or the postings are rebuilt whole when the delta has outgrown `compact_share` of the base or the
    postings were not current to begin with. A crash between the two steps leaves 'delta_stale'
    postings, which `ensure_postings` (and index_lifecycle) repair."""
    with writer_lock(index_path):
        return _apply_updates(index_path, papers, deleted, last_update=last_update, compact_share=compact_share)


def _apply_updates(
    index_path: Path,
    papers: Iterable[Paper],
    deleted: Iterable[str],
    *,
    last_update: str | None,
    compact_share: float,
) -> UpdateReport:
    state = postings_state(index_path)
    base_rows, _ = delta_rows(index_path)
    added = changed = unchanged = removed = 0
    con = sqlite3.connect(index_path, timeout=30)
    try:
        con.execute("BEGIN IMMEDIATE")
        top = int(con.execute("SELECT coalesce(max(rowid), 0) + 1 FROM papers").fetchone()[0])
        next_rowid = max(top, base_rows)

        def find(paper: Paper) -> tuple[Any, ...] | None:
            row = None
            if paper.arxiv_id:
                row = con.execute(
                    f"SELECT {_FIELDS} FROM papers WHERE arxiv_id = ? LIMIT 1", (paper.arxiv_id,)
                ).fetchone()
            if row is None:
                row = con.execute(f"SELECT {_FIELDS} FROM papers WHERE id = ?", (paper.id,)).fetchone()
            return tuple(row) if row else None

        for paper in papers:
            old = find(paper)
            values = _paper_row(paper)
            if old is not None:
                # The paper keeps the id it has in this index (the library may refer to it by that id).
                values = (old[1], *values[1:])
                if tuple(old[1:]) == values:
                    unchanged += 1
                    continue
                _fts(con, int(old[0]), str(old[4]), str(old[6] or ""), delete=True)
                con.execute("DELETE FROM papers WHERE rowid = ?", (old[0],))
                changed += 1
            else:
                added += 1
            con.execute(
                "INSERT INTO papers(rowid, id, arxiv_id, doi, title, title_key, abstract, authors, year, venue, source)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (next_rowid, *values),
            )
            _fts(con, next_rowid, paper.title, paper.abstract, delete=False)
            next_rowid += 1
        for arxiv_id in deleted:
            for rowid, title, abstract in con.execute(
                "SELECT rowid, title, coalesce(abstract, '') FROM papers WHERE arxiv_id = ?",
                (strip_arxiv_version(arxiv_id),),
            ).fetchall():
                _fts(con, int(rowid), str(title), str(abstract), delete=True)
                con.execute("DELETE FROM papers WHERE rowid = ?", (rowid,))
                removed += 1
        touched = added + changed + removed > 0
        if touched:
            con.execute("INSERT OR REPLACE INTO meta VALUES('delta_id', ?)", (uuid.uuid4().hex,))
        if last_update:
            con.execute("INSERT OR REPLACE INTO meta VALUES('last_update', ?)", (last_update,))
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()
    rankings = "none"
    if state in ("missing", "stale"):
        build_postings(index_path)
        rankings = "full"
    elif touched or state == "delta_stale":
        _, grown = delta_rows(index_path)
        if grown > compact_share * max(base_rows, 1):
            build_postings(index_path)
            rankings = "full"
        else:
            build_delta(index_path)
            rankings = "delta"
    return UpdateReport(added, changed, unchanged, removed, rankings)


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
        # Why this index ranks with FTS5's bm25() (None when it ranks with BM25F): callers repair it
        # with engine.sources.index_lifecycle.ensure_ready before opening it; this is what is left
        # when that could not run, and it is said, never silent.
        self.fallback_reason: str | None = None
        state = postings_state(path)
        if state != "current":
            self.fallback_reason = f"the BM25F postings are {state.replace('_', ' ')}"
        else:
            try:
                self.bm25f = Bm25fRanker(postings_dir(path))
                if has_dense(postings_dir(path)):
                    self.dense = DenseRanker(postings_dir(path), delta=self.bm25f.delta_dir)
            except (OSError, ValueError) as exc:  # unreadable arrays: index_lifecycle repairs them
                self.bm25f = self.dense = None
                self.fallback_reason = f"the BM25F postings are damaged ({exc})"

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
