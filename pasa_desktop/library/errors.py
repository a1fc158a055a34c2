"""Errors the library raises on purpose (they print cleanly through the CLI's PasaError handler)."""

from __future__ import annotations

from engine.errors import PasaError


class LibraryError(PasaError):
    """The library file cannot be used as asked (not a library, newer schema, unknown run or paper)."""


class LibraryLocked(LibraryError):
    """Another process holds the library's write lock for longer than the busy timeout."""
