"""`pasa` as a user runs it, with scripted Crawler and Selector models handed in by profile name.

Run as `python -m tests.pasa_desktop.cli.scripted_pasa search "…" --json`: the real command line (pasa_desktop.cli.main)
with `model_loader=scripted_models`. The window's search process gets the same function as its
services' `search_model_loader` (spawn sends it by name), so both routes run the same search.
PASA_TEST_SELECTOR_DELAY (seconds per paper) slows the Selector so a test can stop or kill mid-search.
"""

from __future__ import annotations

import hashlib
import os
import sys

from pasa_desktop.cli.main import main
from pasa_testing.scripted import ScriptedModel

QUERIES = " language model\n[Search] neural network training\n[Search] transformer attention\n[StopSearch]"


def _crawler_reply(prompt: str) -> str:
    if "predict which sections" in prompt:
        return "[StopExpand]"
    return QUERIES


def _score(prompt: str) -> float:
    """A fixed P(True) per title, spread over (0, 1): the same paper always gets the same score."""
    title = prompt.split("Title: ", 1)[1].split("\n", 1)[0] if "Title: " in prompt else prompt
    return int(hashlib.sha256(title.encode()).hexdigest()[:4], 16) / 0xFFFF


def scripted_models(profile: str) -> ScriptedModel:
    if profile == "selector":
        return ScriptedModel(scorer=_score, name="selector",
                             delay_s=float(os.environ.get("PASA_TEST_SELECTOR_DELAY", "0")))
    return ScriptedModel(_crawler_reply, name="crawler")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], model_loader=scripted_models))
