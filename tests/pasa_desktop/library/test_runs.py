"""A search's events → the library: runs, papers, scores, queries, sections, and the event log for resume."""

from __future__ import annotations

import pytest

from engine import events as ev
from pasa_desktop.library import Library, LibraryError
from tests.pasa_desktop.library.conftest import make_paper


def _search_events() -> list:  # type: ignore[type-arg]
    a, b, c = make_paper(1), make_paper(2), make_paper(3, arxiv_id=None, doi="10.1000/XYZ")
    by_q = ev.FoundBy("query", query="gradient coding", rank=1, source="local")
    by_x = ev.FoundBy("expansion", parent_key=a.key, section="2 Related Work", rank=4, source="local")
    return [
        ev.SearchStarted("coded computation for stragglers", {"max_queries": 3}),
        ev.QueryIssued("gradient coding"),
        ev.PapersFound((a, b), (by_q, ev.FoundBy("query", query="gradient coding", rank=2))),
        ev.Progress("search", "searching", ev.Counts(queries=1, found=2)),
        ev.QueryFinished("gradient coding", 2),
        ev.PaperScored(a.key, 0.91, True, "It is about coded computation."),
        ev.PaperScored(b.key, 0.12, False, "Off topic."),
        ev.SectionsChosen(a.key, ("2 Related Work",)),
        ev.PaperExpanded(a.key, ("2 Related Work",), cited=12, resolved=1),
        ev.PapersFound((c,), (by_x,), also_found=((b.key, by_x),)),
        ev.PaperScored(c.key, 0.77, True, "Relevant."),
        ev.Notice("warning", "arxiv", "offline"),
        ev.Progress("score", "ranking", ev.Counts(queries=1, found=3, scored=3, selected=2, expanded=1)),
        ev.SearchFinished(
            ev.SearchStatus.DONE,
            results=(
                ev.RankedPaper(a, 2.5, 0.91, True, (by_q,)),
                ev.RankedPaper(c, 1.5, 0.77, True, (by_x,)),
                ev.RankedPaper(b, 0.5, 0.12, False, (by_q,)),
            ),
            seconds=12.5,
        ),
    ]


def test_a_whole_search_is_recorded(library: Library) -> None:
    run = library.create_run("coded computation for stragglers", {"preset": "standard"})
    events = _search_events()
    for e in events:
        library.record(run, e)

    summary = library.run(run)
    assert (summary.status, summary.queries, summary.found, summary.scored, summary.selected, summary.expanded) == (
        "done",
        1,
        3,
        3,
        2,
        1,
    )
    assert summary.seconds == pytest.approx(12.5)
    rows = library.run_papers(run)
    assert [r.key for r in rows] == [events[2].papers[0].key, "doi:10.1000/xyz", events[2].papers[1].key]
    top = rows[0]
    assert top.score == pytest.approx(0.91) and top.selected and top.reason == "It is about coded computation."
    assert top.sections_expanded == ("2 Related Work",) and top.sections_chosen == ("2 Related Work",)
    assert rows[1].found_by[0].kind == "expansion" and rows[1].found_by_label == "cited in 2 Related Work"
    # b was found by a query and again by the expansion: both paths kept.
    assert [f.kind for f in rows[2].found_by] == ["query", "expansion"]
    assert [q.hits for q in library.run_queries(run)] == [2]
    assert library.run_settings(run) == {"max_queries": 3}
    assert library.last_progress(run) == events[12]
    assert [r.paper.id for r in library.run_papers(run, selected_only=True)] == [rows[0].paper.id, rows[1].paper.id]


def test_event_log_round_trips_for_resume_without_progress(library: Library) -> None:
    run = library.create_run("q", {})
    events = _search_events()
    for e in events:
        library.record(run, e)
    logged = library.run_events(run)
    expected = [e for e in events if not isinstance(e, ev.Progress)]
    assert [ev.event_to_dict(e) for e in logged] == [ev.event_to_dict(e) for e in expected]


