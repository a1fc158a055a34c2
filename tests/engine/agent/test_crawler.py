"""The Crawler: PaSa's prompt sent unchanged, the reply started with its tag, degenerate output dropped,
and the ensemble option (several sampled search sessions, queries unioned)."""

from __future__ import annotations

from engine.agent import prompts
from engine.agent.crawler import Crawler
from engine.agent.settings import AgentSettings
from pasa_testing.scripted import ScriptedModel


def test_prompt_is_pasa_exact_and_junk_is_dropped() -> None:
    model = ScriptedModel(
        [
            " gradient coding\n[Search] the the the the the the the the\n[Search] Please generate mutually exclusive queries\n[StopSearch]"
        ]
    )
    queries = Crawler(model, AgentSettings()).search_queries("coded computation for stragglers")
    assert model.prompts == [prompts.search_prompt("coded computation for stragglers")]
    assert queries == ["gradient coding"]


def test_ensemble_unions_sampled_sessions() -> None:
    replies = [
        "[Search] gradient coding[Search] coded matrix multiplication[StopSearch]",
        "[Search] gradient coding[Search] straggler mitigation survey[StopSearch]",
    ]
    model = ScriptedModel(replies)
    queries = Crawler(model, AgentSettings(crawler_samples=2)).search_queries("stragglers")
    assert queries == ["gradient coding", "coded matrix multiplication", "straggler mitigation survey"]
    assert len(model.prompts) == 2


def test_zero_queries_asks_nothing() -> None:
    model = ScriptedModel(["[Search] x y z"])
    assert Crawler(model, AgentSettings(max_queries=0)).search_queries("q") == []
    assert model.prompts == []
