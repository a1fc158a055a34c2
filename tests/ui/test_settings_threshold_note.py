"""Settings → Budgets says when its Selection threshold and "Papers sent to the Selector" apply, and what it
says is what engine/agent/ranking.resolve_select_rule does with them (select_rule "auto", the default)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.agent.ranking import RERANK_TOP, resolve_select_rule
from engine.agent.settings import AgentSettings
from engine.models.base import ModelInfo
from pasa_desktop.settings import Settings
from ui.settings_dialog import SettingsDialog


def _info(name: str, backend: str, **recorded: object) -> ModelInfo:
    return ModelInfo(name=name, backend=backend, chat_template="", true_token_id=None, context_tokens=2048,
                     **recorded)  # type: ignore[arg-type]  # the recorded fields, typed in ModelInfo


def test_the_threshold_note_is_what_the_search_does(qtbot) -> None:  # type: ignore[no-untyped-def]
    user = AgentSettings(select_threshold=0.9, score_top=10)
    llm = resolve_select_rule(user, _info("pasa-7b-selector", "llama.cpp"))
    assert llm.select_rule == "threshold" and llm.select_threshold == 0.9 and llm.score_top == 10
    relevance = resolve_select_rule(user, _info("relevance", "relevance", select_threshold=0.3, select_min=1,
                                                score_top=20, calibrated=True, rank_weight=0.5))
    assert relevance.select_threshold == 0.3 and relevance.score_top == 20  # its own, not the user's
    for info in (_info("embedded", "llama.cpp"), _info("local", "cross-encoder")):
        assert resolve_select_rule(user, info).select_rule == "top_unrejected"  # the best by rank
    assert resolve_select_rule(user, _info("local", "cross-encoder")).score_top == RERANK_TOP

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    note = dialog.threshold_note.text()
    assert "applies to an LLM Selector" in note and "the threshold its training chose" in note and "by rank" in note
    assert dialog.budget["select_threshold"].toolTip() == note
    assert "at least the papers it was calibrated on" in dialog.budget["score_top"].toolTip()
    assert f"at least {RERANK_TOP}" in dialog.budget["score_top"].toolTip()
