"""How the agent ranks and selects what it found. Every constant is measured in benchmarks/RESULTS.md (§1).

Rank score (weighted reciprocal-rank fusion, then the Selector as far as it helps):

    rank_score(p) = Σ_queries     w(origin of q) / (K + rank_q(p))
                  + Σ_expansions  W_EXP / (K + position in the citing section's bibliography order)
                  + selector_weight · P_selector(p)                  (0 when the paper was not scored)
                  + selector_rank_weight / (K + rank of p by P_selector among the scored papers)

    w(user) = 1 (the question itself), w(planner) = variant_weight (deterministic variants of the
    question, engine.agent.queries), w(crawler) = crawler_weight; K = rrf_k. A query counts once per
    paper even when it was sent to several sources.

Selection (`AgentSettings.select_rule`):

- "threshold" — PaSa's rule: selected iff P(True) > select_threshold (0.5). Right for a trained
  Selector such as pasa-7b-selector, whose P(True) is calibrated. With `select_top` > 0 a selected
  paper must also rank in the top `select_top`.
- "top_unrejected" — for a weak zero-shot Selector (the embedded SmolLM2-135M puts P(True) between
  0.03 and 0.07 on almost every paper, so a fixed threshold selects nothing or everything): the
  first `select_k` papers by rank score that the Selector does not clearly reject. A paper is
  clearly rejected when its P(True) is below the `reject_quantile` quantile of the P(True) values in
  the same search (rank-relative, so it needs no calibration). An unscored paper is not rejected.
  Measured on the 104 dev queries (benchmarks/RESULTS.md (§1)): the embedded model's P(True)
  lies in 0.008–0.146 (never above 0.5, so PaSa's rule selects nothing: precision 0); rejecting
  the bottom quarter, half or three quarters lowers precision at k=1 (0.173 → 0.163, 0.125, 0.067)
  and any selector_weight > 0 lowers it further, so the defaults are select_k=1, reject_quantile=0,
  selector_weight=0: the selected paper is the best by fused retrieval rank (precision 0.173).
  A better zero-shot Selector can earn a say by raising reject_quantile where that measures better.
- No Selector (a ModelInfo with backend "none": the default relevance Selector before its first-use
  preparation is done) — nothing is scored and nothing selected, whatever the rule; the order is retrieval's.
- "auto" — the Selector's own recorded rule when it records one (the default relevance Selector,
  engine/models/relevance.py: "threshold" at the calibrated threshold and minimum count its training
  job chose to maximise F1 on held-out training queries, with `select_min`); "top_unrejected" when the
  Selector is the embedded model or a fast re-ranker without a rule, "threshold" for any other; the
  loop resolves it with `resolve_select_rule` once it knows the Selector model. Unresolved, `rank`
  applies "threshold", PaSa's rule.

With "threshold", `select_min` > 0 also selects the best-ranked scored papers the threshold left out,
up to that many (a question always gets an answer when the model recorded that this pays).

A fast re-ranking Selector (backend "cross-encoder": the MiniLM model `pasa train local-selector`
makes, ~0.02 s a paper) scores far more papers than an LLM can, and its *rank* is fused like one more
query: `score_top` auto → 200, `selector_rank_weight` auto → the weight its training job chose on
held-out *training* queries (`rank_weight` in the checkpoint; 1.0 when absent). It was trained on
gold lists that are incomplete (train.jsonl's `n_gold_total` exceeds the gold present), so its
P > 0.5 is loose (~20 papers selected per query, precision 0.03): it selects like the embedded model,
the best `select_k` papers by fused rank. Measured in benchmarks/RESULTS.md (§1.6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.agent.settings import AgentSettings
from engine.agent.state import RunState
from engine.events import FoundBy, RankedPaper
from engine.models.base import NO_SELECTOR_BACKEND, ModelInfo

W_USER = 1.0
W_EXP = 0.3
RERANK_WEIGHT = 1.0
RERANK_TOP = 200
_DEFAULTS = AgentSettings()


def is_embedded_selector(info: ModelInfo) -> bool:
    """The packaged zero-shot model (profile kind `embedded`, or the SmolLM2 GGUF by file name)."""
    name = info.name.lower()
    return name == "embedded" or "smollm" in name


def is_reranker(info: ModelInfo) -> bool:
    """A Selector fast enough to re-rank the pool (not an LLM): the trained cross-/bi-encoder, or the
    calibrated relevance model (engine/models/relevance.py)."""
    return info.backend in ("cross-encoder", "relevance")


def records_rule(info: ModelInfo) -> bool:
    """A calibrated Selector that recorded its own selection rule (chosen on held-out training queries)."""
    return info.calibrated and info.select_threshold is not None


def resolve_select_rule(settings: AgentSettings, selector: ModelInfo) -> AgentSettings:
    """`settings` with its "auto" values (select_rule, selector_rank_weight) made concrete for this Selector.

    A Selector that records its rule (the relevance model) gets exactly that rule: PaSa's threshold on
    its calibrated P at the recorded value, the recorded minimum count, and at least the pool size it
    was calibrated on scored (`score_top`), so what the app selects is what its training measured."""
    if selector.backend == NO_SELECTOR_BACKEND:
        # No Selector (the default one is still being prepared): nothing is scored and nothing is
        # selected, rather than a score from a model that measures useless (the embedded SmolLM2's
        # P(True): AUC 0.5) or a "selected" that only means rank #1. The ranking is retrieval's.
        return settings.model_copy(update={
            "selector_calibrated": False, "score_top": 0, "select_rule": "threshold", "select_min": 0,
            "selector_weight": 0.0, "selector_rank_weight": 0.0,
        })
    update: dict[str, object] = {"selector_calibrated": selector.calibrated}
    fast = is_reranker(selector)
    if settings.select_rule == "auto":
        if records_rule(selector):
            update["select_rule"] = "threshold"
            update["select_threshold"] = selector.select_threshold
            update["select_min"] = selector.select_min or 0
            if selector.score_top:
                update["score_top"] = max(settings.score_top, selector.score_top)
        else:
            update["select_rule"] = "top_unrejected" if is_embedded_selector(selector) or fast else "threshold"
    if settings.selector_rank_weight is None:
        weight = selector.rank_weight if selector.rank_weight is not None else RERANK_WEIGHT
        update["selector_rank_weight"] = weight if fast else 0.0
        if fast and not selector.score_top:
            update["score_top"] = max(settings.score_top, RERANK_TOP)
    return settings.model_copy(update=update)


def papers_to_score(found: int, scored: int, score_top: int | None) -> int | None:
    """How many papers the Selector will have scored once the scoring under way ends (what a progress bar
    runs to): the best `score_top` of those found (every paper found when the run did not say), or more
    when a later expansion layer scored papers that rose into the top. None when nothing will be scored
    (score_top 0: no Selector)."""
    if score_top == 0:
        return None
    due = min(found, score_top) if score_top is not None and score_top > 0 else found
    return max(due, scored)


def query_weight(query: str, user_query: str, origins: Mapping[str, str], settings: AgentSettings) -> float:
    """The fusion weight of one search query, by who wrote it."""
    if query == user_query:
        return W_USER
    if origins.get(query) == "planner":
        return settings.variant_weight
    return settings.crawler_weight


def retrieval_score(
    found_by: Sequence[FoundBy],
    user_query: str,
    settings: AgentSettings | None = None,
    origins: Mapping[str, str] | None = None,
) -> float:
    """The fused retrieval part of the rank score. Without `origins`, every query but the user's
    counts as a Crawler query."""
    settings = settings or _DEFAULTS
    origins = origins or {}
    k = settings.rrf_k
    score = 0.0
    seen: set[tuple[str, str]] = set()
    for how in found_by:
        ident = (how.kind, how.query or how.parent_key)
        if ident in seen:
            continue
        seen.add(ident)
        if how.kind == "query":
            score += query_weight(how.query, user_query, origins, settings) / (k + max(how.rank, 1))
        else:
            score += W_EXP / (k + max(how.rank, 1))
    return score


def retrieval_order(state: RunState, settings: AgentSettings) -> list[str]:
    """Paper keys, best fused retrieval score first (the order papers are sent to the Selector)."""
    origins = dict(state.queries)
    return sorted(
        state.papers,
        key=lambda key: retrieval_score(state.found_by.get(key, []), state.query, settings, origins),
        reverse=True,
    )


def rejection_floor(scores: Sequence[float], quantile: float) -> float:
    """P(True) below which a paper counts as clearly rejected: the `quantile` quantile of the scores
    (lower interpolation); 0 when nothing was scored or the quantile is 0."""
    if not scores or quantile <= 0.0:
        return 0.0
    ordered = sorted(scores)
    index = min(int(quantile * len(ordered)), len(ordered) - 1)
    return ordered[index]


def is_rejected(selector: float | None, floor: float) -> bool:
    """Clearly rejected by the Selector: scored, and below the search's rejection floor."""
    return selector is not None and selector < floor


