"""What a calibrated Selector's probability means, in the words every view uses.

The relevance Selector (and a trained cross-encoder) learns from AutoScholarQuery-style labels: for each
question, the papers that the paper it was written from cited. Its Platt-calibrated P is therefore the
chance that this paper is one of those cited papers, not the chance that it fits the question. Read by
hand, many more fit: on 25 training questions, 34 of the 50 papers the default Selector selected met
their question while 7 had been cited, and a third of the other papers in the same pools met theirs
(benchmarks/RESULTS.md §1.12). Calling this number "P(relevant)" told users that a fitting paper at
0.04 was very likely irrelevant, and "about 2 of 20 likely relevant" where a reader finds about 7.
"""

from __future__ import annotations

CALIBRATED_SCORE = "P(cited)"
CALIBRATED_AXIS = f"{CALIBRATED_SCORE}, calibrated"
# Where a score is shown with its reason (the model's reason, `pasa search`'s legend, the Score column's tip).
CITED_CLAUSE = "the chance that a paper on this question would cite it; many that fit go uncited"
CALIBRATED_MEANING = (
    f"{CALIBRATED_SCORE} is the chance that a paper written on this question would cite this paper: the Selector was "
    "trained and calibrated on the papers such questions' authors cited. Many papers that fit a question are "
    f"never cited for it, so a low {CALIBRATED_SCORE} does not mean a paper does not fit."
)

CALIBRATED_GLOSS = f"{CALIBRATED_SCORE}: the chance that a paper on this question would cite this one; many that fit are never cited."


def expected_cited_text(expected: float, scored: int) -> str:
    """The histogram's one-line count (the sum of the calibrated probabilities), in words."""
    n = round(expected)
    papers = f"{scored} scored paper{'s' * (scored != 1)}"
    return f"About {n} of these {papers} would likely be cited for this question; more may fit it."
