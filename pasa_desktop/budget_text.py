"""What the budget presets really run with this configuration, in words: the window's budget
tooltips and `pasa search --help` come from here, and both from engine/agent/presets.py's table.

The configuration decides four things a preset's numbers alone do not: whether citation expansion
can run (a full-text source, pasa_desktop/fulltext_sources.py), whether the Crawler writes queries
(engine/agent/crawler.py: not the embedded model, by default), whether any Selector is ready (the
default relevance Selector is not until its first-use preparation ends: a search then scores nothing),
and how many papers the Selector scores at least (engine/agent/ranking.resolve_select_rule raises
score_top to the pool the relevance Selector recorded, or to 200 for a re-ranking cross-encoder).
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.agent.crawler import crawler_writes_queries_for
from engine.agent.presets import PRESET_NAMES, PresetName, preset_tooltip, presets_help
from engine.models.profiles import ModelProfile
from pasa_desktop.fulltext_sources import fulltext_available
from pasa_desktop.settings import Settings, settings_file


def _profile(settings: Settings, name: str) -> ModelProfile | None:
    try:
        return settings.profile(name)
    except Exception:  # an unknown profile name: the search itself reports it; the text must not fail
        return None


def _selector_scoring(settings: Settings) -> tuple[bool, int]:
    """(whether a search started now has a Selector, the least number of papers it scores), as
    engine/agent/ranking.resolve_select_rule will resolve them once the model is loaded: the relevance
    Selector's recorded pool under select_rule auto; ranking.RERANK_TOP for a cross-encoder (it records
    no pool) whose rank weight is automatic; else score_top alone (0)."""
    profile = _profile(settings, settings.selector_profile)
    if profile is None:
        return True, 0
    if profile.kind == "relevance":
        from pasa_desktop import selector_setup

        if selector_setup.awaits_preparation(settings):
            return False, 0
        if settings.agent.select_rule != "auto":
            return True, 0
        directory = Path(os.path.expanduser(profile.path)) if profile.path else selector_setup.relevance_dir()
        return True, selector_setup.recorded_score_top(directory) or 0
    if profile.kind == "cross-encoder" and settings.agent.selector_rank_weight is None:
        from engine.agent.ranking import RERANK_TOP

        return True, RERANK_TOP
    return True, 0


def _crawler_queries(settings: Settings) -> bool:
    profile = _profile(settings, settings.crawler_profile)
    if profile is None:
        return True
    return crawler_writes_queries_for(settings.agent, profile.kind, profile.path or profile.model)


def preset_tooltips(settings: Settings, sources: list[str] | None = None) -> dict[PresetName, str]:
    """Each budget button's tooltip for these settings (`sources`: the search's, else the settings')."""
    fulltext = fulltext_available(settings, sources)
    crawler, (scoring, rerank) = _crawler_queries(settings), _selector_scoring(settings)
    return {
        name: preset_tooltip(name, settings.agent, fulltext=fulltext, crawler_queries=crawler, rerank_top=rerank,
                             scoring=scoring)
        for name in PRESET_NAMES
    }


def preset_help(settings: Settings) -> str:
    """`--preset` help for `pasa search`, as the saved settings would run each preset."""
    scoring, rerank = _selector_scoring(settings)
    return presets_help(
        settings.agent,
        fulltext=fulltext_available(settings),
        crawler_queries=_crawler_queries(settings),
        rerank_top=rerank,
        scoring=scoring,
    )


def saved_settings_quietly() -> Settings:
    """The saved settings for help text: never moves a broken file aside (load_settings does), since
    printing `--help` must change nothing; defaults when the file is missing or unreadable."""
    try:
        return Settings.model_validate_json(settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
