"""Sub-commands added by their issue's work (see pasa_desktop/cli/main.py)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    del sub
