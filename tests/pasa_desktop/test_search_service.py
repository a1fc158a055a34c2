"""The search service on its own (pasa_desktop/search_service.py): the one way the command line and the window
run a search. Real index (a slice of the shared corpus), real library, scripted Crawler and Selector handed
in by profile name, as the services take them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import events as ev
from engine.errors import ConfigError, InputError
from engine.models.profiles import ModelProfile
from pasa_desktop.library import Library, open_library
from pasa_desktop.library.leases import RunHeld, claim
from pasa_desktop.search_request import SearchRequest
from pasa_desktop.search_service import SearchService
from pasa_desktop.settings import Settings
from pasa_testing.scripted import ScriptedModel
from tests.pasa_desktop.cli.scripted_pasa import scripted_models

QUERY = "neural networks for language modelling"


@pytest.fixture
def settings(small_index: Path, tmp_path: Path) -> Settings:
    """The shared slice of the real corpus (tests/conftest.py), local only, scripted profiles."""
    s = Settings()
    s.paths.index = str(small_index)
    s.paths.library = str(tmp_path / "library.sqlite")
    s.sources.enabled = ["local"]
    s.profiles += [ModelProfile(name="crawler"), ModelProfile(name="selector")]
    s.crawler_profile, s.selector_profile = "crawler", "selector"
    s.agent = s.agent.model_copy(update={"max_queries": 3, "crawler_queries": "on", "results_per_query": 8,
                                         "expand_layers": 0, "score_top": 10, "max_seconds": 300.0})
    return s


@pytest.fixture
def library(settings: Settings):  # type: ignore[no-untyped-def]
    lib = open_library(Path(settings.paths.library))
    yield lib
    lib.close()


class Loader:
    """The scripted models by profile name, counting how often each is made."""

    def __init__(self, make: Callable[[str], ScriptedModel] = scripted_models) -> None:
        self.make = make
        self.made: list[str] = []

    def __call__(self, profile: str) -> ScriptedModel:
        self.made.append(profile)
        return self.make(profile)


def drain(service: SearchService, request: SearchRequest, *, cancel: asyncio.Event | None = None,
          stop_after_scores: int = 0, check: Callable[[int, ev.Event], None] | None = None) -> list[tuple[int, ev.Event]]:
    async def run() -> list[tuple[int, ev.Event]]:
        out: list[tuple[int, ev.Event]] = []
        async for run_id, event in service.run(request, cancel=cancel):
            if check is not None:
                check(run_id, event)
            out.append((run_id, event))
            if stop_after_scores and cancel is not None and \
                    sum(isinstance(e, ev.PaperScored) for _r, e in out) >= stop_after_scores:
                cancel.set()
        return out

    return asyncio.run(run())


def test_every_event_is_recorded_before_it_is_seen(settings: Settings, library: Library) -> None:
    loader = Loader()
    service = SearchService(settings, library, model_loader=loader)

    def recorded_already(run_id: int, event: ev.Event) -> None:
        if isinstance(event, ev.Progress):  # kept as the run's last progress line, not in its log
            return
        assert library.run_events(run_id)[-1] == event  # what makes resume after kill -9 work
        assert library.run(run_id).status == ("running" if not isinstance(event, ev.SearchFinished)
                                              else event.status.value)

    got = drain(service, SearchRequest(query=QUERY), check=recorded_already)
    run_id, finished = got[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status is ev.SearchStatus.DONE
    assert {r for r, _e in got} == {run_id} and run_id > 0
    assert [e for _r, e in got if not isinstance(e, ev.Progress)] == library.run_events(run_id)
    # What is selected is decided once, by the engine's final ranking, and stored once.
    chosen = {r.paper.key for r in finished.results if r.selected}
    assert chosen and {r.key for r in library.run_papers(run_id, selected_only=True)} == chosen
    summary = library.run(run_id)
    assert summary.selected == len(chosen) and summary.status == "done"
    # Models load once and stay for the next search; the run is not held any more.
    drain(service, SearchRequest(query=QUERY + " again"))
    assert sorted(loader.made) == ["crawler", "selector"]
    claim_by_another_process(library, run_id)  # released: another process may take it
    service.close()


def claim_by_another_process(library: Library, run_id: int) -> None:
    with library._write() as conn:  # as `pasa search --resume` in another process would
        claim(conn, run_id, pid=os.getppid())


def test_without_a_library_the_run_id_is_0(settings: Settings) -> None:
    service = SearchService(settings, None, model_loader=Loader())
    got = drain(service, SearchRequest(query=QUERY))
    assert {r for r, _e in got} == {0} and isinstance(got[-1][1], ev.SearchFinished)
    with pytest.raises(ConfigError, match="resuming needs the library"):
        drain(service, SearchRequest(query="", resume_run=1))
    service.close()


def test_a_request_is_checked_before_anything_loads(settings: Settings, library: Library) -> None:
    loader = Loader()
    service = SearchService(settings, library, model_loader=loader)
    with pytest.raises(InputError):
        drain(service, SearchRequest(query="   "))
    assert loader.made == [] and library.runs() == []


def test_cancel_stops_records_cancelled_and_resume_finishes_without_rescoring(
        settings: Settings, library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASA_TEST_SELECTOR_DELAY", "0.05")  # a slow Selector: cancelled mid-scoring
    service = SearchService(settings, library, model_loader=Loader())
    cancel = asyncio.Event()
    got = drain(service, SearchRequest(query=QUERY), cancel=cancel, stop_after_scores=3)
    run_id, finished = got[-1]
    assert isinstance(finished, ev.SearchFinished) and finished.status is ev.SearchStatus.CANCELLED
    scored_before = {e.key for _r, e in got if isinstance(e, ev.PaperScored)}
    assert library.run(run_id).status == "cancelled" and library.run(run_id).scored == len(scored_before)

    resumed = drain(service, SearchRequest(query="", resume_run=run_id))
    assert {r for r, _e in resumed} == {run_id}
    first = resumed[0][1]
    assert isinstance(first, ev.SearchStarted) and first.resumed and first.query == QUERY
    rescored = {e.key for _r, e in resumed if isinstance(e, ev.PaperScored)} & scored_before
    assert rescored == set()  # what was scored before the cancel is not scored again
    assert library.run(run_id).status == "done"
    service.close()


def test_resume_of_a_run_another_live_process_holds_is_refused_before_models_load(settings: Settings,
                                                                                  library: Library) -> None:
    run_id = library.create_run(QUERY, {})
    library.record(run_id, ev.SearchStarted(QUERY, {}))
    library.release_run(run_id)
    claim_by_another_process(library, run_id)  # our parent: alive, not us
    loader = Loader()
    service = SearchService(settings, library, model_loader=loader)
    with pytest.raises(RunHeld, match=f"process {os.getppid()}"):
        drain(service, SearchRequest(query="", resume_run=run_id))
    assert loader.made == []


def test_resume_of_a_run_without_a_recorded_start_is_refused_and_let_go(settings: Settings,
                                                                       library: Library) -> None:
    run_id = library.create_run(QUERY, {})  # created, then the process died before its first event
    service = SearchService(settings, library, model_loader=Loader())
    with pytest.raises(InputError, match="no recorded start"):
        drain(service, SearchRequest(query="", resume_run=run_id))
    claim_by_another_process(library, run_id)  # the refused resume did not keep holding it
