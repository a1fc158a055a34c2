"""How alike two titles are, and whether a known title occurs inside a raw bibliography string.

Both work on PaSa's title key (lower-case ASCII letters only), so punctuation, LaTeX braces, hyphenation
and accents do not matter. Used to verify every title-based match before it is accepted.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from engine.papers import normalise_title


def title_similarity(a: str, b: str) -> float:
    """0..1: 1.0 when the titles have the same key; difflib's ratio on the keys otherwise."""
    ka, kb = normalise_title(a), normalise_title(b)
    if not ka or not kb:
        return 0.0
    if ka == kb:
        return 1.0
    return SequenceMatcher(None, ka, kb, autojunk=False).ratio()


def containment(title: str, raw: str) -> float:
    """0..1: how much of `title`'s key occurs, nearly contiguously, inside `raw`'s key.

    1.0 is an exact substring. Otherwise the matching blocks must lie within a window barely longer than the
    title, so letters scattered across a long entry never add up to a match.
    """
    kt, kr = normalise_title(title), normalise_title(raw)
    if not kt or not kr:
        return 0.0
    if kt in kr:
        return 1.0
    blocks = [b for b in SequenceMatcher(None, kt, kr, autojunk=False).get_matching_blocks() if b.size >= 3]
    if not blocks:
        return 0.0
    best = 0.0
    # Slide over runs of blocks that fit in a window of 1.15 x the title's length in the raw string.
    for i, first in enumerate(blocks):
        matched = 0
        for block in blocks[i:]:
            if block.b + block.size - first.b > 1.15 * len(kt) + 3:
                break
            matched += block.size
        best = max(best, matched / len(kt))
    return min(best, 1.0)
