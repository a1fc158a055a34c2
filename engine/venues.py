"""Venue names as researchers cite them: the usual short name of the big conferences, NeurIPS from 2018.

Sources spell one conference many ways ("Advances in Neural Information Processing Systems 33",
"Proceedings of the 37th International Conference on Machine Learning", "ICML 2020"); a bibliography
should say it one way. The table is small on purpose: only names whose short form is unambiguous, and
only the main conference — a workshop, "Findings" or a companion volume keeps its full name, because
citing it as the main conference would be wrong. Journals keep their names.
"""

from __future__ import annotations

import re

# Short name -> the full names (after `_key`) that mean the main conference.
_CONFERENCES: dict[str, tuple[str, ...]] = {
    "NeurIPS": ("advances in neural information processing systems", "neural information processing systems",
                "conference on neural information processing systems", "neurips", "nips"),
    "ICLR": ("international conference on learning representations", "iclr"),
    "ICML": ("international conference on machine learning", "icml"),
    "ACL": ("annual meeting of the association for computational linguistics",
            "meeting of the association for computational linguistics", "acl"),
    "EMNLP": ("conference on empirical methods in natural language processing",
              "empirical methods in natural language processing", "emnlp"),
    "NAACL": ("conference of the north american chapter of the association for computational linguistics "
              "human language technologies",
              "conference of the north american chapter of the association for computational linguistics",
              "north american chapter of the association for computational linguistics", "naacl", "naacl hlt"),
    "CVPR": ("conference on computer vision and pattern recognition", "computer vision and pattern recognition",
             "cvpr"),
    "ICCV": ("international conference on computer vision", "iccv"),
    "ECCV": ("european conference on computer vision", "eccv"),
    "AAAI": ("aaai conference on artificial intelligence", "aaai"),
    "IJCAI": ("international joint conference on artificial intelligence", "ijcai"),
    "AISTATS": ("international conference on artificial intelligence and statistics", "aistats"),
    "COLING": ("international conference on computational linguistics", "coling"),
    "KDD": ("acm sigkdd international conference on knowledge discovery and data mining",
            "sigkdd international conference on knowledge discovery and data mining",
            "international conference on knowledge discovery and data mining", "kdd", "sigkdd"),
    "SIGIR": ("international acm sigir conference on research and development in information retrieval",
              "acm sigir conference on research and development in information retrieval", "sigir"),
}  # fmt: skip

# NIPS became NeurIPS with the 2018 conference; papers of earlier years were published as NIPS.
NEURIPS_RENAMED = 2018

# Anything that is not the main conference itself keeps its full name.
_NOT_MAIN = re.compile(
    r"\b(workshops?|findings|companion|adjunct|demonstrations?|demos?|student|tutorials?|doctoral|"
    r"datasets and benchmarks|extended abstracts?|posters?)\b",
    re.IGNORECASE,
)
_PREPRINT = re.compile(r"^(arxiv( \(cornell university\))?(\.org)?|corr|arxiv preprint.*|preprint)$", re.IGNORECASE)
_ORDINAL_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth fortieth fiftieth sixtieth"
).split()
_TENS = "twenty thirty forty fifty sixty".split()
_ORDINAL = re.compile(
    r"\b(\d+(st|nd|rd|th)|("
    + "|".join(_TENS)
    + r")[ -]?("
    + "|".join(_ORDINAL_WORDS)
    + r")|"
    + "|".join(_ORDINAL_WORDS)
    + r")\b",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(proceedings|proc)\.?\s+(of\s+)?(the\s+)?", re.IGNORECASE)
_ORGS = re.compile(r"\b(ieee/cvf|ieee|cvf|acm|annual|the|vol|volume)\b", re.IGNORECASE)
_PARENS = re.compile(r"\([^)]*\)")
_NUMBERS = re.compile(r"'?\b\d+\b")
_NON_WORD = re.compile(r"[^a-z]+")


def _key(venue: str) -> str:
    """The words of a venue without "Proceedings of the", ordinals, years, volume numbers, (ACRONYM), IEEE…"""
    text = _PARENS.sub(" ", venue).replace("&", " and ")
    text = _LEADING.sub("", text.strip())
    text = _ORDINAL.sub(" ", text)
    text = _NUMBERS.sub(" ", text)
    text = _ORGS.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


# The table's names go through the same key, so "of the" and "annual" there match however a source spells them.
_LOOKUP = {_key(full): short for short, names in _CONFERENCES.items() for full in names}


def is_preprint_venue(venue: str | None) -> bool:
    """arXiv, CoRR and the like: where a preprint sits, not where a paper was published."""
    return bool(venue) and bool(_PREPRINT.match(" ".join((venue or "").split())))


def conference_short_name(venue: str) -> str | None:
    """The conference's short name when `venue` names one of the known main conferences, else None."""
    if _NOT_MAIN.search(_PARENS.sub(" ", venue)):
        return None
    return _LOOKUP.get(_key(venue))


def normalise_venue(venue: str | None, year: int | None) -> str | None:
    """The venue as a bibliography should print it: known conferences by their short name (NIPS before
    2018, NeurIPS from 2018 on), everything else unchanged but for surrounding whitespace."""
    if venue is None:
        return None
    text = " ".join(venue.split())
    short = conference_short_name(text)
    if short is None:
        return text or None
    if short == "NeurIPS" and year is not None and year < NEURIPS_RENAMED:
        return "NIPS"
    if short == "NeurIPS" and year is None and _key(text) == "nips":
        return "NIPS"  # no year to tell which: the name the source gave
    return short


def _acronym(venue: str) -> bool:
    """ "IROS", "SIGGRAPH", "NeurIPS": how the offline index and many .bib files name a conference."""
    text = venue.strip()
    return 2 <= len(text) <= 14 and text.isalpha() and sum(c.isupper() for c in text) >= 2


def venues_conflict(known: str | None, other: str | None, other_kind: str = "") -> bool:
    """True when `other` (a record found by title) was plainly published somewhere else than `known`:
    two different conferences of the table, or a journal article for a paper known from a conference
    (a journal extension shares the title but is another publication, with its own DOI and pages)."""
    if not known or not other or is_preprint_venue(known) or is_preprint_venue(other):
        return False
    mine, theirs = conference_short_name(known), conference_short_name(other)
    if mine and theirs:
        return mine != theirs
    # Otherwise only a journal record for a conference paper is plainly another publication; two spellings
    # of one conference outside the table ("IROS" and "… Intelligent Robots and Systems (IROS)") are not.
    return (mine is not None or _acronym(known)) and other_kind == "journal"
