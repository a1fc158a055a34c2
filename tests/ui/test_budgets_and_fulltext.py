"""Budgets that say what they do (issue #15): the budget buttons' tooltips are the preset table's text
for this configuration; the wizard and Settings offer the full-text sources the app supports; the
crawl tree names only the levels it has and says who wrote each query. Offscreen, real widgets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from engine.agent.presets import PRESET_NAMES, preset_tooltip
from engine.events import Event, FoundBy, PaperExpanded, PapersFound, QueryIssued, SearchStarted
from engine.papers import Paper
from pasa_desktop.fulltext_sources import sample_fulltext_path
from pasa_desktop.settings import Settings
from tests.conftest import shared_data
from ui.crawl_state import CrawlState
from ui.crawl_tree import CrawlTreeModel
from ui.first_run import FirstRunWizard
from ui.search_panel import SearchPanel
from ui.settings_dialog import EMBEDDED_CRAWLER_NOTE, SettingsDialog

SHOTS = Path(os.environ.get("PASA_SHOTS", "/work/notes/shots"))


def shot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS.parent.is_dir():
        SHOTS.mkdir(exist_ok=True)
        widget.grab().save(str(SHOTS / f"h2_{name}.png"))


@pytest.fixture(autouse=True)
def _no_fulltext_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASA_FULLTEXT", raising=False)


def panel_for(qtbot, settings: Settings, sources: list[str]) -> SearchPanel:  # type: ignore[no-untyped-def]
    panel = SearchPanel(CrawlState())
    qtbot.addWidget(panel)
    panel.set_options(["local", "arxiv"], sources, ["embedded"], "embedded", "embedded")
    panel.show_budgets(settings)
    return panel


def tips(panel: SearchPanel) -> dict[str, str]:
    return {name: panel.presets.button(i).toolTip() for i, name in enumerate(PRESET_NAMES)}


def test_tooltips_are_the_tables_text_for_this_configuration(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(selector_profile="embedded")
    settings.agent.max_queries = 4  # the user's own Standard budget
    panel = panel_for(qtbot, settings, ["local"])
    expected = {n: preset_tooltip(n, settings.agent, fulltext=False, crawler_queries=False) for n in PRESET_NAMES}
    assert tips(panel) == expected
    assert "no citation expansion: it needs a full-text source" in tips(panel)["thorough"]
    assert "Crawler queries off" in tips(panel)["standard"]
    assert panel.crawl_counts.text().endswith("papers (no full texts for expansion).")
    panel.resize(1300, 700)
    panel.show()
    shot(panel, "search_panel_no_fulltext")
    from PySide6.QtWidgets import QLabel

    tip = QLabel(tips(panel)["thorough"])  # what hovering over Thorough shows, rendered to look at
    qtbot.addWidget(tip)
    tip.setStyleSheet("background: #ffffdc; color: black; border: 1px solid #888; padding: 4px")
    tip.adjustSize()
    shot(tip, "tooltip_thorough_no_fulltext")

    # Ticking an online source brings online full texts: the tooltips follow at once.
    panel._source_actions["arxiv"].setChecked(True)
    thorough = preset_tooltip("thorough", settings.agent, fulltext=True, crawler_queries=False)
    assert tips(panel)["thorough"] == thorough and "• 2 citation-expansion layers of up to 20 papers (those a full-text source has)" in thorough
    assert "• no citation expansion\n" in tips(panel)["quick"]  # Quick never expands, whatever is configured

    # Offline full texts configured: expansion runs with the offline index alone.
    texts = tmp_path / "unarxive.jsonl"
    texts.write_text("", encoding="utf-8")
    with_texts = settings.model_copy(update={"paths": settings.paths.model_copy(update={"fulltext": str(texts)})})
    panel = panel_for(qtbot, with_texts, ["local"])
    assert "2 citation-expansion layers" in tips(panel)["standard"]
    assert "sections → cited papers" in panel.crawl_counts.text()


def test_settings_offer_fulltext_sources_and_say_what_the_crawler_does(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    sample = sample_fulltext_path()
    assert dialog.fulltext_path.text() == (str(sample) if sample else "")
    assert "arXiv HTML, ar5iv and PDFs" in dialog.fulltext_online.text()
    dialog.fulltext_path.setText("")
    assert dialog.fulltext_status.text().startswith("No full-text source: citation expansion will not run")
    dialog.fulltext_online.setChecked(True)
    assert "arXiv HTML, ar5iv and PDFs (online)" in dialog.fulltext_status.text()
    saved = dialog.result_settings()
    assert saved.sources.fulltext_online and saved.paths.fulltext == ""
    # The embedded Crawler writes no queries by default, and Settings says so in plain words.
    assert dialog.crawler.currentText() == "embedded"
    assert dialog.crawler_note.text() == EMBEDDED_CRAWLER_NOTE
    dialog.crawler_queries.setCurrentIndex(dialog.crawler_queries.findData("on"))
    assert dialog.crawler_note.text().startswith("The Crawler writes up to 5 search queries")
    assert dialog.result_settings().agent.crawler_queries == "on"
    dialog.resize(760, 620)
    dialog.show()
    dialog.crawler_queries.setCurrentIndex(dialog.crawler_queries.findData("auto"))
    shot(dialog, "settings_models")
    dialog.tabs.setCurrentIndex(1)
    shot(dialog, "settings_sources")


def test_settings_default_to_the_unarxive_sample(qtbot) -> None:  # type: ignore[no-untyped-def]
    sample = shared_data("fixtures/unarXive_data_sample.tar.gz")
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert Path(dialog.fulltext_path.text()).resolve() == sample.resolve()
    assert "unarXive full texts in unarXive_data_sample.tar.gz (offline)" in dialog.fulltext_status.text()
    assert dialog.result_settings().paths.fulltext == dialog.fulltext_path.text()


def test_wizard_offers_fulltext_sources(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = FirstRunWizard(Settings())
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    page = wizard.sources_page
    assert wizard.currentPage() is page
    sample = sample_fulltext_path()
    assert page.fulltext_offline.isChecked() == (sample is not None)
    page.fulltext_offline.setChecked(False)
    assert page.fulltext_status.text().startswith("No full-text source")
    page.fulltext_online.setChecked(True)
    page.fulltext_offline.setChecked(True)
    texts = tmp_path / "texts.jsonl"
    texts.write_text("", encoding="utf-8")
    page.fulltext_path.setText(str(texts))
    assert "texts.jsonl (offline) and arXiv HTML, ar5iv and PDFs (online)" in page.fulltext_status.text()
    wizard.resize(720, 640)
    shot(wizard, "wizard_sources")
    wizard.next()
    chosen = wizard.result_settings()
    assert chosen.paths.fulltext == str(texts) and chosen.sources.fulltext_online


def test_crawl_tree_shows_only_levels_that_exist_and_who_wrote_each_query(qtbot) -> None:  # type: ignore[no-untyped-def]
    state = CrawlState()
    model = CrawlTreeModel(state)
    question = "coded computation against stragglers"
    events: list[Event] = [
        SearchStarted(query=question),
        QueryIssued(query=question, origin="user"),
        QueryIssued(query="coded computation stragglers", origin="planner"),
        QueryIssued(query="gradient coding", origin="crawler"),
        PapersFound(
            papers=(Paper(id="p1", title="Gradient coding"),),
            found_by=(FoundBy("query", query="gradient coding", rank=1, origin="crawler"),),
        ),
    ]
    for event in events:
        state.apply(event)
    model.apply(state.take_changes())
    header = model.headerData(0, Qt.Orientation.Horizontal)
    assert header == "Your question → search queries → papers"
    root = model.index(0, 0)
    labels = [model.data(model.index(i, 0, root)) for i in range(model.rowCount(root))]
    assert labels == [f"you: {question}", "planner: coded computation stragglers", "Crawler model: gradient coding"]
    assert "written by Crawler model" in model.data(model.index(2, 0, root), Qt.ItemDataRole.ToolTipRole)
    assert state.found_by["title:" + Paper(id="p1", title="Gradient coding").title_key].label() == (
        "Crawler model: gradient coding"
    )
    # An expansion adds the levels it brings, and the header names them from then on.
    state.apply(PaperExpanded(key=Paper(id="p1", title="Gradient coding").key, sections=("2 Related Work",),
                              cited=3, resolved=0, layer=1))
    model.apply(state.take_changes())
    assert model.headerData(0, Qt.Orientation.Horizontal).endswith("→ sections → cited papers")


def test_the_crawl_view_says_why_expansion_did_not_run(qtbot) -> None:  # type: ignore[no-untyped-def]
    from engine.agent.search import NO_FULLTEXT
    from engine.events import Notice

    panel = panel_for(qtbot, Settings(selector_profile="embedded"), ["local"])
    for event in (
        SearchStarted(query="q"),
        QueryIssued(query="q", origin="user"),
        PapersFound(papers=(Paper(id="p1", title="A paper"),), found_by=(FoundBy("query", query="q", origin="user"),)),
        Notice(level="info", source="expansion", message=NO_FULLTEXT),
    ):
        panel.state.apply(event)
    panel.apply(panel.state.take_changes(), final=True)
    assert panel.crawl_counts.text().endswith("· no citation expansion: no full-text source (Settings → Sources)")
    assert panel.crawl_counts.toolTip() == NO_FULLTEXT
