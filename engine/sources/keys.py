"""API keys for online sources: from an environment variable or the OS keyring, never printed or logged.

Sources take a `KeyLookup` (a function from a key name to the key or None) so the app decides where keys
come from and tests pass a plain dict's `.get`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

KeyLookup = Callable[[str], str | None]

KEYRING_SERVICE = "pasa-desktop"

# Key name -> environment variables tried in order (ours first, then the vendor's usual one).
ENV_VARS: dict[str, tuple[str, ...]] = {
    "semantic_scholar": ("PASA_S2_API_KEY", "S2_API_KEY", "SEMANTIC_SCHOLAR_API_KEY"),
    "openalex": ("PASA_OPENALEX_API_KEY", "OPENALEX_API_KEY"),
    "serper": ("PASA_SERPER_API_KEY", "SERPER_API_KEY"),
}


def no_keys(name: str) -> str | None:
    del name
    return None


def env_or_keyring(name: str) -> str | None:
    """The key for `name` from the environment, else from the OS keyring (service "pasa-desktop")."""
    for var in ENV_VARS.get(name, (f"PASA_{name.upper()}_API_KEY",)):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    try:
        import keyring  # imported here: a broken keyring backend must not break importing the engine

        stored: str | None = keyring.get_password(KEYRING_SERVICE, name)
    except Exception:
        return None
    return stored.strip() if stored else None


def mask(key: str | None) -> str:
    """What may be shown of a key: whether it is set, never its characters."""
    return "set" if key else "not set"