def rank(state: RunState, settings: AgentSettings) -> list[RankedPaper]:
    origins = dict(state.queries)
    rank_weight = settings.selector_rank_weight or 0.0
    by_selector = sorted(state.scores, key=state.scores.__getitem__, reverse=True) if rank_weight else []
    selector_rank = {key: position for position, key in enumerate(by_selector, start=1)}
    ranked: list[RankedPaper] = []
    for key, paper in state.papers.items():
        found_by = state.found_by.get(key, [])
        selector = state.scores.get(key)
        score = retrieval_score(found_by, state.query, settings, origins)
        if selector is not None:
            score += settings.selector_weight * selector
            if key in selector_rank:
                score += rank_weight / (settings.rrf_k + selector_rank[key])
        ranked.append(
            RankedPaper(paper=paper, rank_score=score, selector_score=selector, selected=False, found_by=tuple(found_by))
        )
    ranked.sort(key=lambda r: r.rank_score, reverse=True)
    floor = rejection_floor([r.selector_score for r in ranked if r.selector_score is not None], settings.reject_quantile)
    flags: list[bool] = []
    chosen_so_far = 0
    for position, item in enumerate(ranked, start=1):
        if settings.select_rule == "top_unrejected":
            chosen = chosen_so_far < settings.select_k and not is_rejected(item.selector_score, floor)
        else:  # "threshold", and "auto" never resolved: PaSa's rule
            chosen = item.selector_score is not None and item.selector_score > settings.select_threshold
        chosen = chosen and (not settings.select_top or position <= settings.select_top)
        chosen_so_far += chosen
        flags.append(chosen)
    if settings.select_rule != "top_unrejected" and chosen_so_far < settings.select_min:
        # The recorded minimum: the best-ranked scored papers the threshold left out, up to select_min.
        for i, item in enumerate(ranked):
            if chosen_so_far >= settings.select_min or (settings.select_top and i >= settings.select_top):
                break
            if not flags[i] and item.selector_score is not None:
                flags[i] = True
                chosen_so_far += 1
    return [
        RankedPaper(
            paper=item.paper,
            rank_score=item.rank_score,
            selector_score=item.selector_score,
            selected=chosen,
            found_by=item.found_by,
        )
        for item, chosen in zip(ranked, flags, strict=True)
    ]
