"""One search request, validated once, turned into the engine's settings in one place.

`pasa search`, `pasa eval` and the window all describe a search as a `SearchRequest` (the question, a
budget preset, budget overrides, sources, model profiles, a run to resume). `SearchRequest.plan(settings)`
is the only code that checks it (empty question, ranges, unknown source or profile: an `InputError`,
exit code 2 on the command line, a warning in the window) and the only code that builds the engine's
`AgentSettings` from it: the user's settings, with the preset's budgets (engine/agent/presets.py: a
preset sets budgets and nothing else), then the request's own overrides.

A resumed run keeps the question and agent settings it was started with (they are in its event log);
the request then only names the run, and may choose sources and profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.agent.presets import PRESET_NAMES, PresetName, apply_preset
from engine.agent.settings import AgentSettings
from engine.errors import InputError
from pasa_desktop.settings import RELEVANCE_PROFILE, Settings

# Every paper source the app knows (engine/sources through pasa_desktop/online.py).
SOURCES: tuple[str, ...] = ("local", "arxiv", "semantic_scholar", "openalex", "serper")


class SearchRequest(BaseModel):
    """What the user asked for. Empty/None fields mean "as in Settings"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: str = Field("", description="The research need, in words (ignored when resuming).")
    preset: PresetName | None = Field(None, description="Budget preset; None = the user's budgets.")
    max_seconds: float | None = Field(None, gt=0, le=86_400, description="Wall-clock budget in seconds.")
    crawler_samples: int | None = Field(None, ge=1, le=8, description="Crawler ensemble size.")
    before: date | None = Field(None, description="Date cut-off: only papers published before this date.")
    sources: tuple[str, ...] = Field((), description="Paper sources; empty = Settings' enabled sources.")
    crawler_profile: str = Field("", description="Model profile for the Crawler; empty = Settings'.")
    selector_profile: str = Field("", description="Model profile for the Selector; empty = Settings'.")
    # A run id is an SQLite integer: a larger number is refused here, not by an OverflowError in the query.
    resume_run: int | None = Field(None, ge=1, le=2**63 - 1, description="A run to resume (its question stands).")

    @classmethod
    def make(cls, **fields: Any) -> SearchRequest:
        """Build a request from loose values (command-line options, widget values): bad values are an
        InputError naming the field, never a pydantic traceback."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise InputError(_validation_message(exc), hint="pasa search --help") from None

    def plan(self, settings: Settings) -> SearchPlan:
        """Check the request against `settings` and build what the search runs with."""
        query = " ".join(self.query.split())
        if self.resume_run is None and not query:
            raise InputError("the research query is empty", hint="describe the papers you are looking for")
        sources = list(dict.fromkeys(self.sources or settings.sources.enabled))
        unknown = [s for s in sources if s not in SOURCES]
        if unknown:
            raise InputError(f"unknown paper source {unknown[0]!r}", hint=f"known: {', '.join(SOURCES)}")
        if not sources:
            raise InputError("no paper source is chosen", hint="enable `local` or an online source")
        known_profiles = {p.name for p in settings.profiles} | {"embedded", RELEVANCE_PROFILE}  # built-in ones
        crawler = self.crawler_profile or settings.crawler_profile
        selector = self.selector_profile or settings.selector_profile
        for name in dict.fromkeys((crawler, selector)):
            if name not in known_profiles:
                raise InputError(
                    f"no model profile named {name!r}", hint=f"known: {', '.join(sorted(known_profiles))}"
                )
        if self.preset is not None and self.preset not in PRESET_NAMES:  # only a model_construct'ed request
            raise InputError(f"unknown preset {self.preset!r}", hint=f"known: {', '.join(PRESET_NAMES)}")
        agent = apply_preset(settings.agent, self.preset)
        overrides: dict[str, Any] = {}
        if self.max_seconds is not None:
            overrides["max_seconds"] = self.max_seconds
        if self.crawler_samples is not None:
            overrides["crawler_samples"] = self.crawler_samples
        if self.before is not None:
            overrides["before"] = self.before
        if overrides:
            agent = AgentSettings.model_validate({**agent.model_dump(), **overrides})
        app = settings.model_copy(
            update={
                "sources": settings.sources.model_copy(update={"enabled": sources}),
                "crawler_profile": crawler,
                "selector_profile": selector,
            }
        )
        return SearchPlan(self, query, agent, app)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """A checked request: the question, the engine's settings and the app settings to run with."""

    request: SearchRequest
    query: str
    agent: AgentSettings
    settings: Settings  # sources and profiles of the request applied

    @property
    def sources(self) -> list[str]:
        return list(self.settings.sources.enabled)

    @property
    def resume_run(self) -> int | None:
        return self.request.resume_run


# How the command line names a request's fields (the window's widgets cannot produce a bad value).
_OPTIONS = {"query": "the query", "resume_run": "--resume", "sources": "--source", "crawler_profile": "--crawler-model",
            "selector_profile": "--selector-model"}


def _validation_message(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = error.get("loc", ())
    field = str(loc[0]) if loc else "request"
    option = _OPTIONS.get(field, "--" + field.replace("_", "-"))
    return f"{option}: {error.get('msg', 'invalid value')} (got {error.get('input')!r})"
