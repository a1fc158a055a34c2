"""Field-weighted BM25 (BM25F) over the offline index's words: the agent's keyword ranking.

Why not FTS5's own bm25(): it normalises term frequency by the length of the whole row. 72,755 of
the 192,732 corpus papers have a title and no abstract, so such a row is ~17x shorter than average
and a title that shares two words with a question outranks the paper whose abstract answers it.
BM25F (Robertson, Zaragoza & Taylor, 2004) normalises each field by that field's own average length
and then saturates the weighted sum once, so a title is judged against titles. Measured in
benchmarks/RESULTS.md (§1.7); the parameters were chosen on train.jsonl, never on dev.

The postings are read once out of the FTS5 index itself (its `fts5vocab` instance table), so the
words and stems are exactly FTS5's `porter unicode61` tokens, and kept beside the index as numpy
arrays (`<index>.bm25f/`, ~100 MB for the full corpus, memory-mapped). A search is a few numpy
passes over the query terms' postings: ~20 ms where an FTS5 OR over a long question takes 0.1–0.9 s.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from array import array
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from engine.sources import acronyms, dense
from engine.sources.acronyms import AcronymTable
from engine.sources.topk import best_rows, tie_order

# 2: acronyms.json (engine/sources/acronyms.py) is written with the postings.
POSTINGS_VERSION = 2
TOKENIZER = "porter unicode61"  # must match local_index's FTS5 table
_TF_MAX = 65535
_LENGTH_BLOCK = 1 << 24


@dataclass(frozen=True, slots=True)
class Bm25fParams:
    """k1 saturates the weighted term frequency; b_* is each field's length normalisation; the
    abstract's weight is 1. Chosen on train.jsonl by benchmarks/bm25f_params.py."""

    k1: float = 2.0
    b_title: float = 0.9
    b_abstract: float = 0.75
    title_weight: float = 2.0


@dataclass(frozen=True, slots=True)
class Feedback:
    """Pseudo-relevance feedback: the `docs` best rows of a first pass lend their `terms` most
    distinctive words (Σ over those rows of tf/length·idf, titles counted twice) to a second pass,
    added at `weight` of the first pass's scale. The result is the reciprocal-rank fusion of the
    first pass (weight 1) and the second (`rank_weight`): the second pass alone finds more gold
    papers but drifts at the very top (on train.jsonl its first result is gold half as often), and
    the agent selects its first result. Chosen on train.jsonl (benchmarks/RESULTS.md §1.7)."""

    docs: int = 5
    terms: int = 30
    weight: float = 0.7
    rank_weight: float = 1.0


FUSION_K = 60.0
FUSION_DEPTH = 200  # each pass contributes its best this-many rows to the fusion, whatever the limit


def fuse_ranks(lists: Sequence[tuple[float, Sequence[int]]]) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion of ranked rowid lists: (rowid, fused score), best first (ties in
    topk.tie_order, so a search is deterministic and favours neither old nor new rows)."""
    fused: dict[int, float] = {}
    for weight, rows in lists:
        for position, row in enumerate(rows, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (FUSION_K + position)
    if not fused:
        return []
    ids = np.fromiter(fused.keys(), dtype=np.intp, count=len(fused))
    scores = np.fromiter(fused.values(), dtype=np.float64, count=len(fused))
    order = np.lexsort((tie_order(ids), -scores))
    return [(int(ids[i]), float(scores[i])) for i in order]


# Rows' (title, abstract) by rowid, from wherever the caller keeps them.
TextsOf = Callable[[Sequence[int]], Sequence[tuple[str, str]]]


def postings_dir(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".bm25f")


def index_meta(con: sqlite3.Connection, key: str) -> str:
    """A value of the index's meta table ("" when absent or unreadable)."""
    try:
        row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.DatabaseError:
        return ""
    return str(row[0]) if row else ""


def index_build_id(con: sqlite3.Connection) -> str:
    """The build id `build_index` stamps into an index; postings built from another build are stale."""
    return index_meta(con, "build_id")


