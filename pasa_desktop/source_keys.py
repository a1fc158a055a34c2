"""The online sources and their API keys as the app offers them, so `ui/` need not reach into engine.sources.

Keys live in the environment or the OS keyring (service "pasa-desktop"), never in settings or logs.
"""

from __future__ import annotations

from engine.sources.catalog import ONLINE_SOURCES
from engine.sources.keys import KEYRING_SERVICE, env_or_keyring

# The sources that take a key (Semantic Scholar's is optional: it raises the rate limit).
KEYED_SOURCES = ("semantic_scholar", "openalex", "serper")

__all__ = ["KEYED_SOURCES", "ONLINE_SOURCES", "key_status", "store_key"]


def store_key(name: str, key: str) -> None:
    """Store `key` for source `name` in the OS keyring; raises whatever the keyring raises (no backend)."""
    import keyring  # imported here: a broken keyring backend must not break importing the app

    keyring.set_password(KEYRING_SERVICE, name, key)


def key_status() -> dict[str, bool]:
    """Which keyed sources have a key (environment or keyring); the keys themselves are never returned."""
    return {name: bool(env_or_keyring(name)) for name in KEYED_SOURCES}
