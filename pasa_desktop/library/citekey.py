"""Better-BibTeX-style citation keys: `auth.lower + shorttitle(3,3) + year`, a/b/c on clashes.

`vaswaniAttentionAllYou2017` for "Attention Is All You Need" (Vaswani et al., 2017). A key is
assigned once when the paper enters the library and stored, so exports are stable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from itertools import count

# Better BibTeX's default skip words (function words are left out of shorttitle).
SKIP_WORDS = frozenset(
    """a ab aboard about above across after against al along amid among an and anti around as at before
    behind below beneath beside besides between beyond but by d da das de del dell dello dei degli della
    delle dem den der des despite die do down du during ein eine einem einen einer eines el en et except
    for from gli i il in inside into is l la las le les like lo los near nor of off on onto or over past
    per plus round save since so some sur than the through to toward towards un una unas under underneath
    une unlike uno unos until up upon versus via von while with within without yet zu zum""".split()
)
_WORD = re.compile(r"[A-Za-z0-9]+")
# Letters that Unicode does not decompose into an ASCII base letter.
_TRANSLIT = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
    }
)


def _ascii(text: str) -> str:
    text = text.translate(_TRANSLIT)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def last_name(author: str) -> str:
    """ "Ashish Vaswani" → "Vaswani"; "Vaswani, Ashish" → "Vaswani"."""
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[0].strip()
    parts = author.split()
    return parts[-1] if parts else ""


def citekey_base(authors: Sequence[str], title: str, year: int | None) -> str:
    auth = "".join(_WORD.findall(_ascii(last_name(authors[0])))).lower() if authors else ""
    # Words are split on spaces; punctuation inside a word joins it ("Pre-training" → "Pretraining").
    words = ["".join(_WORD.findall(w)) for w in _ascii(title).split()]
    words = [w for w in words if w and w.lower() not in SKIP_WORDS][:3]
    short = "".join(w[:1].upper() + w[1:] for w in words)
    key = f"{auth}{short}{year if year else ''}"
    return key or "paper"


def suffix(n: int) -> str:
    """0 → "", 1 → "a" … 26 → "z", 27 → "aa" (Better BibTeX's postfix order)."""
    if n == 0:
        return ""
    letters = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def unique_citekey(base: str, taken: Callable[[str], bool]) -> str:
    for n in count():
        key = base + suffix(n)
        if not taken(key):
            return key
    raise AssertionError("unreachable")
