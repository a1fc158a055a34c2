"""Budget presets: the one table that `pasa search --preset`, the window's budget buttons, their
tooltips and `--help` all come from.

A preset sets budgets and nothing else: `apply_preset` changes only the fields in `BUDGET_FIELDS`
and keeps every other setting the user chose (Selector threshold, date cut-off, fusion weights…).
"Standard" is the user's own budgets (Settings → Budgets; out of the box AgentSettings' defaults,
PaSa's released ones), so it changes nothing; Quick and Thorough replace the budgets with the
fixed values below.

`describe_budgets` says in words what a search with given settings really runs, given what is
configured: citation expansion needs a full-text source, and Crawler-written queries run only when
the Crawler writes queries (see `AgentSettings.crawler_queries`). Tooltips and `--help` are that
text, so they cannot promise what never happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from engine.agent.settings import AgentSettings

# The one notice a search gives when its budget asks for expansion but nothing can read full texts; the
# window recognises it (ui/search_panel.py), so it lives here, light to import, rather than in the loop.
NO_FULLTEXT = (
    "Citation expansion did not run: it reads the full texts of the best papers, and no full-text source is "
    "configured. Add one in Settings → Sources: the unarXive sample (offline) or an online source (arXiv "
    "HTML, ar5iv and PDFs)."
)
# Said once at the end of a search whose expansion tried papers and read none of them.
NONE_READ = (
    "Citation expansion read no paper: none of the {tried} papers it tried is in the configured full-text "
    "sources, so no citation was followed. The offline unarXive sample holds few papers; the online full "
    "texts (arXiv HTML, ar5iv and PDFs; Settings → Sources & keys) reach most arXiv papers when online."
)

PresetName = Literal["quick", "standard", "thorough"]
PRESET_NAMES: tuple[PresetName, ...] = ("quick", "standard", "thorough")

# The only fields a preset may change.
BUDGET_FIELDS: tuple[str, ...] = (
    "max_queries",
    "results_per_query",
    "expand_layers",
    "expand_per_layer",
    "score_top",
    "max_papers",
    "max_seconds",
)


@dataclass(frozen=True)
class PresetSpec:
    name: PresetName
    label: str
    # None: the user's own budgets (Settings → Budgets) are used unchanged.
    budgets: Mapping[str, int | float] | None
    purpose: str = field(default="")


PRESETS: Mapping[PresetName, PresetSpec] = MappingProxyType(
    {
        "quick": PresetSpec(
            "quick",
            "Quick",
            MappingProxyType(
                {
                    "max_queries": 3,
                    "results_per_query": 20,
                    "expand_layers": 0,
                    "expand_per_layer": 0,
                    "score_top": 30,
                    "max_papers": 300,
                    "max_seconds": 60.0,
                }
            ),
            "a first look in about a minute",
        ),
        "standard": PresetSpec("standard", "Standard", None, "your budgets from Settings → Budgets"),
        "thorough": PresetSpec(
            "thorough",
            "Thorough",
            MappingProxyType(
                {
                    "max_queries": 8,
                    "results_per_query": 100,
                    "expand_layers": 2,
                    "expand_per_layer": 20,
                    "score_top": 100,
                    "max_papers": 1000,
                    "max_seconds": 900.0,
                }
            ),
            "a longer search that reads more papers",
        ),
    }
)


def apply_preset(settings: AgentSettings, name: PresetName | str | None) -> AgentSettings:
    """`settings` with the preset's budgets; every other field is kept. None or "standard" = unchanged.

    Raises ValueError for an unknown name."""
    if name is None:
        return settings
    spec = PRESETS.get(name)  # type: ignore[call-overload]  # a plain str is looked up, then checked
    if spec is None:
        raise ValueError(f"unknown preset {name!r} (known: {', '.join(PRESET_NAMES)})")
    if spec.budgets is None:
        return settings
    return AgentSettings.model_validate({**settings.model_dump(), **spec.budgets})


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def describe_budgets(
    settings: AgentSettings, *, fulltext: bool, crawler_queries: bool = True, rerank_top: int = 0,
    scoring: bool = True,
) -> str:
    """What a search with `settings` runs, in words, given whether a full-text source is configured
    (`fulltext`), whether the Crawler writes queries (`crawler_queries`), how many papers the Selector
    scores at least (`rerank_top`: a fast re-ranker's, or the pool a calibrated Selector recorded; the
    search raises score_top to it), and whether any Selector is ready to score (`scoring`: not while the
    default one is being prepared, when a search scores and selects nothing)."""
    return "; ".join(budget_lines(settings, fulltext=fulltext, crawler_queries=crawler_queries,
                                  rerank_top=rerank_top, scoring=scoring)) + "."


def budget_lines(
    settings: AgentSettings, *, fulltext: bool, crawler_queries: bool = True, rerank_top: int = 0,
    scoring: bool = True,
) -> list[str]:
    """`describe_budgets`, one clause a line (searches, scoring, expansion, limits)."""
    parts: list[str] = []
    # The question's variants (engine/agent/queries.py) only split hyphens, drop parenthesised abbreviations
    # and spell out acronyms the index knows; most questions have none. "Rephrasings" promised paraphrases.
    if settings.max_queries and crawler_queries:
        parts.append(f"your question, its spelling variants and up to {settings.max_queries} Crawler queries")
    elif settings.max_queries:
        parts.append("your question and its spelling variants (Crawler queries off)")
    else:
        parts.append("your question and its spelling variants")
    parts[-1] += f", {settings.results_per_query} results each"
    scored = max(settings.score_top, rerank_top) if settings.score_top else 0
    if not scoring:
        parts.append("nothing scored or selected: no Selector is ready yet (the order is retrieval's)")
    elif scored:
        parts.append(f"the Selector scores the best {scored}")
    else:
        parts.append("no Selector scoring")
    if settings.expand_layers == 0 or settings.expand_per_layer == 0:
        parts.append("no citation expansion")
    elif not fulltext:
        parts.append("no citation expansion: it needs a full-text source, and none is configured")
    else:
        layers = "layer" if settings.expand_layers == 1 else "layers"
        # The best expand_per_layer papers are tried; only those a full-text source has are read (a small offline
        # sample has few of them): "of 20 papers" alone promised 20 expansions a layer.
        parts.append(f"{settings.expand_layers} citation-expansion {layers} of up to {settings.expand_per_layer} "
                     "papers (those a full-text source has)")
    parts.append(f"at most {settings.max_papers} papers and {_duration(settings.max_seconds)}")
    return parts


def preset_tooltip(
    name: PresetName, user: AgentSettings, *, fulltext: bool, crawler_queries: bool = True, rerank_top: int = 0,
    scoring: bool = True,
) -> str:
    """The budget button's tooltip: what this preset runs on top of the user's settings."""
    spec = PRESETS[name]
    lines = budget_lines(
        apply_preset(user, name), fulltext=fulltext, crawler_queries=crawler_queries, rerank_top=rerank_top,
        scoring=scoring,
    )
    # One clause a line: a Qt tooltip does not wrap plain text.
    return f"{spec.label}: {spec.purpose}. It runs:\n" + "\n".join(f"• {line}" for line in lines)


def presets_help(
    user: AgentSettings, *, fulltext: bool, crawler_queries: bool = True, rerank_top: int = 0,
    scoring: bool = True,
) -> str:
    """`--preset` help for the command line: one sentence per preset, as this configuration runs it."""
    lines = [
        f"{name}: "
        + describe_budgets(
            apply_preset(user, name), fulltext=fulltext, crawler_queries=crawler_queries, rerank_top=rerank_top,
            scoring=scoring,
        )
        for name in PRESET_NAMES
    ]
    return "budget preset (it sets budgets only; your other settings are kept; default: standard). " + " ".join(lines)


def preset_table_markdown() -> str:
    """The table as Markdown (for documentation); Standard's column shows AgentSettings' defaults."""
    default = AgentSettings()
    header = "| budget | " + " | ".join(PRESETS[n].label for n in PRESET_NAMES) + " |"
    rule = "|---" * (len(PRESET_NAMES) + 1) + "|"
    rows = [header, rule]
    for name in BUDGET_FIELDS:
        cells = []
        for preset in PRESET_NAMES:
            budgets = PRESETS[preset].budgets
            value = budgets[name] if budgets is not None else getattr(default, name)
            cells.append(f"{value:g}" if isinstance(value, float) else str(value))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
