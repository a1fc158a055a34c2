"""The budget buttons' tooltips follow the default Selector's preparation: "nothing scored" while it is
being prepared, the number it scores once the window sees it ready (not only after Settings is saved)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from engine.models.relevance import RelevanceModel, SelectRule
from pasa_desktop.selector_setup import relevance_dir
from pasa_desktop.settings import Settings


def test_tooltips_change_when_the_selector_becomes_ready(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pasa_desktop.gui_controller import AppServices
    from ui.main_window import MainWindow

    settings = Settings()
    settings.paths.library = str(tmp_path / "lib.sqlite")
    window = MainWindow(AppServices(settings))
    qtbot.addWidget(window)
    standard = window.search_panel.presets.button(1)
    assert "no Selector is ready" in standard.toolTip()
    RelevanceModel(weights=np.zeros(4), bias=0.0, mean=np.zeros(4), scale=np.ones(4), idf=np.ones(8, dtype=np.float32),
                   products=False, rule=SelectRule(0.3, 0), score_top=20).save(relevance_dir())
    window._show_selector_setup()  # what its 3 s timer runs
    assert "the Selector scores the best 20" in standard.toolTip()
    assert window.selector_setup_text.text() == ""
