"""How the agent ranks what it found. The formula, and why, is measured in benchmarks/RESULTS.md.

    rank_score(p) = Σ_queries  w(q) / (K + rank_q(p))          (weighted reciprocal-rank fusion)
                  + Σ_expansions  W_EXP / (K + position in the citing section's bibliography order)
                  + selector_weight · P_selector(p)              (0 when the paper was not scored)

The user's own question is weighted above Crawler-written queries: with the small embedded
model the Crawler's queries are noisier than the question itself. The Selector's probability is
used only as far as it measurably helps (`AgentSettings.selector_weight`, default chosen by the
dev-set measurements).
"""

from __future__ import annotations

from engine.agent.settings import AgentSettings
from engine.agent.state import RunState
from engine.events import FoundBy, RankedPaper

K = 60.0
W_USER = 1.0
W_CRAWLER = 0.6
W_EXP = 0.3


def retrieval_score(found_by: list[FoundBy], user_query: str) -> float:
    score = 0.0
    seen: set[tuple[str, str, str]] = set()
    for how in found_by:
        ident = (how.kind, how.query or how.parent_key, how.source)
        if ident in seen:
            continue
        seen.add(ident)
        if how.kind == "query":
            weight = W_USER if how.query == user_query else W_CRAWLER
            score += weight / (K + max(how.rank, 1))
        else:
            score += W_EXP / (K + max(how.rank, 1))
    return score


def rank(state: RunState, settings: AgentSettings) -> list[RankedPaper]:
    ranked: list[RankedPaper] = []
    for key, paper in state.papers.items():
        found_by = state.found_by.get(key, [])
        selector = state.scores.get(key)
        score = retrieval_score(found_by, state.query)
        if selector is not None:
            score += settings.selector_weight * selector
        ranked.append(
            RankedPaper(
                paper=paper,
                rank_score=score,
                selector_score=selector,
                selected=False,
                found_by=tuple(found_by),
            )
        )
    ranked.sort(key=lambda r: r.rank_score, reverse=True)
    out: list[RankedPaper] = []
    for position, item in enumerate(ranked, start=1):
        is_selected = item.selector_score is not None and item.selector_score > settings.select_threshold
        if settings.select_top and position > settings.select_top:
            is_selected = False
        out.append(
            RankedPaper(
                paper=item.paper,
                rank_score=item.rank_score,
                selector_score=item.selector_score,
                selected=is_selected,
                found_by=item.found_by,
            )
        )
    return out
