"""Settings → Test model calls a Selector's score a calibrated P(cited) only for the relevance Selector;
an LLM's is its P(True), as `pasa models check` prints it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ui.model_test import describe_report


def _report(kind: str) -> dict[str, object]:
    return {"profile": "p", "kind": kind, "where": "x", "load_seconds": 1.0,
            "selector": {"scores": [0.8, 0.3], "decisions_right": 2, "seconds": 0.5}}


def test_only_the_relevance_selector_reads_as_a_probability_of_relevance() -> None:
    assert "P(cited), calibrated, 0.800" in describe_report(_report("relevance"), True)
    for kind in ("gguf", "embedded", "openai", "transformers"):
        text = describe_report(_report(kind), True)
        assert "P(True) 0.800" in text and "P(cited)" not in text
