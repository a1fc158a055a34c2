"""Application settings: nested pydantic models, stored as JSON in the user config directory.

Nothing here is global: `load_settings()` returns a value that callers pass on. Secrets (API keys)
are never stored here: see `pasa_desktop.secrets`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, ValidationError

from engine.agent.settings import AgentSettings
from engine.errors import ConfigError
from engine.models.profiles import ModelProfile
from engine.redact import redact

APP_NAME = "pasa-desktop"


def data_dir() -> Path:
    """User data directory (index, library, cache). `PASA_DATA_DIR` overrides it (tests, portable use)."""
    override = os.environ.get("PASA_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    override = os.environ.get("PASA_CONFIG_DIR") or os.environ.get("PASA_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


RELEVANCE_PROFILE = "relevance"


def relevance_profile() -> ModelProfile:
    """The built-in profile of the relevance Selector the app trains itself (in the data directory)."""
    return ModelProfile(name=RELEVANCE_PROFILE, kind="relevance", path=str(data_dir() / "selector" / "relevance"))


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
    fulltext_online: bool = Field(
        False,
        description="Fetch full texts online (arXiv HTML, then ar5iv, then the PDF) for citation expansion, "
        "also when only the offline index is searched. Always on when an online source is enabled.",
    )
    index_update_days: int = Field(
        0,
        ge=0,
        le=365,
        description="While the window is open, update the offline index from arXiv (OAI-PMH) when its last "
        "update is this many days old; 0 = only when asked (File → Update offline index).",
    )


class AppearanceSettings(BaseModel):
    theme: Literal["system", "light", "dark"] = Field(
        "system", description="Window colours: follow the system's light/dark scheme, or always light or dark."
    )


class LibrarySettings(BaseModel):
    selected_join: bool = Field(
        True,
        description="Papers the Selector selects join the library (All papers) by themselves; off: only what you "
        "keep, accept, tag, rate, collect, annotate or import.",
    )


class Settings(BaseModel):
    agent: AgentSettings = Field(default_factory=AgentSettings)
    appearance: AppearanceSettings = Field(default_factory=AppearanceSettings)
    library: LibrarySettings = Field(default_factory=LibrarySettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    sources: SourceSettings = Field(default_factory=SourceSettings)
    profiles: list[ModelProfile] = Field(default_factory=lambda: [ModelProfile()])
    crawler_profile: str = Field("embedded", description="Profile name used for the Crawler.")
    selector_profile: str = Field(
        RELEVANCE_PROFILE,
        description="Profile name used for the Selector. The default, `relevance`, is the calibrated relevance model "
        "the app trains on first use (pasa_desktop/selector_setup.py); until it is ready searches score and select nothing.",
    )

    def profile(self, name: str) -> ModelProfile:
        for p in self.profiles:
            if p.name == name:
                return p
        if name == "embedded":
            return ModelProfile()
        if name == RELEVANCE_PROFILE:
            return relevance_profile()
        known = ", ".join(p.name for p in self.profiles) or "none"
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


@dataclass
class SettingsReport:
    """What loading found wrong with the file: each problem names the file and the key."""

    path: Path
    problems: list[str] = field(default_factory=list)
    # True when the file could not be read as settings at all (every value came from the defaults).
    damaged: bool = False


def load_settings(path: Path | None = None, *, report: Callable[[str], None] | None = None) -> Settings:
    """Settings from disk, or defaults when there is no file.

    Never writes or moves anything (read-only commands run on read-only folders). An invalid value is
    dropped, reported with the file and the key, and the rest still loads; a damaged file loads as the
    defaults with a message. The file itself stays as it is until `save_settings` replaces it, which
    first keeps it as a numbered backup. Problems go to `report` (default: one line each on stderr).
    """
    settings, found = inspect_settings(path)
    say = report or _print_once
    for problem in found.problems:
        say(problem)
    return settings


def inspect_settings(path: Path | None = None) -> tuple[Settings, SettingsReport]:
    """The settings `load_settings` would return, and what it found wrong (for the GUI's notification)."""
    path = path or settings_file()
    found = SettingsReport(path)
    if path.is_dir():
        raise ConfigError(
            f"{path} is a folder, but the settings must be a file",
            hint=f"move the folder away (e.g. mv {path} {path}.folder); PaSa Desktop then starts with defaults",
        )
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        return Settings(), found
    except OSError as exc:
        raise ConfigError(
            f"cannot read the settings file {path}: {exc.strerror or exc}", hint="check its permissions"
        ) from exc
    try:
        raw = json.loads(raw_bytes.decode("utf-8"))
        if not isinstance(raw, dict):
            raise ValueError(f"the top level is {type(raw).__name__}, not an object")
    except (ValueError, RecursionError) as exc:
        found.damaged = True
        found.problems.append(
            f"settings: {path} is damaged ({_short_reason(exc)}); using the defaults for this run. The file is left "
            "as it is and kept as a numbered backup (settings.broken.N.json) before anything overwrites it"
        )
        return Settings(), found
    for _attempt in range(100):  # each pass drops at least one invalid key
        try:
            return Settings.model_validate(raw), found
        except ValidationError as exc:
            if not _drop_invalid(raw, exc, path, found):
                break
    found.damaged = True
    found.problems.append(f"settings: {path} could not be used; using the defaults for this run")
    return Settings(), found


def _short_reason(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
    return text if len(text) <= 120 else text[:119] + "…"


def _key_name(loc: tuple[int | str, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(top level)"


def _drop_invalid(raw: dict[str, Any], exc: ValidationError, path: Path, found: SettingsReport) -> bool:
    """Remove the keys `exc` names from `raw` (a missing required field drops the object holding it)."""
    dropped = False
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "missing" or not loc:
            loc = loc[:-1]
        if not loc:
            continue
        parent: Any = raw
        for part in loc[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        last = loc[-1]
        if isinstance(parent, dict) and last in parent:
            value = parent.pop(last)
        elif isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
            value = parent.pop(last)
        else:
            continue
        dropped = True
        shown = json.dumps(value, ensure_ascii=False, default=str)
        shown = shown if len(shown) <= 60 else shown[:59] + "…"
        found.problems.append(
            f"settings: {path}: {_key_name(loc)} = {redact(shown)} is invalid ({error.get('msg', 'invalid')}); "
            "using the default for it"
        )
    return dropped


_SAID: set[str] = set()


def _print_once(message: str) -> None:
    """Stderr, once per message per process (several commands load the settings more than once)."""
    if message not in _SAID:
        _SAID.add(message)
        print(f"pasa: {message}", file=sys.stderr)


def _numbered_backup(path: Path) -> Path:
    """The next free `<stem>.broken.N<suffix>` beside `path`: earlier backups are never overwritten."""
    n = 1
    while True:
        candidate = path.with_name(f"{path.stem}.broken.{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def save_settings(settings: Settings, path: Path | None = None, *, report: Callable[[str], None] | None = None) -> None:
    """Write the settings atomically, readable by the user only (0600, folder 0700).

    A file that did not load cleanly (damaged, or with values that were dropped) is first kept as
    `settings.broken.N.json`, so saving never loses what the user had written.
    """
    path = path or settings_file()
    say = report or _print_once
    _settings, found = inspect_settings(path)  # also refuses a folder where the file belongs
    try:
        private_dir(path.parent)
        if found.problems and path.exists():
            backup = _numbered_backup(path)
            shutil.copy2(path, backup)
            os.chmod(backup, 0o600)
            say(f"settings: the earlier {path.name} is kept as {backup} (it had the problems reported above)")
        write_private(path, settings.model_dump_json(indent=2).encode("utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot write the settings file {path}: {exc.strerror or exc}", hint="check the folder's permissions"
        ) from exc


def private_dir(folder: Path) -> None:
    """Create `folder` (and parents) for the user only (0700); an existing folder keeps its mode."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:  # another process made it meanwhile: leave its mode alone
            continue
        os.chmod(created, 0o700)  # mkdir's mode is filtered by the umask


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, mode 0600 (settings may name servers and key variables)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
