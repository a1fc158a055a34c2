"""The preset table: a preset sets budgets and nothing else, and its text says what it really runs."""

from __future__ import annotations

from datetime import date

import pytest

from engine.agent.presets import (
    BUDGET_FIELDS,
    PRESET_NAMES,
    PRESETS,
    apply_preset,
    budget_lines,
    describe_budgets,
    preset_table_markdown,
    preset_tooltip,
    presets_help,
)
from engine.agent.settings import AgentSettings

USER = AgentSettings(
    select_threshold=0.3,
    before=date(2020, 1, 1),
    variant_weight=1.2,
    crawler_weight=0.0,
    rrf_k=30.0,
    seed=7,
    include_user_query=False,
    max_queries=2,
    score_top=40,
)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_changes_only_budget_fields(name: str) -> None:
    applied = apply_preset(USER, name)
    before, after = USER.model_dump(), applied.model_dump()
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= set(BUDGET_FIELDS)
    budgets = PRESETS[name].budgets  # type: ignore[index]
    if budgets is None:
        assert applied == USER  # Standard = the user's own budgets
    else:
        assert {k: after[k] for k in budgets} == dict(budgets)
        assert set(budgets) == set(BUDGET_FIELDS)


def test_no_preset_and_unknown_preset() -> None:
    assert apply_preset(USER, None) == USER
    with pytest.raises(ValueError, match="unknown preset"):
        apply_preset(USER, "fast")


def test_engine_classmethod_uses_the_table() -> None:
    assert AgentSettings.preset("quick") == apply_preset(AgentSettings(), "quick")
    assert AgentSettings.preset("standard") == AgentSettings()


def test_description_says_when_expansion_cannot_run() -> None:
    thorough = apply_preset(AgentSettings(), "thorough")
    without = describe_budgets(thorough, fulltext=False)
    assert "no citation expansion: it needs a full-text source, and none is configured" in without
    assert "2 citation-expansion layers of up to 20 papers (those a full-text source has)" in describe_budgets(thorough, fulltext=True)
    # Quick never expands, whatever is configured, and says so without blaming the configuration.
    quick = describe_budgets(apply_preset(AgentSettings(), "quick"), fulltext=False)
    assert "no citation expansion;" in quick


def test_description_follows_crawler_and_selector() -> None:
    standard = AgentSettings()
    assert "up to 5 Crawler queries" in describe_budgets(standard, fulltext=True)
    off = describe_budgets(standard, fulltext=True, crawler_queries=False)
    assert "Crawler queries off" in off and "up to 5" not in off
    assert "scores the best 200" in describe_budgets(standard, fulltext=True, rerank_top=200)


def test_tooltips_and_help_come_from_the_table() -> None:
    for name in PRESET_NAMES:
        tip = preset_tooltip(name, USER, fulltext=True)
        assert tip.startswith(PRESETS[name].label)
        lines = budget_lines(apply_preset(USER, name), fulltext=True)
        assert tip.splitlines()[1:] == [f"• {line}" for line in lines]
        assert describe_budgets(apply_preset(USER, name), fulltext=True) == "; ".join(lines) + "."
    text = presets_help(USER, fulltext=False)
    for name in PRESET_NAMES:
        assert f"{name}: {describe_budgets(apply_preset(USER, name), fulltext=False)}" in text
    table = preset_table_markdown()
    assert all(f"| {field} |" in table for field in BUDGET_FIELDS)