def test_progress_is_kept_only_as_the_latest_and_survives_close(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pasa_desktop.library import open_library

    lib = open_library(tmp_path / "l.sqlite")
    run = lib.create_run("q", {})
    for i in range(50):
        lib.record(run, ev.Progress("score", f"scoring {i}"))
    lib.close()
    lib = open_library(tmp_path / "l.sqlite")
    progress = lib.last_progress(run)
    assert progress is not None and progress.message == "scoring 49"
    assert lib.run_events(run) == []
    lib.close()


def test_reason_decision_and_unknown_ids(library: Library) -> None:
    run = library.create_run("q", {})
    p = make_paper(1)
    library.record(run, ev.PapersFound((p,), (ev.FoundBy("query", query="q"),)))
    library.record(run, ev.PaperScored(p.key, 0.8, True))
    library.set_reason(run, p.key, "Generated in a second pass.")
    row = library.run_papers(run)[0]
    assert row.reason == "Generated in a second pass."
    library.set_decision(row.paper.id, True)
    assert library.paper(row.paper.id).decision is True
    library.set_decision(row.paper.id, None)
    assert library.paper(row.paper.id).decision is None
    with pytest.raises(LibraryError):
        library.set_reason(run, "arxiv:0000.00000", "x")
    with pytest.raises(LibraryError, match="No search run 999"):
        library.run_papers(999)
    with pytest.raises(LibraryError, match="No paper"):
        library.set_decision(12345, False)


def test_two_runs_share_papers_and_history_lists_newest_first(library: Library) -> None:
    first = library.create_run("first", {})
    second = library.create_run("second", {})
    p = make_paper(7)
    for run in (first, second):
        library.record(run, ev.PapersFound((p.with_updates(arxiv_id="2101.10007v3"),), (ev.FoundBy("query", query="x"),)))
    assert library.count_papers() == 1
    assert [r.query for r in library.runs()] == ["second", "first"]
    assert library.runs()[0].status == "running"


def test_resumed_search_replays_without_duplicates(library: Library) -> None:
    run = library.create_run("q", {})
    events = _search_events()
    for e in events[:6]:
        library.record(run, e)
    # The engine resumes: it re-announces the start and papers it had already reported.
    library.record(run, ev.SearchStarted("q", {}, resumed=True))
    for e in events[2:]:
        library.record(run, e)
    rows = library.run_papers(run)
    assert len(rows) == 3
    assert all(len(r.found_by) == len({tuple(sorted(ev.event_to_dict(f).items())) for f in r.found_by})  # type: ignore[arg-type]  # FoundBy is an engine dataclass, not an Event; the encoder takes any
               for r in rows)
    assert library.run(run).status == "done"


def test_recording_into_an_unknown_run_is_a_clear_error(library: Library) -> None:
    with pytest.raises(LibraryError, match="does not exist"):
        library.record(42, ev.QueryIssued("q"))
    assert library.runs() == []


def test_fast_event_encoding_equals_the_engines() -> None:
    from pasa_desktop.library.eventlog import _FAST, event_dict

    assert _FAST, "engine events changed shape: update pasa_desktop/library/eventlog.py"
    for event in _search_events():
        assert event_dict(event) == ev.event_to_dict(event)


def test_a_paper_without_a_full_text_is_not_counted_as_expanded(library: Library) -> None:
    """The Crawler tries to expand the best papers; one that no full-text source has was not expanded, and
    the run's count, the engine's count and the crawl tree all say so."""
    from engine.agent.state import RunState
    from ui.crawl_state import CrawlState

    run = library.create_run("coded computation for stragglers", {})
    events = _search_events()[:10]
    b = events[2].papers[1]
    events.append(ev.PaperExpanded(b.key, (), cited=0, resolved=0))
    for e in events:
        library.record(run, e)
    assert library.run(run).expanded == 1
    assert RunState.from_events(events).counts().expanded == 1
    tree = CrawlState()
    for e in events:
        tree.apply(e)
    read = tree.nodes[tree.node_for_paper(events[2].papers[0].key)]  # type: ignore[index]
    tried = tree.nodes[tree.node_for_paper(b.key)]  # type: ignore[index]
    assert read.expanded and not read.no_fulltext
    assert tried.no_fulltext and not tried.expanded
