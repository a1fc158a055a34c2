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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.sources import acronyms, dense
from engine.sources.acronyms import AcronymTable

# 2: acronyms.json (engine/sources/acronyms.py) is written with the postings.
POSTINGS_VERSION = 2
TOKENIZER = "porter unicode61"  # must match local_index's FTS5 table
_TF_MAX = 65535


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
    """Weighted reciprocal-rank fusion of ranked rowid lists: (rowid, fused score), best first (ties
    by rowid, so a search is deterministic)."""
    fused: dict[int, float] = {}
    for weight, rows in lists:
        for position, row in enumerate(rows, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (FUSION_K + position)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


# Rows' (title, abstract) by rowid, from wherever the caller keeps them.
TextsOf = Callable[[Sequence[int]], Sequence[tuple[str, str]]]


def postings_dir(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".bm25f")


def index_build_id(con: sqlite3.Connection) -> str:
    """The build id `build_index` stamps into an index; postings built from another build are stale."""
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()
    except sqlite3.DatabaseError:
        return ""
    return str(row[0]) if row else ""


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
        con.execute("CREATE VIRTUAL TABLE temp.pasa_vocab_row USING fts5vocab(main, papers_fts, 'row')")
        con.execute("CREATE VIRTUAL TABLE temp.pasa_vocab USING fts5vocab(main, papers_fts, 'instance')")
        total_terms = int(con.execute("SELECT count(*) FROM temp.pasa_vocab_row").fetchone()[0])
        n_rows = int(con.execute("SELECT coalesce(max(rowid), 0) + 1 FROM papers").fetchone()[0])
        terms: list[str] = []
        starts = array("q", [0])
        docs = array("i")
        tf_title = array("H")
        tf_abstract = array("H")
        last_term: str | None = None
        last_doc = -1
        # Rows arrive grouped by term, then document, then column; one posting per (term, document).
        rows = con.execute("SELECT term, doc, col, count(*) FROM temp.pasa_vocab GROUP BY term, doc, col")
        for term, doc, col, count in rows:
            if term != last_term:
                if last_term is not None:
                    starts.append(len(docs))
                    if progress and len(terms) % 5000 == 0:
                        progress(len(terms), total_terms)
                terms.append(term)
                last_term, last_doc = term, -1
            if doc != last_doc:
                docs.append(doc)
                tf_title.append(0)
                tf_abstract.append(0)
                last_doc = doc
            if col == "title":
                tf_title[-1] = min(count, _TF_MAX)
            else:
                tf_abstract[-1] = min(count, _TF_MAX)
        if last_term is not None:
            starts.append(len(docs))
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
    doc_arr = np.frombuffer(docs, dtype=np.int32)
    title_arr = np.frombuffer(tf_title, dtype=np.uint16)
    abstract_arr = np.frombuffer(tf_abstract, dtype=np.uint16)
    len_title = np.bincount(doc_arr, weights=title_arr, minlength=n_rows).astype(np.float32)
    len_abstract = np.bincount(doc_arr, weights=abstract_arr, minlength=n_rows).astype(np.float32)
    np.save(tmp / "starts.npy", np.frombuffer(starts, dtype=np.int64))
    np.save(tmp / "docs.npy", doc_arr)
    np.save(tmp / "tf_title.npy", title_arr)
    np.save(tmp / "tf_abstract.npy", abstract_arr)
    np.save(tmp / "len_title.npy", len_title)
    np.save(tmp / "len_abstract.npy", len_abstract)
    np.save(tmp / "years.npy", years)
    (tmp / "terms.txt").write_text("\n".join(terms) + "\n", encoding="utf-8")
    acronyms.write(defined, tmp / ACRONYMS_FILE)
    meta = {
        "version": POSTINGS_VERSION,
        "build_id": build_id,
        "tokenizer": TOKENIZER,
        "terms": len(terms),
        "dense": model is not None,
    }
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    if progress:
        progress(total_terms, total_terms)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


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


def postings_current(index_path: Path) -> bool:
    """Postings exist beside the index, whole, in this version, and were built from this build of it."""
    directory = postings_dir(index_path)
    if not all((directory / name).is_file() for name in _FILES):
        return False
    meta_file = directory / "meta.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    con = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    try:
        build_id = index_build_id(con)
    finally:
        con.close()
    if bool(meta.get("dense")) != (dense.find_model() is not None):
        return False  # the packaged MiniLM was installed or removed since: (re)build with it or without
    if meta.get("dense") and not all((directory / name).is_file() for name in dense.FILES):
        return False
    return bool(meta.get("version") == POSTINGS_VERSION and meta.get("build_id") == build_id)


def has_dense(directory: Path) -> bool:
    """The postings in `directory` include the dense ranking (engine/sources/dense.py)."""
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(meta.get("dense"))


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
        present = (len_title + len_abstract) > 0
        n_docs = max(int(present.sum()), 1)
        self.n_rows = len(len_title)
        df = np.diff(self._starts).astype(np.float64)
        self._idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        p = self.params
        # Per-row divisors of each field's term frequency, computed once: (1 - b + b·len/avg_len) / weight.
        avg_title = float(len_title[len_title > 0].mean()) if (len_title > 0).any() else 1.0
        avg_abstract = float(len_abstract[len_abstract > 0].mean()) if (len_abstract > 0).any() else 1.0
        self._div_title = ((1 - p.b_title + p.b_title * len_title / avg_title) / p.title_weight).astype(np.float32)
        self._div_abstract = (1 - p.b_abstract + p.b_abstract * len_abstract / avg_abstract).astype(np.float32)
        self.acronyms = AcronymTable.load(directory / ACRONYMS_FILE)
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
        for term, weight in terms.items():
            tid = self._term_ids.get(term)
            if tid is None:
                continue
            lo, hi = int(self._starts[tid]), int(self._starts[tid + 1])
            docs = self._docs[lo:hi]
            tf = self._tf_title[lo:hi] / self._div_title[docs] + self._tf_abstract[lo:hi] / self._div_abstract[docs]
            total[docs] += (weight * self._idf[tid]) * (tf / (k1 + tf)).astype(np.float32)
        return total

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
        hits = np.flatnonzero(total > 0)
        if len(hits) > limit:
            hits = hits[np.argpartition(-total[hits], limit - 1)[:limit]]
        # Ties broken by rowid so a search is deterministic.
        return hits[np.lexsort((hits, -total[hits]))]

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
