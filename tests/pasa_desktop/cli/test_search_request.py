"""The one search request (pasa_desktop/search_request.py): checked once, turned into AgentSettings once.

A preset sets budgets and nothing else; the request's own overrides come after it; a bad value, an unknown
source or profile, or an empty question is an InputError (exit code 2 from `pasa search` / `pasa eval`,
before any index or model is touched).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.agent.presets import BUDGET_FIELDS, PRESETS
from engine.errors import InputError
from engine.models.profiles import ModelProfile
from pasa_desktop.search_request import SearchRequest
from pasa_desktop.settings import Settings
from tests.pasa_desktop.cli.conftest import pasa


def _user() -> Settings:
    settings = Settings()
    settings.profiles.append(ModelProfile(name="lab"))
    settings.agent = settings.agent.model_copy(update={
        "select_threshold": 0.7, "crawler_weight": 0.5, "max_queries": 2, "max_seconds": 42.0, "seed": 7,
    })
    return settings


def test_a_preset_sets_budgets_only_and_the_request_overrides_come_last() -> None:
    user = _user()
    quick = SearchRequest.make(query="coded computation", preset="quick").plan(user).agent
    budgets = PRESETS["quick"].budgets
    assert budgets is not None
    for name in BUDGET_FIELDS:
        assert getattr(quick, name) == budgets[name]
    # Everything that is not a budget is the user's.
    assert (quick.select_threshold, quick.crawler_weight, quick.seed) == (0.7, 0.5, 7)
    # No preset, or "standard": the user's own budgets.
    for preset in (None, "standard"):
        agent = SearchRequest.make(query="q", preset=preset).plan(user).agent
        assert agent == user.agent
    over = SearchRequest.make(query="q", preset="quick", max_seconds=5, crawler_samples=3).plan(user).agent
    assert (over.max_seconds, over.crawler_samples, over.max_queries) == (5.0, 3, budgets["max_queries"])


def test_sources_and_profiles_apply_to_the_plan_not_to_the_users_settings() -> None:
    user = _user()
    before = user.model_dump()
    plan = SearchRequest.make(query="  coded\n computation ", sources=("arxiv", "local", "arxiv"),
                              selector_profile="lab").plan(user)
    assert plan.query == "coded computation"
    assert plan.sources == ["arxiv", "local"]
    assert (plan.settings.crawler_profile, plan.settings.selector_profile) == (user.crawler_profile, "lab")
    assert user.model_dump() == before


@pytest.mark.parametrize(
    "fields, says",
    [
        ({"query": "   "}, "query is empty"),
        ({"query": "q", "sources": ("local", "bing")}, "unknown paper source 'bing'"),
        ({"query": "q", "crawler_profile": "nope"}, "no model profile named 'nope'"),
        ({"query": "q", "max_seconds": -1}, "--max-seconds"),
        ({"query": "q", "max_seconds": float("nan")}, "--max-seconds"),
        ({"query": "q", "crawler_samples": 0}, "--crawler-samples"),
        ({"query": "q", "resume_run": 0}, "--resume"),
        ({"query": "q", "preset": "fast"}, "--preset"),
    ],
)
def test_bad_requests_are_input_errors_that_say_what(fields: dict[str, object], says: str) -> None:
    with pytest.raises(InputError) as caught:
        SearchRequest.make(**fields).plan(_user())
    assert says in str(caught.value)


def test_a_resume_needs_no_question() -> None:
    assert SearchRequest.make(resume_run=3).plan(_user()).resume_run == 3


def test_the_command_line_exits_2_before_any_work(tmp_path: Path) -> None:
    """No index exists here: each of these is refused before one would be looked for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASA_")}
    env.update(PASA_DATA_DIR=str(tmp_path / "d"), PASA_CONFIG_DIR=str(tmp_path / "c"))
    for args, says in (
        (["search", "q", "--max-seconds", "-5"], "--max-seconds"),
        (["search", "q", "--crawler-model", "nope"], "no model profile named 'nope'"),
        (["search", "q", "--top", "0"], "--top"),
        (["eval", "--queries", "x.jsonl", "--output", "o.jsonl", "--limit", "0"], "--limit"),
        (["eval", "--queries", "x.jsonl", "--output", "o.jsonl", "--selector-model", "nope"], "nope"),
    ):
        result = pasa(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert says in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "d" / "index.sqlite").exists()
