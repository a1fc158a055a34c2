"""The wizard's model page says what its choices run: the embedded default is the Crawler only (writing no
queries of its own) beside the relevance Selector, and a Selector scores the best papers, not every one."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QLabel

from engine.agent.crawler import crawler_writes_queries_for
from pasa_desktop.settings import RELEVANCE_PROFILE, Settings
from ui.first_run import FirstRunWizard


def test_the_embedded_choice_says_what_it_runs(qtbot) -> None:  # type: ignore[no-untyped-def]
    wizard = FirstRunWizard(Settings())
    qtbot.addWidget(wizard)
    page = wizard.model_page
    assert page.kind() == "embedded"
    chosen = wizard.result_settings()
    crawler = chosen.profile(chosen.crawler_profile)
    assert chosen.selector_profile == RELEVANCE_PROFILE and crawler.kind == "embedded"
    assert not crawler_writes_queries_for(chosen.agent, crawler.kind, crawler.path or crawler.model)
    assert chosen.agent.score_top < chosen.agent.max_papers  # the Selector never sees every paper
    texts = " ".join(label.text() for label in page.findChildren(QLabel))
    assert "as the Crawler" in texts and "relevance Selector" in texts
    assert "every paper" not in page.subTitle() and "the best papers" in page.subTitle()
