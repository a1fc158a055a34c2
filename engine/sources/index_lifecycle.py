"""The offline index's lifecycle in one place: check it, build it, repair it, make it ready.

Every place that needs the index (`./run.sh`, `pasa search`, `pasa eval`, the search process behind
the window, the first-run wizard, labelled Selector pairs) asks `ensure_ready`, and `pasa index info`
shows `check`'s report. The index is one SQLite file (papers, FTS5) plus its rankings beside it
(`<index>.bm25f/`: BM25F postings, mined acronyms, the dense ranking, and an incremental update's
delta segment). The rankings are derived from the SQLite file alone, so whatever is wrong with them
is repaired by writing them again; the weaker FTS5 ranking is used only while that cannot run, and
then it is said (a Notice), never silent.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from engine.errors import ConfigError, InputError
from engine.events import Notice, NoticeLevel
from engine.sources import acronyms, dense
from engine.sources.bm25f import (
    ACRONYMS_FILE,
    build_delta,
    build_postings,
    current_delta,
    has_dense,
    index_meta,
    postings_dir,
    postings_state,
)
from engine.sources.http import HttpFetcher
from engine.sources.local_index import BuildReport, UpdateReport, apply_updates, build_index, writer_lock
from engine.sources.oai_pmh import DEFAULT_ENDPOINT, Harvest, PageProgress, harvest
from engine.sources.snapshot import CategoryFilter, parse_categories

HealthState = Literal[
    "ready",  # papers, FTS5 and every ranking in place
    "missing",  # no index file
    "broken",  # a file that is not a readable PaSa index
    "foreign",  # a readable SQLite database of something else (never overwritten)
    "postings_missing",  # no BM25F postings (or a file of them gone): an older version built it
    "postings_stale",  # postings of another build or version, or the MiniLM installed/removed since
    "postings_damaged",  # the postings' files are there but unreadable or inconsistent
    "delta_stale",  # an incremental update reached the papers but not the delta segment
    "dense_legacy",  # the dense ranking in the float32 layout of earlier versions (it still ranks)
    "dense_unfiltered",  # a large index's dense ranking without its prefilter (it ranks exactly, slower)
]
REPAIRABLE: frozenset[HealthState] = frozenset(
    {"postings_missing", "postings_stale", "postings_damaged", "delta_stale", "dense_legacy", "dense_unfiltered"}
)

Notify = Callable[[Notice], object]  # what it returns is ignored
BuildProgress = Callable[[int, int, int], None]


@dataclass(frozen=True, slots=True)
class IndexHealth:
    """What `check` found; `detail` says why when the state is not "ready"."""

    path: Path
    state: HealthState
    detail: str = ""
    papers: int | None = None
    dense: bool = False
    last_update: str | None = None  # the date the last `pasa index update` harvested up to
    categories: tuple[str, ...] = ()  # the arXiv categories the index was limited to
    partial_build: bool = False  # an interrupted build waits beside it (resumed by building again)

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def repairable(self) -> bool:
        return self.state in REPAIRABLE

    @property
    def ranking(self) -> str:
        if self.state in ("ready", "dense_legacy", "dense_unfiltered"):
            return "BM25F fused with the dense ranking" if self.dense else "BM25F"
        return "FTS5 bm25() (until the rankings are repaired)" if self.papers is not None else "none"

    def describe(self) -> str:
        if self.state == "ready":
            return f"{self.path}: ready, {self.papers:,} papers, ranked by {self.ranking}"
        if self.state in ("missing", "broken", "foreign"):
            return f"{self.path}: {self.detail}"
        return f"{self.path}: {self.papers:,} papers; {self.detail}; ranked by {self.ranking}"


def _tell(notify: Notify | None, level: NoticeLevel, message: str) -> None:
    if notify is not None:
        notify(Notice(level=level, source="index", message=message))


def _npy(path: Path) -> npt.NDArray[Any]:
    # Memory-mapped: reads the header and checks the file is long enough, not the data.
    out: npt.NDArray[Any] = np.load(path, mmap_mode="r")
    return out


def _terms(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").split("\n")) - 1


def _segment_problems(directory: Path, rows: int | None) -> list[str]:
    """Shapes of one segment's postings files that do not fit together (a truncated or foreign file)."""
    problems: list[str] = []
    starts = np.load(directory / "starts.npy")
    docs, tf_t, tf_a = (_npy(directory / n) for n in ("docs.npy", "tf_title.npy", "tf_abstract.npy"))
    len_t, len_a = _npy(directory / "len_title.npy"), _npy(directory / "len_abstract.npy")
    if starts.ndim != 1 or not len(starts) or int(starts[-1]) != len(docs) or (np.diff(starts) < 0).any():
        problems.append("starts.npy does not index docs.npy")
    if not (len(docs) == len(tf_t) == len(tf_a)):
        problems.append("the term-frequency files do not match docs.npy")
    if _terms(directory / "terms.txt") != len(starts) - 1:
        problems.append("terms.txt does not match starts.npy")
    if len(len_t) != len(len_a) or (rows is not None and len(len_t) != rows):
        problems.append("the field-length files do not match the rows")
    if len(_npy(directory / "years.npy")) != len(len_t):
        problems.append("years.npy does not match the rows")
    acronyms.read(directory / ACRONYMS_FILE)
    return problems


