"""Deterministic query variants of the user's question, fused with the Crawler's queries.

A small untuned Crawler writes poor queries, so the search session also runs forms of the question
itself that rank differently from plain BM25 over its words. Which variants are on by default is
decided by benchmarks/quality.py on the dev queries (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import re
from itertools import pairwise

from engine.sources.local_index import query_terms


def phrase_variant(question: str) -> str:
    """Adjacent content-word pairs as quoted phrases: rewards papers using the question's wording."""
    terms = query_terms(question)
    pairs = [f'"{a} {b}"' for a, b in pairwise(terms)]
    return " ".join(pairs)


def question_variants(question: str) -> list[str]:
    variants = [phrase_variant(question)]
    return [v for v in variants if v.strip()]


_NEGATION = re.compile(
    r"\b(?:not|excluding|except|rather than|other than|instead of)\b(?!-)[^,.;:?!()]*",
    re.IGNORECASE,
)


def retrieval_text(query: str) -> str:
    """The text sent to keyword sources: negated clauses ("…, not gradient accumulation") removed,
    since a keyword engine would otherwise rank exactly the excluded topic highest."""
    stripped = _NEGATION.sub(" ", query)
    stripped = " ".join(stripped.split())
    return stripped if query_terms(stripped) else query
