"""The budget texts call the question's variants what they are: spelling variants of the question (hyphens
split, a parenthesised abbreviation dropped), not rephrasings; most questions have none."""

from __future__ import annotations

from engine.agent.presets import PRESET_NAMES, apply_preset, describe_budgets
from engine.agent.queries import question_variants
from engine.agent.settings import AgentSettings
from engine.papers import normalise_title


def test_variants_are_spelling_variants_and_the_text_says_so() -> None:
    assert question_variants("papers that use coded computation against stragglers in distributed training") == []
    question = "pixel-wise segmentation with graph convolutional networks (GCN)"
    for variant in question_variants(question):
        # The same words (maybe fewer), in the same order: no paraphrase.
        assert normalise_title(variant) in normalise_title(question.replace("-", " "))
    for name in PRESET_NAMES:
        for crawler in (True, False):
            text = describe_budgets(apply_preset(AgentSettings(), name), fulltext=True, crawler_queries=crawler)
            assert "spelling variants" in text and "rephras" not in text
