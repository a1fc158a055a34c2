"""Zotero errors: what went wrong in words a user can act on."""

from __future__ import annotations

from engine.errors import PasaError


class ZoteroError(PasaError):
    """Zotero answered, but not with success (read-only library, unknown collection, bad API key)."""


class ZoteroUnavailable(ZoteroError):
    """Zotero cannot be reached at all (not running, connection refused, timed out)."""
