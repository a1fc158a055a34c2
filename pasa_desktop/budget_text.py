"""What the budget presets really run with this configuration, in words: the window's budget
tooltips and `pasa search --help` come from here, and both from engine/agent/presets.py's table.

The configuration decides three things a preset's numbers alone do not: whether citation expansion
can run (a full-text source, pasa_desktop/fulltext_sources.py), whether the Crawler writes queries
(engine/agent/crawler.py: not the embedded model, by default), and whether a fast re-ranking Selector
raises the number of papers scored.
"""

from __future__ import annotations

from engine.agent.crawler import crawler_writes_queries_for
from engine.agent.presets import PRESET_NAMES, PresetName, preset_tooltip, presets_help
from engine.models.profiles import ModelProfile
from pasa_desktop.fulltext_sources import fulltext_available
from pasa_desktop.settings import Settings, settings_file

# Profile kinds whose Selector re-ranks the pool (engine/agent/ranking.is_reranker): the search raises
# score_top to ranking.RERANK_TOP for them.
RERANK_KINDS = ("cross-encoder", "relevance")


def _profile(settings: Settings, name: str) -> ModelProfile | None:
    try:
        return settings.profile(name)
    except Exception:  # an unknown profile name: the search itself reports it; the text must not fail
        return None


def _rerank_top(settings: Settings) -> int:
    profile = _profile(settings, settings.selector_profile)
    if profile is None or profile.kind not in RERANK_KINDS:
        return 0
    from engine.agent.ranking import RERANK_TOP

    return RERANK_TOP


def _crawler_queries(settings: Settings) -> bool:
    profile = _profile(settings, settings.crawler_profile)
    if profile is None:
        return True
    return crawler_writes_queries_for(settings.agent, profile.kind, profile.path or profile.model)


def preset_tooltips(settings: Settings, sources: list[str] | None = None) -> dict[PresetName, str]:
    """Each budget button's tooltip for these settings (`sources`: the search's, else the settings')."""
    fulltext = fulltext_available(settings, sources)
    crawler, rerank = _crawler_queries(settings), _rerank_top(settings)
    return {
        name: preset_tooltip(name, settings.agent, fulltext=fulltext, crawler_queries=crawler, rerank_top=rerank)
        for name in PRESET_NAMES
    }


def preset_help(settings: Settings) -> str:
    """`--preset` help for `pasa search`, as the saved settings would run each preset."""
    return presets_help(
        settings.agent,
        fulltext=fulltext_available(settings),
        crawler_queries=_crawler_queries(settings),
        rerank_top=_rerank_top(settings),
    )


def saved_settings_quietly() -> Settings:
    """The saved settings for help text: never moves a broken file aside (load_settings does), since
    printing `--help` must change nothing; defaults when the file is missing or unreadable."""
    try:
        return Settings.model_validate_json(settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