def _dense_rows(directory: Path, *, delta: bool) -> tuple[npt.NDArray[Any], list[str]]:
    """A segment's row vectors (int8 codes, or the float32 matrix of the older layout), memory-mapped,
    and what does not fit among its codes, scales and centre."""
    if dense.layout(directory, delta=delta) == "float32":
        return _npy(directory / dense.LEGACY_FILES[0]), []
    codes, scale = _npy(directory / dense.I8_FILE), _npy(directory / dense.SCALE_FILE)
    problems = [] if scale.shape == codes.shape[:1] else ["the dense codes and their scales do not match"]
    return codes, problems


def _dense_problems(directory: Path, rows: int) -> list[str]:
    docs, problems = _dense_rows(directory, delta=False)
    tokens, idf = _npy(directory / "dense_tokens.npy"), _npy(directory / "dense_idf.npy")
    if docs.ndim != 2 or docs.shape[0] != rows or tokens.ndim != 2 or tokens.shape != (len(idf), docs.shape[1]):
        problems.append("the dense ranking's files do not match the postings")
    elif dense.layout(directory) == "int8" and _npy(directory / dense.MEAN_FILE).shape != (docs.shape[1],):
        problems.append("the dense centre does not match the codes")
    json.loads((directory / "dense_tokenizer.json").read_text(encoding="utf-8"))
    return problems


def _damage(index_path: Path) -> str:
    """Why the (current-looking) rankings beside the index cannot be read; "" when they can."""
    directory = postings_dir(index_path)
    try:
        problems = _segment_problems(directory, None)
        rows = len(_npy(directory / "len_title.npy"))
        if has_dense(directory):
            problems += _dense_problems(directory, rows)
        delta = current_delta(directory)
        if delta is not None:
            problems += [f"delta: {p}" for p in _segment_problems(delta, None)]
            extra = len(_npy(delta / "len_title.npy"))
            dead = np.load(delta / "dead.npy")
            if len(dead) and (int(dead.min()) < 0 or int(dead.max()) >= rows):
                problems.append("delta: dead.npy names rows the base does not have")
            if has_dense(directory):
                ddocs, _ = _dense_rows(delta, delta=True)
                ids, vecs = np.load(delta / "dense_new_ids.npy"), _npy(delta / "dense_new_vectors.npy")
                if ddocs.ndim != 2 or ddocs.shape[0] != extra or len(ids) != len(vecs):
                    problems.append("delta: the dense files do not match its rows")
    except (OSError, ValueError, KeyError, IndexError) as exc:
        problems = [f"{type(exc).__name__}: {exc}"]
    return "; ".join(problems)


