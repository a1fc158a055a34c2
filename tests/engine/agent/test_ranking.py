"""The ranking formula (weighted reciprocal-rank fusion + Selector weight) and the selection rules."""

from __future__ import annotations

import pytest

from engine.agent.ranking import (
    W_EXP,
    W_USER,
    rank,
    rejection_floor,
    resolve_select_rule,
    retrieval_order,
    retrieval_score,
)
from engine.agent.settings import AgentSettings
from engine.agent.state import RunState
from engine.events import FoundBy
from engine.models.base import ModelInfo
from engine.papers import Paper

USER = "coded computation against stragglers"


def found(query: str, rank: int, source: str = "local") -> FoundBy:
    return FoundBy(kind="query", query=query, rank=rank, source=source)


def state_with(
    papers: list[tuple[str, list[FoundBy], float | None]],
    queries: list[tuple[str, str]] = ((USER, "user"),),  # type: ignore[assignment]
) -> RunState:
    state = RunState(query=USER, queries=list(queries))
    for title, how, score in papers:
        paper = Paper(id=title, title=title)
        state.papers[paper.key] = paper
        state.found_by[paper.key] = how
        if score is not None:
            state.scores[paper.key] = score
    return state


def info(name: str) -> ModelInfo:
    return ModelInfo(name=name, backend="llama.cpp", chat_template="chatml", true_token_id=1, context_tokens=4096)


def test_retrieval_score_weights_queries_by_origin() -> None:
    settings = AgentSettings(rrf_k=60, variant_weight=0.5, crawler_weight=0.25)
    origins = {USER: "user", "phrase form": "planner", "crawler query": "crawler"}
    how = [found(USER, 1), found("phrase form", 3), found("crawler query", 9)]
    expected = W_USER / 61 + 0.5 / 63 + 0.25 / 69
    assert retrieval_score(how, USER, settings, origins) == pytest.approx(expected)


def test_a_query_counts_once_per_paper_even_from_two_sources() -> None:
    settings = AgentSettings(rrf_k=10)
    how = [found(USER, 2, "local"), found(USER, 5, "arxiv")]
    assert retrieval_score(how, USER, settings) == pytest.approx(1 / 12)


def test_without_origins_every_other_query_counts_as_the_crawlers() -> None:
    settings = AgentSettings(rrf_k=60, variant_weight=0.9, crawler_weight=0.2)
    assert retrieval_score([found("anything", 1)], USER, settings) == pytest.approx(0.2 / 61)


def test_expansions_count_with_their_own_weight() -> None:
    how = [FoundBy(kind="expansion", parent_key="p", section="Related Work", rank=4, source="unarxive")]
    assert retrieval_score(how, USER, AgentSettings(rrf_k=60)) == pytest.approx(W_EXP / 64)


def test_retrieval_order_uses_variant_weights_from_the_run_state() -> None:
    queries = [(USER, "user"), ("variant", "planner")]
    state = state_with([("a", [found(USER, 2)], None), ("b", [found("variant", 1)], None)], queries)
    assert retrieval_order(state, AgentSettings(variant_weight=0.1)) == ["title:a", "title:b"]
    assert retrieval_order(state, AgentSettings(variant_weight=2.0)) == ["title:b", "title:a"]


def test_selector_weight_moves_a_paper_up() -> None:
    state = state_with([("first", [found(USER, 1)], 0.01), ("second", [found(USER, 2)], 0.9)])
    plain = rank(state, AgentSettings(selector_weight=0.0))
    assert [r.paper.title for r in plain] == ["first", "second"]
    weighted = rank(state, AgentSettings(selector_weight=1.0))
    assert [r.paper.title for r in weighted] == ["second", "first"]
    assert weighted[0].rank_score == pytest.approx(1 / 62 + 0.9)


def test_rejection_floor_is_a_lower_quantile_of_the_scores() -> None:
    scores = [0.05, 0.01, 0.04, 0.02, 0.03, 0.06, 0.07, 0.08]
    assert rejection_floor(scores, 0.25) == 0.03
    assert rejection_floor(scores, 0.5) == 0.05
    assert rejection_floor(scores, 0.0) == 0.0
    assert rejection_floor(scores, 1.0) == 0.08
    assert rejection_floor([], 0.5) == 0.0


def test_threshold_rule_is_pasas_p_true_above_half() -> None:
    papers = [("a", [found(USER, 1)], 0.4), ("b", [found(USER, 2)], 0.7), ("c", [found(USER, 3)], None)]
    ranked = rank(state_with(papers), AgentSettings(select_rule="threshold"))
    assert [r.selected for r in ranked] == [False, True, False]


