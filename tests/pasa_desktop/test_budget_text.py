"""The budget texts (`pasa search --help`, the budget buttons' tooltips) say how many papers the Selector
really scores: none while the default Selector is not prepared, and, once it is, the number the search
resolves (engine/agent/ranking.resolve_select_rule), not a re-ranker's 200."""

from __future__ import annotations

import numpy as np

from engine.agent.presets import PRESET_NAMES, apply_preset
from engine.agent.ranking import resolve_select_rule
from engine.models.cross_encoder import PairSelector
from engine.models.relevance import RelevanceModel, SelectRule
from pasa_desktop import selector_setup
from pasa_desktop.budget_text import preset_help, preset_tooltips
from pasa_desktop.settings import Settings


def _help_for(text: str, name: str) -> str:
    """One preset's sentence of the --preset help."""
    return text.split(f"{name}: ", 1)[1].split(". ", 1)[0]


def test_no_selector_ready_promises_no_scoring() -> None:
    settings = Settings()  # the default Selector: the relevance model, not prepared in this fresh data dir
    assert selector_setup.awaits_preparation(settings)
    text = preset_help(settings)
    for name, tip in preset_tooltips(settings).items():
        assert "scores the best" not in tip and "no Selector is ready" in tip
        assert "scores the best" not in _help_for(text, name) and "no Selector is ready" in _help_for(text, name)


def test_a_prepared_selector_scores_what_the_search_resolves() -> None:
    model = RelevanceModel(weights=np.zeros(4), bias=0.0, mean=np.zeros(4), scale=np.ones(4),
                           idf=np.ones(8, dtype=np.float32), products=False, rule=SelectRule(0.3, 1), score_top=20)
    model.save(selector_setup.relevance_dir())
    settings = Settings()
    assert not selector_setup.awaits_preparation(settings)
    # What RelevanceSelector reports about itself (engine/models/relevance.py), without loading MiniLM.
    info = PairSelector.pair_info("relevance", "relevance", rank_weight=0.0, select_threshold=0.3, select_min=1,
                                  score_top=20, calibrated=True)
    text, tips = preset_help(settings), preset_tooltips(settings)
    for name in PRESET_NAMES:
        scored = resolve_select_rule(apply_preset(settings.agent, name), info).score_top
        assert f"the Selector scores the best {scored}\n" in tips[name] + "\n"
        assert f"the Selector scores the best {scored};" in _help_for(text, name) + ";"
    assert "best 200" not in text  # only a re-ranking cross-encoder is raised to 200
