"""Acronyms the index's own abstracts define ("graph neural networks (GNNs)"), used to spell out the
short forms a question uses.

Why: research questions are full of acronyms ("global convergence of GD", "GCNs for activity
recognition", "pixel-wise weights for WB presets"), while the papers that answer them often spell
the words out, or define the acronym once and use it in a way BM25 cannot connect to the question.
A keyword engine only meets such a paper through the long form. The table is mined once, when the
index's BM25F postings are written, from every "long form (ACRONYM)" whose long form's initials
spell the acronym, so it knows exactly the vocabulary of the corpus the user searches; no model
and no list written by hand. Measured in benchmarks/RESULTS.md (§1.8); the thresholds were chosen
on train.jsonl.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# "(GNNs)", "(ICL)", "(ROI)": at least two capitals; a lower-case plural "s" is not part of it.
_DEFINED = re.compile(r"\(\s*([A-Z][A-Za-z0-9-]{0,14}?)(s?)\s*\)")
_ACRONYM_IN_TEXT = re.compile(r"\b([A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*?)s?\b")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_SMALL = frozenset({"of", "the", "and", "for", "a", "an", "to", "in", "on", "with", "by", "via", "from"})
_LOOKBACK_CHARS = 160
MIN_COUNT = 2
MIN_SHARE = 0.6


def _letters(acronym: str) -> list[str]:
    return [c.lower() for c in acronym if c.isalpha() and c.isupper()]


def long_form(words: list[str], acronym: str) -> str | None:
    """The words ending `words` whose initials spell `acronym`'s capitals (hyphenated parts count as
    words, small words may be skipped inside but not at the start), lower-cased; None if none do."""
    letters = _letters(acronym)
    if len(letters) < 2:
        return None
    parts: list[tuple[str, int]] = []  # (part, index of the word it came from)
    for i, word in enumerate(words):
        parts.extend((part, i) for part in re.split(r"[-'’]", word) if part)
    for size in range(len(letters), min(len(letters) + 3, len(parts)) + 1):
        segment = parts[-size:]
        initials = [part[0].lower() for part, _ in segment]
        content = [part[0].lower() for part, _ in segment if part.lower() not in _SMALL]
        if initials == letters or (content == letters and segment[0][0].lower() not in _SMALL):
            first = segment[0][1]
            return " ".join(words[first:]).lower()
    return None


def _singular(word: str) -> str:
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _key(form: str) -> str:
    """Spelling variants of one long form count together: hyphens, case, plurals."""
    return " ".join(_singular(word) for word in re.findall(r"[a-z0-9]+", form.lower()))


def mine(abstracts: Iterable[str]) -> dict[str, tuple[str, int, int]]:
    """acronym -> (its most common long form, how often that form defines it, all its definitions)."""
    forms: defaultdict[str, Counter[str]] = defaultdict(Counter)
    spelled: dict[tuple[str, str], str] = {}
    for text in abstracts:
        if "(" not in text:
            continue
        for match in _DEFINED.finditer(text):
            acronym = match.group(1)
            if len(_letters(acronym)) < 2:
                continue
            before = text[max(0, match.start() - _LOOKBACK_CHARS) : match.start()]
            words = _WORD.findall(before)[-10:]
            found = long_form(words, acronym)
            if found:
                key = _key(found)
                forms[acronym][key] += 1
                spelled.setdefault((acronym, key), found)
    table: dict[str, tuple[str, int, int]] = {}
    for acronym, counts in forms.items():
        key, count = counts.most_common(1)[0]
        table[acronym] = (spelled[(acronym, key)], count, sum(counts.values()))
    return table


def write(table: Mapping[str, tuple[str, int, int]], path: Path) -> None:
    path.write_text(json.dumps(table, sort_keys=True), encoding="utf-8")


def read(path: Path) -> dict[str, tuple[str, int, int]]:
    """The mined table `write` wrote; ValueError (as for any damaged postings file) when it is not one."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    try:
        return {str(k): (str(v[0]), int(v[1]), int(v[2])) for k, v in raw.items()}
    except (AttributeError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not an acronym table ({exc})") from exc


def merge(
    base: Mapping[str, tuple[str, int, int]], delta: Mapping[str, tuple[str, int, int]]
) -> dict[str, tuple[str, int, int]]:
    """The table of both corpora, as far as two tables can tell: an acronym's definitions add up, and
    its most common long form is the one seen most often in either (a table keeps only its best form,
    so a form that is second in both is not counted; a full build recounts exactly)."""
    out = dict(base)
    for acronym, (form, count, total) in delta.items():
        if acronym not in out:
            out[acronym] = (form, count, total)
            continue
        old_form, old_count, old_total = out[acronym]
        if _key(old_form) == _key(form):
            out[acronym] = (old_form, old_count + count, old_total + total)
        elif count > old_count:
            out[acronym] = (form, count, old_total + total)
        else:
            out[acronym] = (old_form, old_count, old_total + total)
    return out


@dataclass(frozen=True, slots=True)
class AcronymTable:
    """The acronyms an index defines, reliably enough to spell them out: the most common long form
    is seen at least `MIN_COUNT` times and is at least `MIN_SHARE` of all the acronym's definitions
    ("VQA" is "visual question answering" 272 of 304 times; an acronym with rival meanings is left alone)."""

    forms: Mapping[str, str]

    @classmethod
    def from_mined(
        cls, table: Mapping[str, tuple[str, int, int]], min_count: int = MIN_COUNT, min_share: float = MIN_SHARE
    ) -> AcronymTable:
        forms = {
            acronym: form
            for acronym, (form, count, total) in table.items()
            if count >= min_count and count >= min_share * total
        }
        return cls(forms)

    @classmethod
    def load(cls, path: Path, min_count: int = MIN_COUNT, min_share: float = MIN_SHARE) -> AcronymTable:
        """ValueError (as for any damaged postings file) when the file is not a table `write` made."""
        return cls.from_mined(read(path), min_count, min_share)

    def long_forms(self, text: str) -> list[str]:
        """Long forms of the acronyms `text` uses and does not already spell out, in order."""
        plain = " " + _key(text) + " "
        out: list[str] = []
        for match in _ACRONYM_IN_TEXT.finditer(text):
            form = self.forms.get(match.group(1))
            if form and f" {_key(form)}" not in plain and form not in out:
                out.append(form)
        return out

    def expand(self, text: str) -> str:
        """`text` with the long forms of its acronyms appended; "" when there is nothing to add."""
        forms = self.long_forms(text)
        return f"{text} {' '.join(forms)}" if forms else ""