@dataclass(slots=True)
class _Postings:
    """Postings read out of an FTS5 vocabulary, grouped by term: docs[starts[t]:starts[t+1]] hold term t."""

    terms: list[str]
    starts: array[int]
    docs: array[int]
    tf_title: array[int]
    tf_abstract: array[int]

    def save(self, directory: Path, *, offset: int, n_rows: int) -> None:
        """The postings' files; lengths are kept for rows offset..n_rows (a delta segment's rows)."""
        doc_arr = np.frombuffer(self.docs, dtype=np.int32) if len(self.docs) else np.zeros(0, np.int32)
        title_arr = np.frombuffer(self.tf_title, dtype=np.uint16) if len(self.tf_title) else np.zeros(0, np.uint16)
        abstract_arr = (
            np.frombuffer(self.tf_abstract, dtype=np.uint16) if len(self.tf_abstract) else np.zeros(0, np.uint16)
        )
        size = n_rows - offset
        len_title = np.zeros(size, dtype=np.float64)
        len_abstract = np.zeros(size, dtype=np.float64)
        # A block at a time: bincount's float64 weights and the shifted rows of 200 million postings
        # (2.5M papers) would otherwise take 2.4 GB beside the postings themselves.
        for start in range(0, len(doc_arr), _LENGTH_BLOCK):
            rows = doc_arr[start : start + _LENGTH_BLOCK] - offset
            len_title += np.bincount(rows, weights=title_arr[start : start + _LENGTH_BLOCK], minlength=size)[:size]
            len_abstract += np.bincount(rows, weights=abstract_arr[start : start + _LENGTH_BLOCK], minlength=size)[
                :size
            ]
        np.save(directory / "starts.npy", np.frombuffer(self.starts, dtype=np.int64))
        np.save(directory / "docs.npy", doc_arr)
        np.save(directory / "tf_title.npy", title_arr)
        np.save(directory / "tf_abstract.npy", abstract_arr)
        np.save(directory / "len_title.npy", len_title.astype(np.float32))
        np.save(directory / "len_abstract.npy", len_abstract.astype(np.float32))
        (directory / "terms.txt").write_text("".join(t + "\n" for t in self.terms), encoding="utf-8")


def _collect(
    rows: Iterable[tuple[str, int, str, int]],
    *,
    progress: Callable[[int, int], None] | None = None,
    total_terms: int = 0,
) -> _Postings:
    """Postings from fts5vocab 'instance' counts (term, doc, col, count), ordered by term then doc."""
    seg = _Postings([], array("q", [0]), array("i"), array("H"), array("H"))
    last_term: str | None = None
    last_doc = -1
    for term, doc, col, count in rows:
        if term != last_term:
            if last_term is not None:
                seg.starts.append(len(seg.docs))
                if progress and len(seg.terms) % 5000 == 0:
                    progress(len(seg.terms), total_terms)
            seg.terms.append(term)
            last_term, last_doc = term, -1
        if doc != last_doc:
            seg.docs.append(doc)
            seg.tf_title.append(0)
            seg.tf_abstract.append(0)
            last_doc = doc
        if col == "title":
            seg.tf_title[-1] = min(count, _TF_MAX)
        else:
            seg.tf_abstract[-1] = min(count, _TF_MAX)
    if last_term is not None:
        seg.starts.append(len(seg.docs))
    return seg


