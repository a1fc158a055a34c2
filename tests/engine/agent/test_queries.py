"""Deterministic query variants of the question, and the text sent to keyword sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.agent.queries import (
    DEFAULT_VARIANTS,
    VARIANTS,
    adjacent_pairs_variant,
    no_abbreviation_variant,
    phrase_variant,
    question_variants,
    retrieval_text,
    runs_variant,
    split_words_variant,
    trigram_variant,
    variants_of,
)
from engine.sources.local_index import LocalIndex, build_index

Q = "What studies have shown the global convergence of Gradient Descent (GD) for two-layer networks?"


def test_retrieval_text_drops_negated_clauses() -> None:
    text = "papers that use coded computation against stragglers in distributed training, not gradient accumulation"
    assert retrieval_text(text) == "papers that use coded computation against stragglers in distributed training,"
    assert retrieval_text("graph networks rather than transformers; for molecules") == "graph networks ; for molecules"


def test_retrieval_text_keeps_method_names_and_never_empties_a_query() -> None:
    assert retrieval_text("learning without forgetting for continual learning") == (
        "learning without forgetting for continual learning"
    )
    assert retrieval_text("not-so-deep networks") == "not-so-deep networks"
    assert retrieval_text("not the") == "not the"


def test_phrase_variant_pairs_consecutive_content_words() -> None:
    assert phrase_variant(Q) == (
        '"global convergence" "convergence gradient" "gradient descent" "descent gd" "gd two-layer" '
        '"two-layer networks"'
    )


def test_adjacent_pairs_and_runs_follow_the_question_as_written() -> None:
    assert adjacent_pairs_variant(Q) == '"global convergence" "gradient descent" "descent gd" "two-layer networks"'
    assert runs_variant(Q) == '"global convergence" "gradient descent gd" "two-layer networks"'


def test_trigram_variant() -> None:
    assert trigram_variant("graph neural network pruning") == '"graph neural network" "neural network pruning"'
    assert trigram_variant("graph pruning") == ""


def test_abbreviation_and_hyphen_variants_exist_only_when_they_change_something() -> None:
    assert no_abbreviation_variant(Q) == Q.replace(" (GD)", "")
    assert no_abbreviation_variant("graph pruning") == ""
    assert split_words_variant(Q) == Q.replace("two-layer", "two layer")
    assert split_words_variant("graph pruning") == ""


def test_variants_of_skips_empty_and_repeated_forms_and_rejects_unknown_names() -> None:
    make = variants_of(("split", "no_abbrev", "split"))
    assert make(Q) == [Q.replace("two-layer", "two layer"), Q.replace(" (GD)", "")]
    assert make("graph pruning") == []
    with pytest.raises(KeyError):
        variants_of(("nonsense",))


def test_default_variants_are_registered() -> None:
    assert set(DEFAULT_VARIANTS) <= set(VARIANTS)
    assert question_variants(Q) == variants_of(DEFAULT_VARIANTS)(Q)


def test_every_variant_is_a_valid_query_on_a_real_index(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"id": "a", "title": "Global convergence of gradient descent for two-layer networks", "abstract": "GD."},
        {"id": "b", "title": "Pixel-wise audio-visual segmentation", "abstract": "FCN (AVS) \"quoted\" NEAR *"},
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    index = LocalIndex(build_index(corpus, tmp_path / "index.sqlite").path)
    hostile = 'What (works NEAR "pixel-wise" AND * audio-visual (AVS) OR -x, not "quoted"'
    for question in (Q, hostile):
        for variant in VARIANTS.values():
            text = variant(question)
            if text:
                index.search_sync(retrieval_text(text), limit=5)  # never an FTS syntax error
    assert index.search_sync(phrase_variant(Q), limit=1)[0][0].id == "a"
    index.close()
