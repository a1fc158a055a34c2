"""Deterministic query variants of the user's question, fused with the Crawler's queries.

A small untuned Crawler writes poor queries, so the search session also runs forms of the question
itself that rank differently from plain BM25 over its words (the local index ORs every word; a
quoted phrase is matched as a phrase). Which variants run by default (`DEFAULT_VARIANTS`) is decided
by benchmarks/quality.py on the dev queries; see benchmarks/RESULTS.md (§1) for what each is worth.
The acronym variant (`variants_with`) needs the index's own table of acronym definitions
(engine/sources/acronyms.py); it was chosen on train.jsonl by benchmarks/retrieval_signals.py (§1.8).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import pairwise

from engine.sources.acronyms import AcronymTable
from engine.sources.local_index import STOPWORDS, query_terms

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_NEGATION = re.compile(
    r"\b(?:not|excluding|except|rather than|other than|instead of)\b(?!-)[^,.;:?!()]*",
    re.IGNORECASE,
)
# Parenthesised abbreviations ("Gradient Descent (GD)"): the long form is already in the question.
_ABBREVIATION = re.compile(r"\(\s*[A-Za-z][A-Za-z0-9-]{0,9}s?\s*\)")


def retrieval_text(query: str) -> str:
    """The text sent to keyword sources: negated clauses ("…, not gradient accumulation") removed,
    since a keyword engine would otherwise rank exactly the excluded topic highest."""
    stripped = _NEGATION.sub(" ", query)
    stripped = " ".join(stripped.split())
    return stripped if query_terms(stripped) else query


def _runs(question: str) -> list[list[str]]:
    """Maximal runs of consecutive content words (lower-cased), in order, as written in the question."""
    runs: list[list[str]] = [[]]
    for word in _WORD.findall(retrieval_text(question)):
        low = word.lower()
        if low in STOPWORDS or len(low) < 2:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(low)
    return [r for r in runs if r]


def _quoted(phrases: Sequence[str]) -> str:
    seen: set[str] = set()
    out: list[str] = []
    for phrase in phrases:
        if phrase not in seen:
            seen.add(phrase)
            out.append(f'"{phrase}"')
    return " ".join(out)


def phrase_variant(question: str) -> str:
    """Consecutive content words (function words dropped first) as quoted pairs: rewards papers using
    the question's wording, and still pairs words a function word separated ("convergence of GD")."""
    terms = query_terms(retrieval_text(question))
    return _quoted([f"{a} {b}" for a, b in pairwise(terms)])


def adjacent_pairs_variant(question: str) -> str:
    """Pairs of content words that are adjacent in the question as written."""
    return _quoted([f"{a} {b}" for run in _runs(question) for a, b in pairwise(run)])


def trigram_variant(question: str) -> str:
    """Triples of consecutive content words (function words dropped first) as quoted phrases."""
    terms = query_terms(retrieval_text(question))
    return _quoted([" ".join(terms[i : i + 3]) for i in range(len(terms) - 2)])


def runs_variant(question: str) -> str:
    """Each maximal run of two or more content words as one phrase (the question's noun phrases)."""
    return _quoted([" ".join(run) for run in _runs(question) if len(run) >= 2])


def no_abbreviation_variant(question: str) -> str:
    """The question without parenthesised abbreviations, whose short forms match unrelated papers."""
    text = retrieval_text(question)
    stripped = _ABBREVIATION.sub(" ", text)
    return " ".join(stripped.split()) if stripped != text else ""


def split_words_variant(question: str) -> str:
    """Hyphenated words split into separate words ("pixel-wise" matches "pixel" or "wise" alone)."""
    text = retrieval_text(question)
    return text.replace("-", " ") if "-" in text else ""


VARIANTS: dict[str, Callable[[str], str]] = {
    "bigrams": phrase_variant,
    "adjacent": adjacent_pairs_variant,
    "trigrams": trigram_variant,
    "runs": runs_variant,
    "no_abbrev": no_abbreviation_variant,
    "split": split_words_variant,
}
DEFAULT_VARIANTS: tuple[str, ...] = ("split", "no_abbrev")


def variants_of(names: Sequence[str]) -> Callable[[str], list[str]]:
    """A `SearchDeps.query_variants` function running the named variants (unknown names raise KeyError)."""
    chosen = [VARIANTS[name] for name in names]

    def make(question: str) -> list[str]:
        out: list[str] = []
        for variant in chosen:
            text = variant(question).strip()
            if text and text != question and text not in out:
                out.append(text)
        return out

    return make


def question_variants(question: str) -> list[str]:
    """The default variants of `question` (what the search loop runs beside the question itself)."""
    return variants_of(DEFAULT_VARIANTS)(question)


def acronym_variant(question: str, acronyms: AcronymTable) -> str:
    """The question with the long forms of its acronyms appended ("… GCNs …" also searches "graph
    convolutional network"), from the definitions the index's own abstracts give; "" if none apply."""
    return acronyms.expand(retrieval_text(question))


def variants_with(acronyms: AcronymTable | None) -> Callable[[str], list[str]]:
    """The default variants, plus the acronym variant when the index knows its acronyms."""

    def make(question: str) -> list[str]:
        out = question_variants(question)
        expanded = acronym_variant(question, acronyms) if acronyms is not None else ""
        if expanded and expanded not in out:
            out.append(expanded)
        return out

    return make
