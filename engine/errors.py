"""The engine's small error tree. Third-party errors are translated into these at the boundary."""

from __future__ import annotations


class PasaError(Exception):
    """Base of every error the engine raises on purpose. `hint` names the setting or command that fixes it."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(PasaError):
    """A setting is missing or wrong (model path, index path, API key)."""


class InputError(PasaError):
    """The user's input cannot be used (an empty query, an unreadable file)."""


class ModelError(PasaError):
    """A model backend failed to load or to answer."""


class SourceError(PasaError):
    """A paper source failed. `retriable` says whether trying again later may help."""

    def __init__(self, source: str, message: str, *, retriable: bool = False, hint: str = "") -> None:
        super().__init__(f"{source}: {message}", hint=hint)
        self.source = source
        self.retriable = retriable


class SourceOffline(SourceError):
    """The source cannot be reached at all (no network, DNS failure, connection refused)."""


class FullTextError(PasaError):
    """A full text could not be obtained or parsed (missing HTML, corrupt or encrypted PDF)."""
