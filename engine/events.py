"""Typed events a search emits, in order. The app persists them and the UI renders them.

Every event is a frozen dataclass that round-trips through `event_to_dict` / `event_from_dict`,
so a run's event log is enough to rebuild its state (that is how an interrupted search resumes).

The kinds are closed sets, written once as `Literal` types below (EventKind, FoundByKind, QueryOrigin,
ProgressStage, NoticeLevel): every fold of events (engine/agent/state.py, the library's recorder, the
window's crawl state) matches them exhaustively (`assert_never`), so a new kind fails type-checking
until each fold handles it, and tests/ui/test_event_folds.py checks that every comment listing
kinds here says what the Literal says.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from engine.papers import Paper

# The event classes by name (the event log's "type" field).
EventKind = Literal[
    "SearchStarted",
    "QueryIssued",
    "PapersFound",
    "QueryFinished",
    "PaperScored",
    "SectionsChosen",
    "PaperExpanded",
    "Progress",
    "Notice",
    "SearchFinished",
]
FoundByKind = Literal["query", "expansion"]
# Who wrote a search query: the user's question itself, a deterministic variant of it
# (engine/agent/queries.py), or the Crawler model.
QueryOrigin = Literal["user", "planner", "crawler"]
# What a Progress event reports: the engine's steps, and the app's own before the engine starts
# (preparing the offline index, loading the models).
ProgressStage = Literal["search", "score", "expand", "index", "load"]
NoticeLevel = Literal["info", "warning", "error"]


class SearchStatus(enum.StrEnum):
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    # A budget (papers, wall-clock) ended the search before the crawler was finished.
    TRUNCATED = "truncated"


@dataclass(frozen=True, slots=True)
class FoundBy:
    """How a paper entered the queue: a Crawler search query, or a section of an expanded paper."""

    kind: FoundByKind  # "query" | "expansion"
    query: str = ""  # the search query text (kind == "query")
    parent_key: str = ""  # the expanded paper's key (kind == "expansion")
    section: str = ""
    rank: int = 0  # 1-based position in the source's result list / bibliography order
    source: str = ""
    # Who wrote the query (kind == "query"); "" = not recorded (runs from before it was).
    origin: QueryOrigin | Literal[""] = ""  # "user" | "planner" | "crawler" | ""

    def label(self) -> str:
        if self.kind == "query":
            who = QUERY_AUTHORS.get(self.origin)
            return f"{who}: {self.query}" if who else f"query: {self.query}"
        return f"cited in {self.section or 'full text'}"


# How the window names who wrote a search query (QueryIssued.origin / FoundBy.origin).
QUERY_AUTHORS = {"user": "you", "planner": "planner", "crawler": "Crawler model"}


@dataclass(frozen=True, slots=True)
class Counts:
    queries: int = 0
    found: int = 0
    scored: int = 0
    selected: int = 0
    expanded: int = 0


@dataclass(frozen=True, slots=True)
class SearchStarted:
    query: str
    settings: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class QueryIssued:
    """A search query about to run: the user's question ("user"), a deterministic variant of it
    ("planner", engine/agent/queries.py), or one the Crawler model wrote ("crawler"), cleaned first
    (engine/agent/query_cleaner.py)."""

    query: str
    origin: QueryOrigin = "crawler"  # "user" | "planner" | "crawler"


@dataclass(frozen=True, slots=True)
class PapersFound:
    """New papers (not seen before in this search) entered the queue."""

    papers: tuple[Paper, ...]
    found_by: tuple[FoundBy, ...]
    # Query results that were already known: still a retrieval signal for ranking.
    also_found: tuple[tuple[str, FoundBy], ...] = ()


@dataclass(frozen=True, slots=True)
class QueryFinished:
    """All results of one search query are in; a resumed run will not issue it again."""

    query: str
    hits: int


@dataclass(frozen=True, slots=True)
class PaperScored:
    key: str
    score: float  # Selector's P("True")
    selected: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SectionsChosen:
    key: str
    sections: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaperExpanded:
    """A paper's chosen sections were read and their citations resolved (found papers follow)."""

    key: str
    sections: tuple[str, ...]
    cited: int
    resolved: int
    layer: int = 1


@dataclass(frozen=True, slots=True)
class Progress:
    stage: ProgressStage  # "search" | "score" | "expand" | "index" | "load"
    message: str
    counts: Counts = Counts()


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should know that does not stop the search (a source offline, a retry)."""

    level: NoticeLevel  # "info" | "warning" | "error"
    source: str
    message: str


@dataclass(frozen=True, slots=True)
class RankedPaper:
    paper: Paper
    rank_score: float
    selector_score: float | None
    selected: bool
    found_by: tuple[FoundBy, ...]


@dataclass(frozen=True, slots=True)
class SearchFinished:
    status: SearchStatus
    results: tuple[RankedPaper, ...] = ()
    message: str = ""
    seconds: float = 0.0


Event = (
    SearchStarted
    | QueryIssued
    | PapersFound
    | QueryFinished
    | PaperScored
    | SectionsChosen
    | PaperExpanded
    | Progress
    | Notice
    | SearchFinished
)

EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        SearchStarted,
        QueryIssued,
        PapersFound,
        QueryFinished,
        PaperScored,
        SectionsChosen,
        PaperExpanded,
        Progress,
        Notice,
        SearchFinished,
    )
}
# The Literal and the classes name the same kinds (checked once, at import).
assert set(EVENT_TYPES) == set(get_args(EventKind)), "EventKind and the event classes disagree"


def _encode(value: Any) -> Any:
    if isinstance(value, Paper):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    data = _encode(event)
    assert isinstance(data, dict)
    data["type"] = type(event).__name__
    return data


def _found_by(data: dict[str, Any]) -> FoundBy:
    return FoundBy(**data)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of `event_to_dict`. Raises KeyError/TypeError on data that is not an event."""
    payload = {k: v for k, v in data.items() if k != "type"}
    name = data["type"]
    if name == "PapersFound":
        return PapersFound(
            papers=tuple(Paper.from_dict(p) for p in payload["papers"]),
            found_by=tuple(_found_by(f) for f in payload["found_by"]),
            also_found=tuple((str(k), _found_by(f)) for k, f in payload.get("also_found", [])),
        )
    if name == "SectionsChosen":
        return SectionsChosen(key=payload["key"], sections=tuple(payload["sections"]))
    if name == "PaperExpanded":
        return PaperExpanded(
            key=payload["key"],
            sections=tuple(payload["sections"]),
            cited=int(payload["cited"]),
            resolved=int(payload["resolved"]),
            layer=int(payload.get("layer", 1)),
        )
    if name == "Progress":
        return Progress(stage=payload["stage"], message=payload["message"], counts=Counts(**payload["counts"]))
    if name == "SearchFinished":
        results = tuple(
            RankedPaper(
                paper=Paper.from_dict(r["paper"]),
                rank_score=float(r["rank_score"]),
                selector_score=r["selector_score"],
                selected=bool(r["selected"]),
                found_by=tuple(_found_by(f) for f in r["found_by"]),
            )
            for r in payload.get("results", [])
        )
        return SearchFinished(
            status=SearchStatus(payload["status"]),
            results=results,
            message=payload.get("message", ""),
            seconds=float(payload.get("seconds", 0.0)),
        )
    cls = EVENT_TYPES[name]
    event: Event = cls(**payload)
    return event
