"""The agent's settings: budgets and ranking. Passed in explicitly, never global."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Preset = Literal["quick", "standard", "thorough"]


class AgentSettings(BaseModel):
    """Budgets follow PaSa's released defaults where they exist (5 queries, 2 expansion layers, top 20)."""

    max_queries: int = Field(5, ge=0, le=50, description="Search queries the Crawler may write per search.")
    include_user_query: bool = Field(
        True, description="Also run the user's own question as a search query (a strong retrieval signal)."
    )
    results_per_query: int = Field(100, ge=1, le=200, description="Results taken from each source per query.")
    expand_layers: int = Field(2, ge=0, le=5, description="Citation-expansion layers after the search session.")
    expand_per_layer: int = Field(20, ge=0, le=200, description="Papers expanded per layer (best first).")
    sections_per_paper: int = Field(5, ge=1, le=20, description="Sections the Crawler may pick per paper.")
    max_papers: int = Field(300, ge=1, le=10000, description="Stop adding papers beyond this many.")
    max_seconds: float = Field(180.0, gt=0, description="Wall-clock budget in seconds; the search ends truncated.")
    score_top: int = Field(
        10, ge=0, le=10000, description="Only the best this-many papers by retrieval are sent to the Selector."
    )
    select_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Selected iff the Selector's P(True) exceeds this."
    )
    selector_weight: float = Field(
        0.0, ge=0.0, le=10.0, description="Weight of the Selector's P(True) in the rank score (see ranking.py)."
    )
    selector_rank_weight: float | None = Field(
        None,
        ge=0.0,
        le=10.0,
        description="Weight of the Selector's rank among scored papers in the rank score (reciprocal-rank fusion, "
        "see ranking.py). None = auto: for a fast re-ranking Selector (a trained cross-/bi-encoder) the weight "
        "its training job chose (else 1.0), with score_top raised to 200; 0 for an LLM Selector.",
    )
    select_top: int = Field(
        0, ge=0, le=1000, description="Also require a selected paper to rank in the top-N (0 = no limit)."
    )
    select_rule: Literal["auto", "threshold", "top_unrejected"] = Field(
        "auto",
        description="threshold: PaSa's P(True) > select_threshold (a trained Selector such as pasa-7b); "
        "top_unrejected: the best select_k papers the Selector does not clearly reject (the embedded "
        "zero-shot model); auto: the rule a calibrated Selector recorded with itself (the default relevance "
        "Selector: its threshold and minimum, chosen on held-out training queries), top_unrejected for the "
        "embedded model, threshold for any other. See engine/agent/ranking.py.",
    )
    select_k: int = Field(1, ge=1, le=1000, description="top_unrejected: how many papers to select.")
    select_min: int = Field(
        0,
        ge=0,
        le=1000,
        description="threshold: when fewer papers pass the threshold, also select the best-ranked ones up to this "
        "many (0 = none). Set from the Selector's recorded rule under select_rule=auto.",
    )
    selector_calibrated: bool = Field(
        False,
        description="Set by the search for a Selector whose score is a calibrated probability (the relevance "
        "Selector): plots and counts may then read P as a probability. Not a user choice.",
    )
    reject_quantile: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="top_unrejected: a paper whose P(True) is below this quantile of the search's scores is rejected.",
    )
    rrf_k: float = Field(60.0, gt=0, le=1000, description="K of the reciprocal-rank fusion (see ranking.py).")
    variant_weight: float = Field(
        0.6, ge=0.0, le=10.0, description="Fusion weight of the question's deterministic variants (queries.py)."
    )
    crawler_weight: float = Field(0.3, ge=0.0, le=10.0, description="Fusion weight of Crawler-written queries.")
    crawler_max_tokens: int = Field(160, ge=16, le=2048, description="Token budget of one Crawler reply.")
    abstract_chars: int = Field(1500, ge=100, le=20000, description="Abstracts are cut to this many characters.")
    before: date | None = Field(None, description="Date cut-off: only papers published before this date.")
    seed: int = Field(0, description="Sampling seed for the Crawler (greedy decoding ignores it).")
    crawler_samples: int = Field(
        1, ge=1, le=8, description="Crawler ensemble: run the search session this many times and union queries."
    )
    crawler_queries: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Whether the Crawler model writes search queries (up to max_queries). auto: not for the "
        "embedded SmolLM2 Crawler, whose queries measured no better than none (benchmarks/RESULTS.md §1.10); "
        "on for any other Crawler model. See engine/agent/crawler.py.",
    )

    @classmethod
    def preset(cls, name: Preset) -> AgentSettings:
        """The default settings with a preset's budgets (the table is engine/agent/presets.py). To keep a
        user's other settings, use `presets.apply_preset(their_settings, name)` instead."""
        from engine.agent.presets import apply_preset  # presets imports this module

        return apply_preset(cls(), name)
