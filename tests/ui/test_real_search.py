"""Real searches through the window: the app's SearchService, the engine's loop, a small real offline index
built from the shared corpus on first use, the real library — with scripted Crawler/Selector models
(the tests are about what the window does, not about model quality). Cancel and resume included.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path

import pytest

from engine.models.scripted import ScriptedModel
from pasa_desktop.search_service import SearchService
from tests.conftest import shared_data
from tests.ui.conftest import screenshot

QUERY = "neural networks for language modelling"


def _crawler_reply(prompt: str) -> str:
    if "predict which sections" in prompt:
        return "[StopExpand]"
    return " language model\n[Search] neural network training\n[Search] transformer attention\n[StopSearch]"


class Models:
    """Scripted models standing in for the PaSa Crawler and Selector; counts what the Selector scored."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.scored: dict[str, int] = {}
        self.lock = threading.Lock()
        self.crawler = ScriptedModel(_crawler_reply, name="crawler")
        self.selector = ScriptedModel(scorer=self._score, name="selector", delay_s=delay_s)

    def _score(self, prompt: str) -> float:
        title = prompt.split("Title: ", 1)[1].split("\n", 1)[0]
        with self.lock:
            self.scored[title] = self.scored.get(title, 0) + 1
        return 0.85 if "language" in title.lower() else 0.15


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """The first 800 papers with abstracts of the real corpus, as the JSON-lines file an index is built from."""
    source = shared_data("corpus/papers.jsonl.gz")
    out = tmp_path / "corpus.jsonl"
    kept = 0
    with gzip.open(source, "rt", encoding="utf-8") as fh, out.open("w", encoding="utf-8") as dst:
        for line in fh:
            if json.loads(line).get("abstract"):
                dst.write(line)
                kept += 1
                if kept == 800:
                    break
    return out


@pytest.fixture
def real_window(make_window, settings, small_corpus, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    settings.paths.corpus = str(small_corpus)
    settings.paths.index = str(tmp_path / "index.sqlite")
    settings.sources.enabled = ["local"]

    def build(delay_s: float = 0.0):  # type: ignore[no-untyped-def]
        models = Models(delay_s)
        monkeypatch.setattr(SearchService, "model", lambda self, name: models.selector
                            if name == "selector" else models.crawler)
        settings.crawler_profile, settings.selector_profile = "crawler", "selector"
        window = make_window(stream=None)  # the app's own search service
        window.search_panel.set_preset("quick")
        return window, models

    return build


def _search(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.search_panel.query.setPlainText(QUERY)
    window.search_panel.search_button.click()


def test_real_search_through_the_window(qtbot, real_window, library) -> None:  # type: ignore[no-untyped-def]
    window, models = real_window()
    _search(qtbot, window)
    qtbot.waitUntil(lambda: window.state.finished is not None and not window.services.search.running,
                    timeout=60_000)
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
    assert issued <= shown and "transformer attention" in shown
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
    assert all(n == 1 for n in models.scored.values())
    screenshot(window, "04-real-search")


def test_cancel_stops_within_a_second_and_resume_finishes(qtbot, real_window, library) -> None:  # type: ignore[no-untyped-def]
    window, models = real_window(delay_s=0.25)  # a slow Selector: the search is mid-scoring when cancelled
    _search(qtbot, window)
    qtbot.waitUntil(lambda: len(window.state.scores) >= 2, timeout=60_000)
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
    models.selector._delay = 0.0
    panel.resume_button.click()
    assert window.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: window.state.finished is not None and not window.services.search.running,
                    timeout=60_000)
    qtbot.waitUntil(lambda: library.runs()[0].status in ("done", "truncated"), timeout=5_000)
    assert len(library.runs()) == 1  # resumed in place, not a new run
    assert library.runs()[0].scored >= scored_before
    assert all(n == 1 for n in models.scored.values()), "a resumed search re-scored a paper"
