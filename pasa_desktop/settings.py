"""Application settings: nested pydantic models, stored as JSON in the user config directory.

Nothing here is global: `load_settings()` returns a value that callers pass on. Secrets (API keys)
are never stored here: see `pasa_desktop.secrets`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, ValidationError

from engine.agent.settings import AgentSettings
from engine.models.profiles import ModelProfile

APP_NAME = "pasa-desktop"


def data_dir() -> Path:
    """User data directory (index, library, cache). `PASA_DATA_DIR` overrides it (tests, portable use)."""
    override = os.environ.get("PASA_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    override = os.environ.get("PASA_CONFIG_DIR") or os.environ.get("PASA_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


class PathSettings(BaseModel):
    index: str = Field("", description="Offline paper index (SQLite). Empty = <data dir>/index.sqlite.")
    library: str = Field("", description="Library database (SQLite). Empty = <data dir>/library.sqlite.")
    cache: str = Field("", description="HTTP and full-text cache folder. Empty = <data dir>/cache.")
    fulltext: str = Field(
        "", description="unarXive-format full texts for offline citation expansion (PASA_FULLTEXT overrides)."
    )
    corpus: str = Field(
        "", description="JSON-lines corpus to build the offline index from on first use (PASA_CORPUS overrides)."
    )


class SourceSettings(BaseModel):
    enabled: list[str] = Field(default_factory=lambda: ["local"], description="Sources used by a search.")
    timeout_s: float = Field(20.0, gt=0, description="Per-request timeout for online sources.")
    max_retries: int = Field(3, ge=0, le=10, description="Retries on 429/5xx/timeouts, with backoff.")


class Settings(BaseModel):
    agent: AgentSettings = Field(default_factory=AgentSettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    sources: SourceSettings = Field(default_factory=SourceSettings)
    profiles: list[ModelProfile] = Field(default_factory=lambda: [ModelProfile()])
    crawler_profile: str = Field("embedded", description="Profile name used for the Crawler.")
    selector_profile: str = Field("embedded", description="Profile name used for the Selector.")

    def profile(self, name: str) -> ModelProfile:
        for p in self.profiles:
            if p.name == name:
                return p
        if name == "embedded":
            return ModelProfile()
        known = ", ".join(p.name for p in self.profiles) or "none"
        from engine.errors import ConfigError

        raise ConfigError(f"No model profile named {name!r} (known: {known})", hint="pasa models list")

    def index_path(self) -> Path:
        return Path(self.paths.index) if self.paths.index else data_dir() / "index.sqlite"

    def library_path(self) -> Path:
        return Path(self.paths.library) if self.paths.library else data_dir() / "library.sqlite"

    def cache_path(self) -> Path:
        return Path(self.paths.cache) if self.paths.cache else data_dir() / "cache"

    def corpus_path(self) -> Path | None:
        value = os.environ.get("PASA_CORPUS") or self.paths.corpus
        return Path(value) if value else None


def settings_file() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Settings from disk, or defaults. A broken file is kept aside (never silently overwritten)."""
    path = path or settings_file()
    if not path.exists():
        return Settings()
    try:
        return Settings.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError):
        backup = path.with_suffix(".broken.json")
        path.replace(backup)
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(settings.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