def _is_other_database(path: Path) -> bool:
    """A SQLite file whose tables are readable and are not an index's (a library, say)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return False
    return bool(tables) and not {"papers", "meta"} <= tables


def check(path: Path) -> IndexHealth:
    """The index's state, without changing anything. Cheap: file headers and shapes, not contents."""
    partial = path.with_name(path.name + ".building").is_file()
    if not path.is_file():
        return IndexHealth(path, "missing", "no offline paper index here", partial_build=partial)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            con.execute("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH 'x' LIMIT 1").fetchone()
            papers = int(con.execute("SELECT count(*) FROM papers").fetchone()[0])
            last_update = index_meta(con, "last_update") or None
            raw_categories = index_meta(con, "categories")
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if _is_other_database(path):
            detail = "a SQLite database of something else, not a PaSa index (check paths.index)"
            return IndexHealth(path, "foreign", detail, partial_build=partial)
        return IndexHealth(path, "broken", f"not a readable PaSa index ({exc})", partial_build=partial)
    try:
        categories = tuple(str(c) for c in json.loads(raw_categories)) if raw_categories else ()
    except ValueError:
        categories = ()

    def health(state: HealthState, detail: str = "", *, with_dense: bool) -> IndexHealth:
        return IndexHealth(path, state, detail, papers, with_dense, last_update, categories, partial)

    state = postings_state(path)
    will_have_dense = dense.find_model() is not None
    if state == "missing":
        return health("postings_missing", "the BM25F postings are missing", with_dense=will_have_dense)
    if state == "stale":
        detail = "the BM25F postings are from another build of the index (or the packaged MiniLM changed)"
        return health("postings_stale", detail, with_dense=will_have_dense)
    if state == "delta_stale":
        return health(
            "delta_stale", "the last incremental update has not reached the rankings", with_dense=will_have_dense
        )
    damage = _damage(path)
    if damage:
        return health("postings_damaged", f"the rankings' files are damaged ({damage})", with_dense=will_have_dense)
    directory = postings_dir(path)
    delta = current_delta(directory)
    if has_dense(directory) and (
        dense.layout(directory) == "float32" or (delta is not None and dense.layout(delta, delta=True) == "float32")
    ):
        detail = (
            "the dense ranking is in the float32 layout of an earlier version (it ranks; converting it saves memory)"
        )
        return health("dense_legacy", detail, with_dense=True)
    if has_dense(directory) and dense.needs_prefilter(directory):
        detail = "the dense ranking has no prefilter for its size (it ranks exactly, but slower)"
        return health("dense_unfiltered", detail, with_dense=True)
    return health("ready", with_dense=has_dense(directory))


def build(
    source: Path,
    target: Path,
    *,
    progress: BuildProgress | None = None,
    categories: str | tuple[str, ...] | None = None,
    resume: bool = True,
) -> BuildReport:
    """Build the index from a corpus or arXiv metadata snapshot (local_index.build_index: streamed,
    resumable, limited by category)."""
    with writer_lock(target):
        return build_index(source, target, progress=progress, categories=categories, resume=resume)


