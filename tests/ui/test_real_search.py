"""Real searches through the window: the app's SearchService, the engine's loop, a small real offline index
built from the shared corpus on first use, the real library — with scripted Crawler/Selector models
(the tests are about what the window does, not about model quality). Cancel and resume included.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.events import PaperScored
from engine.models.profiles import ModelProfile
from pasa_testing.scripted import ScriptedModel
from tests.ui.conftest import corpus_sample, screenshot

QUERY = "neural networks for language modelling"


def _crawler_reply(prompt: str) -> str:
    if "predict which sections" in prompt:
        return "[StopExpand]"
    return " language model\n[Search] neural network training\n[Search] transformer attention\n[StopSearch]"


def _score(prompt: str) -> float:
    title = prompt.split("Title: ", 1)[1].split("\n", 1)[0]
    return 0.85 if "language" in title.lower() else 0.15


def scripted_models(profile: str) -> ScriptedModel:
    """The child search process's models (the window's search_model_loader): a scripted Crawler and Selector;
    PASA_TEST_SELECTOR_DELAY slows the Selector so a test can cancel mid-scoring."""
    if profile == "selector":
        return ScriptedModel(scorer=_score, name="selector",
                             delay_s=float(os.environ.get("PASA_TEST_SELECTOR_DELAY", "0")))
    return ScriptedModel(_crawler_reply, name="crawler")


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """The first 800 papers with abstracts of the real corpus, as the JSON-lines file an index is built from."""
    return corpus_sample(tmp_path / "corpus.jsonl")


@pytest.fixture
def real_window(make_window, settings, small_corpus, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    settings.paths.corpus = str(small_corpus)
    settings.paths.index = str(tmp_path / "index.sqlite")
    settings.sources.enabled = ["local"]

    def build(delay_s: float = 0.0):  # type: ignore[no-untyped-def]
        monkeypatch.setenv("PASA_TEST_SELECTOR_DELAY", str(delay_s))
        # Profiles the request names must exist (SearchRequest.plan); the child's loader makes their models.
        settings.profiles += [ModelProfile(name="crawler"), ModelProfile(name="selector")]
        settings.crawler_profile, settings.selector_profile = "crawler", "selector"
        # the app's own search: SearchService in a child process, with these models
        window = make_window(stream=None, search_models=scripted_models)
        window.search_panel.set_preset("quick")
        return window

    return build


def _search(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.search_panel.query.setPlainText(QUERY)
    window.search_panel.search_button.click()


def test_real_search_through_the_window(qtbot, real_window, library) -> None:  # type: ignore[no-untyped-def]
    window = real_window()
    _search(qtbot, window)
    # The first search builds the index (with its dense ranking: about a minute on a busy 2-core machine).
    qtbot.waitUntil(lambda: window.state.finished is not None and not window.services.search.running,
                    timeout=240_000)
    assert window.state.finished.status.value in ("done", "truncated")
    run = library.runs()[0]
    papers = library.run_papers(run.id)
    assert run.found == len(window.state.papers) > 0
    qtbot.waitUntil(lambda: window.search_panel.results.model.total() == len(papers), timeout=5_000)
    # The crawl tree holds the user query and every search query the Crawler issued.
    tree = window.search_panel.tree_model
    root = tree.index(0, 0)
    issued = {q.query for q in library.run_queries(run.id)}
    shown = {tree.node(tree.index(r, 0, root)).label for r in range(tree.rowCount(root))}
    assert issued <= shown and "transformer attention" in shown, (issued, window.notifications.messages())
    # Scores: every scored paper is in the histogram; only "language" papers (P = 0.85) can be selected,
    # and the window's selected set is the final ranking's.
    scored = [p for p in papers if p.score is not None]
    assert sum(window.search_panel.plots.histogram_counts()) == len(scored) > 0
    assert {p.score for p in scored} == {0.85, 0.15}
    final = {r.paper.key for r in window.state.finished.results if r.selected}
    assert window.state.selected == final
    assert tree.data(root.siblingAtColumn(3)) == str(len(final))
    table = window.search_panel.results.model
    assert {table.row_at(i).key for i in range(table.rowCount()) if table.row_at(i).selected} == final
    assert _scored_twice(library, run.id) == []
    screenshot(window, "04-real-search")


def test_cancel_stops_within_a_second_and_resume_finishes(qtbot, real_window, library) -> None:  # type: ignore[no-untyped-def]
    window = real_window(delay_s=0.25)  # a slow Selector: the search is mid-scoring when cancelled
    _search(qtbot, window)
    qtbot.waitUntil(lambda: len(window.state.scores) >= 2, timeout=240_000)
    started = time.monotonic()
    window.search_panel.cancel_button.click()
    # Stopped = the window is back to idle (Search enabled again, status says so), not just the engine.
    qtbot.waitUntil(lambda: window.search_panel.search_button.isEnabled(), timeout=5_000)
    assert time.monotonic() - started <= 1.0
    run = library.runs()[0]
    assert run.status == "cancelled", (run, window.state.finished, window.notifications.messages())
    found_before = len(window.state.papers)
    assert run.found == found_before  # everything found is kept
    scored_before = run.scored
    assert scored_before < found_before
    assert "Cancelled" in window.status_text.text()

    # Resume from the library view: the interrupted run offers it, and it ends done without re-scoring.
    window.tabs.setCurrentIndex(1)
    panel = window.library_panel
    qtbot.waitUntil(lambda: panel.runs.count() == 1, timeout=5_000)
    panel.runs.setCurrentRow(0)
    assert panel.resume_button.isEnabled()
    screenshot(window, "05-library-interrupted-run")
    os.environ["PASA_TEST_SELECTOR_DELAY"] = "0"  # the resumed search's process reads it at start
    panel.resume_button.click()
    assert window.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: window.state.finished is not None and not window.services.search.running,
                    timeout=60_000)
    qtbot.waitUntil(lambda: library.runs()[0].status in ("done", "truncated"), timeout=5_000)
    assert len(library.runs()) == 1  # resumed in place, not a new run
    assert library.runs()[0].scored >= scored_before
    assert _scored_twice(library, run.id) == [], "a resumed search re-scored a paper"


def _scored_twice(library, run_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Papers the run's event log shows scored more than once."""
    counts = Counter(e.key for e in library.run_events(run_id) if isinstance(e, PaperScored))
    return [key for key, n in counts.items() if n > 1]


def test_missing_index_is_a_clear_message(qtbot, make_window, settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PASA_CORPUS", raising=False)
    settings.paths.index = str(tmp_path / "no-index.sqlite")
    settings.paths.corpus = ""
    settings.sources.enabled = ["local"]
    window = make_window(stream=None)
    _search(qtbot, window)
    qtbot.waitUntil(lambda: window.search_panel.search_button.isEnabled()
                    and bool(window.notifications.messages()), timeout=30_000)
    level, _source, message = window.notifications.messages()[-1]
    assert level == "error" and "no offline paper index" in message and "pasa index build" in message