def build_postings(
    index_path: Path,
    *,
    target: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the BM25F postings of the index at `index_path` into `target` (default: beside it).

    The old postings stay until the new ones are complete. `progress(terms_done, terms_total)`.
    """
    target = target or postings_dir(index_path)
    tmp = target.with_name(target.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    con = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    try:
        build_id = index_build_id(con)
        delta_id = index_meta(con, "delta_id")
        con.execute("CREATE VIRTUAL TABLE temp.pasa_vocab_row USING fts5vocab(main, papers_fts, 'row')")
        con.execute("CREATE VIRTUAL TABLE temp.pasa_vocab USING fts5vocab(main, papers_fts, 'instance')")
        total_terms = int(con.execute("SELECT count(*) FROM temp.pasa_vocab_row").fetchone()[0])
        n_rows = int(con.execute("SELECT coalesce(max(rowid), 0) + 1 FROM papers").fetchone()[0])
        # Rows arrive grouped by term, then document, then column; one posting per (term, document).
        rows = con.execute("SELECT term, doc, col, count(*) FROM temp.pasa_vocab GROUP BY term, doc, col")
        seg = _collect(rows, progress=progress, total_terms=total_terms)
        n_terms = len(seg.terms)
        # Written and let go before the dense ranking is built: at 2.5M papers the postings take ~1.6 GB.
        seg.save(tmp, offset=0, n_rows=n_rows)
        del seg
        years = np.zeros(n_rows, dtype=np.int16)
        for rowid, year in con.execute("SELECT rowid, year FROM papers WHERE typeof(year) = 'integer'"):
            years[rowid] = min(max(year, 0), 32767)
        defined = acronyms.mine(str(a) for (a,) in con.execute("SELECT abstract FROM papers WHERE abstract LIKE '%(%'"))
        model = dense.find_model()
        if model is not None:
            rows = con.execute("SELECT rowid, title, coalesce(abstract, '') FROM papers")
            dense.build(((int(r), str(t), str(a)) for r, t, a in rows), n_rows, model, tmp)
    finally:
        con.close()
    np.save(tmp / "years.npy", years)
    acronyms.write(defined, tmp / ACRONYMS_FILE)
    meta = {
        "version": POSTINGS_VERSION,
        "build_id": build_id,
        # The incremental updates (index meta 'delta_id') these postings already hold: a full build
        # holds them all, so no delta segment is needed until the next update.
        "delta_id": delta_id,
        "tokenizer": TOKENIZER,
        "terms": n_terms,
        "dense": model is not None,
    }
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    if progress:
        progress(total_terms, total_terms)
    _swap_in(tmp, target)
    return target


def _swap_in(tmp: Path, target: Path) -> None:
    """Put the finished directory `tmp` in the place of `target` (the postings, or their delta segment):
    the old one stays whole until the new one is complete."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


ACRONYMS_FILE = "acronyms.json"
_FILES = (
    ACRONYMS_FILE,
    "starts.npy",
    "docs.npy",
    "tf_title.npy",
    "tf_abstract.npy",
    "len_title.npy",
    "len_abstract.npy",
    "years.npy",
    "terms.txt",
)


PostingsState = Literal["current", "missing", "stale", "delta_stale"]


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def postings_state(index_path: Path) -> PostingsState:
    """Whether the postings beside the index can rank it: "missing" (none, or a file gone), "stale"
    (another version or build of the index, or the packaged MiniLM installed or removed since),
    "delta_stale" (the base is right but the delta segment does not hold the index's last update),
    or "current". Whether the files' contents are readable is `engine.sources.index_lifecycle`'s check."""
    directory = postings_dir(index_path)
    meta = _read_meta(directory / "meta.json")
    if meta is None or not all((directory / name).is_file() for name in _FILES):
        return "missing"
    con = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    try:
        build_id = index_build_id(con)
        delta_id = index_meta(con, "delta_id")
    finally:
        con.close()
    if bool(meta.get("dense")) != (dense.find_model() is not None):
        return "stale"  # the packaged MiniLM was installed or removed since: (re)build with it or without
    if meta.get("dense") and dense.layout(directory) == "none":
        return "missing"
    if meta.get("version") != POSTINGS_VERSION or meta.get("build_id") != build_id:
        return "stale"
    if delta_id == str(meta.get("delta_id") or ""):
        return "current"
    return "current" if current_delta(directory, delta_id) is not None else "delta_stale"


def postings_current(index_path: Path) -> bool:
    """Postings exist beside the index, whole, in this version, built from this build of it, and hold
    its last incremental update."""
    return postings_state(index_path) == "current"


DELTA_DIR = "delta"
_DELTA_FILES = (*_FILES, "dead.npy", "meta.json")


def current_delta(directory: Path, delta_id: str | None = None) -> Path | None:
    """The delta segment of the postings in `directory` when it extends exactly these base postings
    (and, given `delta_id`, holds that update); None when there is none to use."""
    delta = directory / DELTA_DIR
    base = _read_meta(directory / "meta.json")
    meta = _read_meta(delta / "meta.json")
    if base is None or meta is None or not all((delta / name).is_file() for name in _DELTA_FILES):
        return None
    if meta.get("base_build") != base.get("build_id") or meta.get("base_delta") != (base.get("delta_id") or ""):
        return None
    if delta_id is not None and meta.get("delta_id") != delta_id:
        return None
    if base.get("dense") and dense.layout(delta, delta=True) == "none":
        return None
    return delta


def build_delta(index_path: Path) -> Path:
    """Write the delta segment of the postings beside the index at `index_path`: the postings, years,
    acronyms and dense vectors of every row added since the base postings were built (rowids from the
    base's row count up), and the base rows deleted since (`dead.npy`). It is derived from the index
    alone, so it is rebuilt whole after each update (cost: the rows added since the last full build,
    plus one pass over the index's rowids) and a crash between an update and this step is repaired by
    running it again. The base must be in this version and of this build (`postings_state`)."""
    directory = postings_dir(index_path)
    base = _read_meta(directory / "meta.json")
    if base is None:
        raise ValueError(f"{directory}: no base postings to extend")
    base_rows = int(np.load(directory / "len_title.npy", mmap_mode="r").shape[0])
    target = directory / DELTA_DIR
    tmp = directory / (DELTA_DIR + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    con = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    try:
        delta_id = index_meta(con, "delta_id")
        n_rows = max(base_rows, int(con.execute("SELECT coalesce(max(rowid), 0) + 1 FROM papers").fetchone()[0]))
        present = np.zeros(base_rows, dtype=np.bool_)
        kept = np.fromiter(
            (r for (r,) in con.execute("SELECT rowid FROM papers WHERE rowid < ?", (base_rows,))), dtype=np.int64
        )
        present[kept] = True
        rows = [
            (int(r), str(t), str(a), y)
            for r, t, a, y in con.execute(
                "SELECT rowid, title, coalesce(abstract, ''), year FROM papers WHERE rowid >= ? ORDER BY rowid",
                (base_rows,),
            )
        ]
    finally:
        con.close()
    base_lengths = np.load(directory / "len_title.npy", mmap_mode="r") + np.load(
        directory / "len_abstract.npy", mmap_mode="r"
    )
    # Dead: rows the base postings rank that the index no longer holds (deleted, or replaced by a newer
    # version under a new rowid).
    dead = np.flatnonzero(~present & (base_lengths > 0)).astype(np.int64)
    # The delta's rows through FTS5's own tokenizer (an in-memory table), so its stems are the base's.
    mem = sqlite3.connect(":memory:")
    try:
        mem.execute(f"CREATE VIRTUAL TABLE d USING fts5(title, abstract, tokenize='{TOKENIZER}')")
        mem.executemany("INSERT INTO d(rowid, title, abstract) VALUES (?,?,?)", [(r, t, a) for r, t, a, _ in rows])
        mem.execute("CREATE VIRTUAL TABLE temp.dv USING fts5vocab(main, d, 'instance')")
        seg = _collect(mem.execute("SELECT term, doc, col, count(*) FROM temp.dv GROUP BY term, doc, col"))
    finally:
        mem.close()
    seg.save(tmp, offset=base_rows, n_rows=n_rows)
    years = np.zeros(n_rows - base_rows, dtype=np.int16)
    for rowid, _, _, year in rows:
        if isinstance(year, int):
            years[rowid - base_rows] = min(max(year, 0), 32767)
    np.save(tmp / "years.npy", years)
    np.save(tmp / "dead.npy", dead)
    acronyms.write(acronyms.mine(a for _, _, a, _ in rows if "(" in a), tmp / ACRONYMS_FILE)
    if base.get("dense"):
        model = dense.find_model()
        if model is None:
            raise ValueError("the base postings have a dense ranking but the packaged MiniLM is gone")
        n_docs = int((base_lengths > 0).sum())
        dense.build_delta(((r, t, a) for r, t, a, _ in rows), base_rows, n_rows, n_docs, model, directory, tmp)
    meta = {
        "delta_id": delta_id,
        "base_build": base.get("build_id"),
        "base_delta": base.get("delta_id") or "",
        "base_rows": base_rows,
        "rows": len(rows),
        "dead": len(dead),
        "terms": len(seg.terms),
    }
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    _swap_in(tmp, target)
    return target


def delta_rows(index_path: Path) -> tuple[int, int]:
    """(rows in the base postings, rows added since) of the index at `index_path`."""
    con = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    try:
        top = int(con.execute("SELECT coalesce(max(rowid), 0) + 1 FROM papers").fetchone()[0])
    finally:
        con.close()
    try:
        base_rows = int(np.load(postings_dir(index_path) / "len_title.npy", mmap_mode="r").shape[0])
    except (OSError, ValueError):
        return 0, top
    return base_rows, max(0, top - base_rows)


def has_dense(directory: Path) -> bool:
    """The postings in `directory` include the dense ranking (engine/sources/dense.py)."""
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(meta.get("dense"))


# One term's postings: row ids, and its frequency in each row's title and abstract.
_Span = tuple[npt.NDArray[np.int32], npt.NDArray[np.uint16], npt.NDArray[np.uint16]]


@dataclass(slots=True)
class _Segment:
    """A delta segment's postings in memory (small: the rows added since the last full build)."""

    terms: list[str]
    term_ids: dict[str, int]
    starts: npt.NDArray[np.int64]
    docs: npt.NDArray[np.int32]
    tf_title: npt.NDArray[np.uint16]
    tf_abstract: npt.NDArray[np.uint16]

    @classmethod
    def load(cls, directory: Path) -> _Segment:
        terms = (directory / "terms.txt").read_text(encoding="utf-8").split("\n")[:-1]
        starts: npt.NDArray[np.int64] = np.load(directory / "starts.npy")
        docs: npt.NDArray[np.int32] = np.load(directory / "docs.npy")
        if len(terms) != len(starts) - 1 or len(docs) != int(starts[-1]):
            raise ValueError(f"{directory}: delta postings files do not match")
        return cls(
            terms,
            {t: i for i, t in enumerate(terms)},
            starts,
            docs,
            np.load(directory / "tf_title.npy"),
            np.load(directory / "tf_abstract.npy"),
        )

    def span(self, term: str) -> _Span | None:
        tid = self.term_ids.get(term)
        if tid is None:
            return None
        lo, hi = int(self.starts[tid]), int(self.starts[tid + 1])
        return self.docs[lo:hi], self.tf_title[lo:hi], self.tf_abstract[lo:hi]


class Bm25fRanker:
    """Ranks an index's rows (by rowid) for a list of words. Safe to share between threads."""

    def __init__(
        self, directory: Path, params: Bm25fParams | None = None, feedback: Feedback | None = Feedback()
    ) -> None:
        self.directory = directory
        self.params = params or Bm25fParams()
        self.feedback = feedback
        self._starts: npt.NDArray[np.int64] = np.load(directory / "starts.npy")
        self._docs: npt.NDArray[np.int32] = np.load(directory / "docs.npy", mmap_mode="r")
        self._tf_title: npt.NDArray[np.uint16] = np.load(directory / "tf_title.npy", mmap_mode="r")
        self._tf_abstract: npt.NDArray[np.uint16] = np.load(directory / "tf_abstract.npy", mmap_mode="r")
        self._years: npt.NDArray[np.int16] = np.load(directory / "years.npy")
        len_title: npt.NDArray[np.float32] = np.load(directory / "len_title.npy")
        len_abstract: npt.NDArray[np.float32] = np.load(directory / "len_abstract.npy")
        terms = (directory / "terms.txt").read_text(encoding="utf-8").split("\n")[:-1]
        self._term_ids = {term: i for i, term in enumerate(terms)}
        if len(terms) != len(self._starts) - 1 or len(self._docs) != int(self._starts[-1]):
            raise ValueError(f"{directory}: postings files do not match")
        df = np.diff(self._starts).astype(np.float64)
        mined = acronyms.read(directory / ACRONYMS_FILE)
        # The delta segment of incremental updates (build_delta): its rows follow the base's, its
        # new terms get ids after the base's, and the rows it marks dead score 0 everywhere.
        self.delta_dir = current_delta(directory)
        self._delta: _Segment | None = None
        self._dead: npt.NDArray[np.bool_] | None = None
        if self.delta_dir is not None:
            d = self.delta_dir
            seg = _Segment.load(d)
            self._delta = seg
            extra = [t for t in seg.terms if t not in self._term_ids]
            for term in extra:
                self._term_ids[term] = len(self._term_ids)
            df = np.concatenate([df, np.zeros(len(extra))])
            seg_df = np.diff(seg.starts).astype(np.float64)
            df[[self._term_ids[t] for t in seg.terms]] += seg_df
            len_title = np.concatenate([len_title, np.load(d / "len_title.npy")])
            len_abstract = np.concatenate([len_abstract, np.load(d / "len_abstract.npy")])
            self._years = np.concatenate([self._years, np.load(d / "years.npy")])
            dead = np.load(d / "dead.npy")
            self._dead = np.zeros(len(len_title), dtype=np.bool_)
            self._dead[dead] = True
            len_title[dead] = 0.0
            len_abstract[dead] = 0.0
            mined = acronyms.merge(mined, acronyms.read(d / ACRONYMS_FILE))
            if not (len(len_title) == len(len_abstract) == len(self._years)):
                raise ValueError(f"{d}: delta segment files do not match")
        present = (len_title + len_abstract) > 0
        n_docs = max(int(present.sum()), 1)
        self.n_rows = len(len_title)
        # Rows deleted since the base was built still count in their terms' df until the next full
        # build: a small, bounded drift of idf, in exchange for never rewriting the base postings.
        self._idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        p = self.params
        # Per-row divisors of each field's term frequency, computed once: (1 - b + b·len/avg_len) / weight.
        avg_title = float(len_title[len_title > 0].mean()) if (len_title > 0).any() else 1.0
        avg_abstract = float(len_abstract[len_abstract > 0].mean()) if (len_abstract > 0).any() else 1.0
        self._div_title = ((1 - p.b_title + p.b_title * len_title / avg_title) / p.title_weight).astype(np.float32)
        self._div_abstract = (1 - p.b_abstract + p.b_abstract * len_abstract / avg_abstract).astype(np.float32)
        self.acronyms = AcronymTable.from_mined(mined)
        self._local = threading.local()

    def after_year(self, max_year: int) -> npt.NDArray[np.bool_]:
        """Rows published after `max_year` (rows of unknown year are not)."""
        return self._years > max_year

    def with_params(self, params: Bm25fParams, feedback: Feedback | None) -> Bm25fRanker:
        return Bm25fRanker(self.directory, params, feedback)

    def _tokenizer(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(":memory:", check_same_thread=False)
            con.execute(f"CREATE VIRTUAL TABLE q USING fts5(x, tokenize='{TOKENIZER}')")
            con.execute("CREATE VIRTUAL TABLE temp.qv USING fts5vocab(main, q, 'instance')")
            self._local.con = con
        return con

    def _tokens(self, text: str) -> list[str]:
        con = self._tokenizer()
        con.execute("DELETE FROM q")
        con.execute("INSERT INTO q(x) VALUES (?)", (text,))
        return [term for (term,) in con.execute("SELECT term FROM qv ORDER BY offset")]

    def stems(self, words: Sequence[str]) -> list[str]:
        """The FTS5 tokens of `words` (stemmed exactly as the index was), in order, without repeats."""
        return list(dict.fromkeys(self._tokens(" ".join(words)))) if words else []

    def weighted_scores(self, terms: Mapping[str, float]) -> npt.NDArray[np.float32]:
        """Σ over `terms` of weight · BM25F term score, for every row (0 where none matches)."""
        k1 = self.params.k1
        total = np.zeros(self.n_rows, dtype=np.float32)
        n_base = len(self._starts) - 1
        for term, weight in terms.items():
            tid = self._term_ids.get(term)
            if tid is None:
                continue
            scale = weight * self._idf[tid]
            if tid < n_base:
                lo, hi = int(self._starts[tid]), int(self._starts[tid + 1])
                span = (self._docs[lo:hi], self._tf_title[lo:hi], self._tf_abstract[lo:hi])
                self._add_term(total, span, scale, k1)
            if self._delta is not None:
                delta_span = self._delta.span(term)
                if delta_span is not None:
                    self._add_term(total, delta_span, scale, k1)
        if self._dead is not None:
            total[self._dead] = 0.0
        return total

    def _add_term(self, total: npt.NDArray[np.float32], span: _Span, scale: float, k1: float) -> None:
        """total[docs] += scale · tf/(k1 + tf), tf the field-weighted term frequency. The same arithmetic, in
        the same order, as the plain expression, but with the row ids made index-sized once and the
        temporaries reused: half the time for a term in a million papers (benchmarks/RESULTS.md §8.1)."""
        docs, tf_title, tf_abstract = span
        rows = docs.astype(np.intp)
        tf = np.divide(tf_title, self._div_title[rows], dtype=np.float32)
        tf += np.divide(tf_abstract, self._div_abstract[rows], dtype=np.float32)
        saturation = np.add(tf, np.float32(k1))
        np.divide(tf, saturation, out=tf)
        tf *= np.float32(scale)
        total[rows] += tf

    def scores(self, words: Sequence[str]) -> npt.NDArray[np.float32]:
        """BM25F score of every row for `words` (0 where no word matches)."""
        return self.weighted_scores(dict.fromkeys(self.stems(words), 1.0))

    def expansion(self, texts: Sequence[tuple[str, str]], exclude: Collection[str], n_terms: int) -> dict[str, float]:
        """The `n_terms` most distinctive terms of these (title, abstract) rows that are not in
        `exclude`, weighted relative to the best (1.0)."""
        weights: dict[str, float] = {}
        for title, abstract in texts:
            tokens = self._tokens(f"{title} {title} {abstract}")
            if not tokens:
                continue
            share = 1.0 / len(tokens)
            for term in tokens:
                tid = self._term_ids.get(term)
                if tid is not None and term not in exclude:
                    weights[term] = weights.get(term, 0.0) + share * float(self._idf[tid])
        best = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:n_terms]
        if not best:
            return {}
        top = best[0][1]
        return {term: weight / top for term, weight in best}

    def _best(self, total: npt.NDArray[np.float32], limit: int) -> npt.NDArray[np.intp]:
        # Ties broken by rowid so a search is deterministic.
        return best_rows(total, limit)

    def top(
        self, words: Sequence[str], limit: int, *, max_year: int | None = None, texts: TextsOf | None = None
    ) -> list[tuple[int, float]]:
        """The best `limit` (rowid, score) pairs, best first; rows after `max_year` are left out
        (rows of unknown year are kept). With `texts` and `self.feedback`, the fusion of the first
        pass with a feedback pass (scores are then fused reciprocal ranks)."""
        if limit <= 0:
            return []
        stems = self.stems(words)
        total = self.weighted_scores(dict.fromkeys(stems, 1.0))
        late = self._years > max_year if max_year is not None else None
        if late is not None:
            total[late] = 0.0
        feedback = self.feedback
        if feedback is None or texts is None or feedback.weight <= 0 or total.max(initial=0.0) <= 0:
            return [(int(r), float(total[r])) for r in self._best(total, limit)]
        expansion = self.expansion(texts([int(r) for r in self._best(total, feedback.docs)]), stems, feedback.terms)
        extra = self.weighted_scores(expansion)
        if late is not None:
            extra[late] = 0.0
        second = total + (feedback.weight * float(total.max()) / max(float(extra.max(initial=0.0)), 1e-9)) * extra
        depth = max(limit, FUSION_DEPTH)
        passes = [(1.0, total), (feedback.rank_weight, second)]
        return fuse_ranks([(w, [int(r) for r in self._best(scores, depth)]) for w, scores in passes])[:limit]
