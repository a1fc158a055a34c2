"""How alike two titles are, and whether a known title occurs inside a raw bibliography string.

Both work on PaSa's title key (lower-case ASCII letters only), so punctuation, LaTeX braces, hyphenation
and accents do not matter. Used to verify every title-based match before it is accepted.
"""

from __future__ import annotations

import re
import unicodedata
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


# Words whose presence changes a title's meaning ("Attention is not all you need"), never ignorable.
_NEGATIONS = frozenset({"not", "no", "non", "without", "beyond", "against", "versus", "vs"})
# Words whose absence or addition a citation style may cause ("A survey ..." vs "Survey ...").
_FILLERS = frozenset({"a", "an", "the", "of", "for", "and", "on", "in", "to", "with", "via", "by", "at"})


def _title_words(title: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", normalise_title_ascii(title))


def normalise_title_ascii(title: str) -> str:
    return unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()


def _close_words(a: str, b: str) -> bool:
    """Spelling variants of one word: plural, British/American, a typo; not a different word."""
    if a in _NEGATIONS or b in _NEGATIONS:
        return False
    if a.startswith(b) or b.startswith(a):
        return abs(len(a) - len(b)) <= 2
    return a[:1] == b[:1] and SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.85


def same_words(a: str, b: str) -> bool:
    """True when two titles differ at most by punctuation, joined/split words, fillers or spelling variants.

    Letter-key similarity alone accepts an inserted "not"; this word-level check does not.
    """
    wa, wb = _title_words(a), _title_words(b)
    if "".join(wa) == "".join(wb):
        return True
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        left, right = wa[i1:i2], wb[j1:j2]
        if "".join(left) == "".join(right):
            continue  # "pre training" vs "pretraining"
        if tag == "replace" and len(left) == len(right) and all(map(_close_words, left, right)):
            continue
        if all(w in _FILLERS for w in left + right):
            continue
        return False
    return True
