"""Events fold one way (#14): the kinds are Literal types in engine/events.py, every comment listing kinds
says what the Literal says, and the three folds (the engine's RunState, the library's recorder, the window's
CrawlState) take every kind of event. mypy checks the folds are exhaustive (`assert_never`); this runs them.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from pathlib import Path

import pytest

from engine import events
from engine.agent.state import RunState
from engine.papers import Paper
from pasa_desktop.library import open_library
from ui.crawl_state import CrawlState

_QUOTED = re.compile(r'"([^"]*)"')


def _literal_values(annotation: object) -> set[str] | None:
    """The strings a Literal (or a union of Literals) allows; None for any other type."""
    if typing.get_origin(annotation) is typing.Literal:
        return {str(a) for a in typing.get_args(annotation)}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        parts = [_literal_values(a) for a in typing.get_args(annotation)]
        if parts and all(p is not None for p in parts):
            return set().union(*parts)  # type: ignore[arg-type]
    return None


def _classes() -> list[type]:
    return [events.FoundBy, *events.EVENT_TYPES.values()]


def test_every_comment_listing_kinds_says_what_the_literal_says() -> None:
    checked = 0
    for cls in _classes():
        hints = typing.get_type_hints(cls, vars(events))
        source = inspect.getsource(cls)
        for field in dataclasses.fields(cls):
            allowed = _literal_values(hints[field.name])
            if allowed is None:
                continue
            line = next(ln for ln in source.splitlines() if re.match(rf"\s+{field.name}:", ln))
            assert "#" in line, f"{cls.__name__}.{field.name}: say its kinds in a comment ({sorted(allowed)})"
            listed = set(_QUOTED.findall(line.split("#", 1)[1]))
            assert listed == allowed, f"{cls.__name__}.{field.name}: the comment lists {listed}, the type {allowed}"
            checked += 1
    assert checked >= 5  # FoundBy.kind and .origin, QueryIssued.origin, Progress.stage, Notice.level
    assert set(events.EVENT_TYPES) == set(typing.get_args(events.EventKind))
    # The module docstring names every Literal it promises.
    for name in ("EventKind", "FoundByKind", "QueryOrigin", "ProgressStage", "NoticeLevel"):
        assert name in (events.__doc__ or "") and hasattr(events, name)


def one_of_each() -> list[events.Event]:
    paper = Paper(id="test:1", title="Coded Computation Against Stragglers", abstract="We study stragglers.",
                  authors=("Ada Lovelace",), year=2020, arxiv_id="2001.00001", source="local")
    how = events.FoundBy("query", query="coded computation", rank=1, source="local", origin="crawler")
    made: list[events.Event] = [
        events.SearchStarted("coded computation against stragglers", {"max_queries": 1}),
        events.QueryIssued("coded computation", origin="crawler"),
        events.PapersFound((paper,), (how,)),
        events.QueryFinished("coded computation", 1),
        events.PaperScored(paper.key, 0.3, False),
        events.SectionsChosen(paper.key, ("2 Related Work",)),
        events.PaperExpanded(paper.key, ("2 Related Work",), cited=3, resolved=0),
        events.Progress("score", "scoring", events.Counts(queries=1, found=1, scored=1)),
        events.Notice("warning", "arxiv", "offline"),
        events.SearchFinished(events.SearchStatus.DONE, results=(events.RankedPaper(paper, 1.0, 0.3, True, (how,)),)),
    ]
    assert {type(e).__name__ for e in made} == set(typing.get_args(events.EventKind))
    return made


def test_the_three_folds_take_every_kind_and_agree_on_the_selection(tmp_path: Path) -> None:
    made = one_of_each()
    state = RunState.from_events(made)
    crawl = CrawlState()
    for event in made:
        crawl.apply(event)
    with open_library(tmp_path / "library.sqlite") as library:
        run = library.create_run(made[0].query, {})  # type: ignore[union-attr]
        for event in made:
            library.record(run, event)
        stored = {r.key for r in library.run_papers(run, selected_only=True)}
    key = made[2].papers[0].key  # type: ignore[union-attr]
    # The live rule said False; the final ranking says True: the window and the library follow the end.
    assert state.selected == set() and crawl.selected == {key} and stored == {key}
    assert crawl.finished is not None and state.queries == [("coded computation", "crawler")]


@pytest.mark.parametrize("literal, name", [(events.ProgressStage, "stage"), (events.QueryOrigin, "origin")])
def test_what_the_engine_emits_is_in_its_literals(literal: object, name: str) -> None:
    """A string typo in a caller that is not type-checked would slip past mypy: grep the emitters."""
    allowed = set(typing.get_args(literal))
    root = Path(events.__file__).resolve().parents[1]
    pattern = re.compile(r'progress\(\s*"(\w+)"' if name == "stage" else r'\(\s*[^,()]+,\s*"(\w+)"\)\s*for q in')
    used: set[str] = set()
    for path in [*root.joinpath("engine").rglob("*.py"), *root.joinpath("pasa_desktop").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(pattern.findall(text))
        if name == "stage":
            used |= set(re.findall(r'Progress\(\s*"(\w+)"', text))
    assert used and used <= allowed, used - allowed