def test_threshold_rule_with_select_top_also_requires_a_top_rank() -> None:
    papers = [("a", [found(USER, 1)], 0.4), ("b", [found(USER, 2)], 0.7), ("c", [found(USER, 3)], 0.9)]
    ranked = rank(state_with(papers), AgentSettings(select_rule="threshold", select_top=2))
    assert [r.selected for r in ranked] == [False, True, False]


def test_top_unrejected_selects_the_best_k_the_selector_does_not_reject() -> None:
    # P(True) of a weak zero-shot model: all far below 0.5, only their order means something.
    scores = [0.031, 0.060, 0.020, 0.055, 0.050, 0.041, 0.044, 0.052]
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    papers = [(names[i], [found(USER, i + 1)], s) for i, s in enumerate(scores)]
    settings = AgentSettings(select_rule="top_unrejected", select_k=2, reject_quantile=0.25)
    ranked = rank(state_with(papers), settings)
    # Floor = 0.041 (the 25 % quantile): alpha (0.031) is rejected, bravo and delta are the best two left.
    assert [r.paper.title for r in ranked if r.selected] == ["bravo", "delta"]
    assert [r.paper.title for r in ranked] == names  # selection never reorders


def test_top_unrejected_selects_unscored_papers_and_nothing_is_rejected_at_quantile_zero() -> None:
    papers = [("a", [found(USER, 1)], None), ("b", [found(USER, 2)], 0.001), ("c", [found(USER, 3)], 0.9)]
    ranked = rank(state_with(papers), AgentSettings(select_rule="top_unrejected", select_k=2, reject_quantile=0))
    assert [r.selected for r in ranked] == [True, True, False]


def test_auto_rule_resolves_by_selector_model() -> None:
    auto = AgentSettings()
    assert auto.select_rule == "auto"
    assert resolve_select_rule(auto, info("embedded")).select_rule == "top_unrejected"
    assert resolve_select_rule(auto, info("SmolLM2-135M-Instruct.Q4_1")).select_rule == "top_unrejected"
    assert resolve_select_rule(auto, info("pasa-7b-selector")).select_rule == "threshold"
    explicit = AgentSettings(select_rule="threshold")
    assert resolve_select_rule(explicit, info("embedded")).select_rule == "threshold"


def test_unresolved_auto_rule_ranks_with_pasas_threshold() -> None:
    papers = [("a", [found(USER, 1)], 0.3), ("b", [found(USER, 2)], 0.6)]
    ranked = rank(state_with(papers), AgentSettings())
    assert [r.selected for r in ranked] == [False, True]


def test_selector_rank_weight_fuses_the_selectors_order_like_one_more_query() -> None:
    state = state_with([("first", [found(USER, 1)], 0.2), ("second", [found(USER, 2)], 0.8), ("third", [found(USER, 3)], None)])
    fused = rank(state, AgentSettings(selector_rank_weight=2.0))
    assert [r.paper.title for r in fused] == ["second", "first", "third"]
    # second: 1/(60+2) from the question + 2/(60+1) as the Selector's best; an unscored paper gets no term.
    assert fused[0].rank_score == pytest.approx(1 / 62 + 2 / 61)
    assert fused[2].rank_score == pytest.approx(1 / 63)
    assert [r.paper.title for r in rank(state, AgentSettings(selector_rank_weight=0.0))] == ["first", "second", "third"]


def test_auto_values_resolve_for_a_fast_reranking_selector() -> None:
    reranker = ModelInfo("local-selector", "cross-encoder", "none", None, 128, supports_logprobs=False)
    resolved = resolve_select_rule(AgentSettings(), reranker)
    assert (resolved.select_rule, resolved.selector_rank_weight, resolved.score_top) == ("top_unrejected", 1.0, 200)
    llm = resolve_select_rule(AgentSettings(), info("pasa-7b-selector"))
    assert (llm.select_rule, llm.selector_rank_weight, llm.score_top) == ("threshold", 0.0, 10)
    trained = ModelInfo("local-selector", "cross-encoder", "none", None, 128, supports_logprobs=False, rank_weight=0.25)
    assert resolve_select_rule(AgentSettings(), trained).selector_rank_weight == 0.25  # its training job's choice
    mine = resolve_select_rule(AgentSettings(selector_rank_weight=0.5, score_top=50), reranker)
    assert (mine.selector_rank_weight, mine.score_top) == (0.5, 50)  # a user's own choice is kept