def repair(
    health: IndexHealth,
    *,
    notify: Notify | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IndexHealth:
    """Rewrite what `health` found wrong with the rankings (nothing when it found nothing to repair).
    If the rewrite cannot run, the index keeps ranking with FTS5 and a warning says so."""
    path = health.path
    if not health.repairable:
        return health
    with writer_lock(path):
        # Another process (a search, an update) may have repaired it while this one waited.
        now = check(path)
        if now.state != health.state:
            return now if not now.repairable else _repair(now, notify, progress)
        return _repair(health, notify, progress)


def _repair(health: IndexHealth, notify: Notify | None, progress: Callable[[int, int], None] | None) -> IndexHealth:
    path = health.path
    try:
        if health.state == "dense_legacy":
            _tell(
                notify,
                "info",
                "Converting the index's dense ranking to int8 codes (once, seconds; it keeps its ranking)…",
            )
            dense.convert_legacy(postings_dir(path))
            if dense.needs_prefilter(postings_dir(path)):
                dense.write_prefilter(postings_dir(path))
        elif health.state == "dense_unfiltered":
            _tell(notify, "info", "Writing the dense ranking's prefilter (once, seconds)…")
            dense.write_prefilter(postings_dir(path))
        elif health.state == "delta_stale":
            _tell(notify, "info", "Bringing the rankings up to the index's last update…")
            try:
                build_delta(path)
            except (OSError, ValueError):
                build_postings(path, progress=progress)
        else:
            if health.state == "postings_damaged":
                _tell(notify, "warning", f"The index's rankings are damaged ({health.detail}); rebuilding them.")
            else:
                _tell(notify, "info", "Preparing the index's BM25F and dense rankings (once, a few minutes)…")
            build_postings(path, progress=progress)
    except (OSError, ValueError, sqlite3.DatabaseError) as exc:
        fallback = (
            "it keeps ranking in the older layout"
            if health.state == "dense_legacy"
            else "it keeps ranking exactly, but slower"
            if health.state == "dense_unfiltered"
            else "searching with FTS5's bm25()"
        )
        _tell(
            notify,
            "warning",
            f"Could not rebuild the index's rankings ({type(exc).__name__}: {exc}); {fallback} until "
            "`pasa index repair` succeeds.",
        )
        return check(path)
    after = check(path)
    if after.ready and health.state == "postings_damaged":
        _tell(notify, "info", "The index's rankings are repaired.")
    return after


def ensure_ready(
    path: Path,
    corpus: Path | None = None,
    *,
    notify: Notify | None = None,
    progress: BuildProgress | None = None,
    postings_progress: Callable[[int, int], None] | None = None,
) -> IndexHealth:
    """The index at `path`, ready to search: built from `corpus` when missing (or unreadable), its
    rankings written or repaired when they are missing, stale or damaged. ConfigError when there is
    no index and no corpus to build one from."""
    health = check(path)
    if health.state == "foreign":
        raise ConfigError(f"{path}: {health.detail}", hint="point paths.index at the offline index's own file")
    if health.state in ("missing", "broken"):
        if corpus is None or not corpus.is_file():
            raise ConfigError(
                f"no offline paper index at {path}" if health.state == "missing" else f"{path}: {health.detail}",
                hint="run `pasa index build --from CORPUS.jsonl.gz` (or set PASA_CORPUS)",
            )
        with writer_lock(path):
            health = check(path)  # another process may have built it while this one waited
            if health.state == "broken":
                # Kept aside, not deleted: what is at the configured path is the user's file.
                aside = path.with_name(path.name + ".damaged")
                _tell(
                    notify,
                    "warning",
                    f"The offline index is unreadable ({health.detail}); moved it to {aside} and rebuilding "
                    f"it from {corpus}.",
                )
                path.replace(aside)
            elif health.state == "missing":
                resumed = " (continuing an interrupted build)" if health.partial_build else ""
                _tell(notify, "info", f"Building the offline paper index from {corpus}{resumed}…")
            if health.state in ("missing", "broken"):
                build_index(corpus, path, progress=progress)
                health = check(path)
        if not health.repairable:
            return health
    return repair(health, notify=notify, progress=postings_progress)


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What `update` harvested (since `since`) and what applying it changed."""

    harvest: Harvest
    report: UpdateReport
    since: date


async def update(
    path: Path,
    fetcher: HttpFetcher,
    *,
    since: date | None = None,
    categories: str | tuple[str, ...] | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
    notify: Notify | None = None,
    progress: PageProgress | None = None,
) -> UpdateResult:
    """Bring the index up to date with arXiv over OAI-PMH: harvest every change since `since` (default:
    the index's last update) in `categories` (default: the ones it was built with), then apply them
    all at once (local_index.apply_updates). A failed or malformed harvest changes nothing."""
    health = check(path)
    if health.state in ("missing", "broken", "foreign"):
        raise ConfigError(f"{path}: {health.detail}", hint="build the index first: `pasa index build --from FILE`")
    if since is None:
        if not health.last_update:
            raise InputError(
                "this index has never been updated, so there is no date to harvest from",
                hint="pass --from YYYY-MM-DD (the snapshot's date); later updates continue from the last one",
            )
        since = date.fromisoformat(health.last_update[:10])
    patterns = parse_categories(categories) if categories is not None else health.categories
    found = await harvest(fetcher, since, categories=CategoryFilter(patterns), endpoint=endpoint, progress=progress)
    _tell(
        notify,
        "info",
        f"Harvested {len(found.papers):,} new or revised and {len(found.deleted):,} withdrawn records "
        f"in {found.pages} page(s); applying them.",
    )
    report = await asyncio.to_thread(
        apply_updates, path, found.papers, found.deleted, last_update=found.harvested_until or None
    )
    return UpdateResult(found, report, since)
