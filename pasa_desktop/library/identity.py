"""When two records describe the same work, and why: the library's identity rules.

Identifiers decide first: the same arXiv id (any version), the same DOI, or the same ISBN *and* title
(chapters of one book share its ISBN). Without a shared identifier two records are one work only when
their titles agree character for character up to case, accents, spacing and punctuation — digits and
version numbers count (`Qwen2` is not `Qwen2.5`, `Task 1` is not `Task 2`) — and their year and first
author are both known and equal. A missing field is unknown, never a wildcard: such pairs are listed by
`pasa library duplicates` for the user to decide, not merged. Two different identifiers of one kind
(two DOIs, two arXiv ids, two ISBNs) mean two works whatever the titles say.

This is deliberately stricter than PaSa's metric key (`engine.papers.normalise_title`, letters only),
which stays as it is for the evaluation.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.papers import Paper, normalise_title

# Letters and digits of any script; `+` and `#` name things too (C++, C#, F#).
_TITLE_TOKEN = re.compile(r"[^\W_]+|[+#]")
_ISBN_CHARS = re.compile(r"[^0-9Xx]")
ARXIV_DOI_PREFIX = "10.48550/arxiv."


def fold(text: str) -> str:
    """Case, accents and compatibility forms removed; letters of every script kept (α ≠ β)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def title_key(title: str) -> str:
    """The library's title identity: letters and digits in order, `.` kept between two numbers.

    `Qwen2.5 Technical Report` → `qwen2.5technicalreport`; `Qwen2 Technical Report` → `qwen2technicalreport`;
    `Pre-training` and `Pretraining` agree; `GPT-4` and `GPT 4` agree.
    """
    out: list[str] = []
    for token in _TITLE_TOKEN.findall(fold(title)):
        if out and out[-1][-1].isdigit() and token[0].isdigit():
            out.append(".")  # "2.5" / "2 5" stay apart from "25"
        out.append(token)
    return "".join(out)


def legacy_title_key(title: str) -> str:
    """What libraries written before the identity rules stored in `paper.title_key` (letters only)."""
    return normalise_title(title)


def family_name(author: str) -> str:
    """The family name of a stored author ("First von Last" or "von Last, Jr., First"), particles left out."""
    author = author.strip()
    if "," in author:
        words = author.split(",", 1)[0].split()
    else:
        words = author.split()
        words = words[-1:]
    # A lower-case particle ("van der", "de") is not part of the family name for identity.
    while len(words) > 1 and words[0][:1].islower():
        words = words[1:]
    return " ".join(words)


def author_key(authors: Sequence[str]) -> str:
    """The first author's family name, folded; "" when there is no author (unknown)."""
    if not authors:
        return ""
    return "".join(_TITLE_TOKEN.findall(fold(family_name(authors[0]))))


def normalise_isbn(value: str) -> str | None:
    """ISBN-13 digits (an ISBN-10 is converted), or None when `value` holds no valid ISBN."""
    chars = _ISBN_CHARS.sub("", value or "").upper()
    if len(chars) == 10 and chars[:9].isdigit():
        check = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(chars)) % 11
        if check != 0:
            return None
        body = "978" + chars[:9]
    elif len(chars) == 13 and chars.isdigit():
        body = chars[:12]
        if chars[12] != _isbn13_check(body):
            return None
    else:
        return None
    return body + _isbn13_check(body)


def _isbn13_check(body: str) -> str:
    total = sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(body))
    return str((10 - total % 10) % 10)


def isbn_of(paper: Paper) -> str | None:
    value = paper.external_ids.get("isbn")
    return normalise_isbn(value) if value else None


@dataclass(frozen=True, slots=True)
class Known:
    """What the library knows of one paper, as far as identity goes."""

    id: int
    title: str
    year: int | None
    authors: tuple[str, ...]
    arxiv_id: str | None
    doi: str | None
    isbn: str | None
    citekey: str = ""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Known:
        pid, title, year, authors, arxiv, doi, ext, citekey = row
        extra = json.loads(ext or "{}")
        isbn = normalise_isbn(str(extra.get("isbn", ""))) if isinstance(extra, dict) else None
        return cls(int(pid), title, year, tuple(json.loads(authors or "[]")), arxiv, doi, isbn, citekey or "")


KNOWN_COLUMNS = "id, title, year, authors, arxiv_id, doi, external_ids, citekey"


def _doi_conflict(a: str | None, b: str | None) -> bool:
    # arXiv's own DOI and a publisher's DOI name two versions of one work, not two works.
    if not a or not b or a == b:
        return False
    return not (a.startswith(ARXIV_DOI_PREFIX) or b.startswith(ARXIV_DOI_PREFIX))


def conflict(paper: Paper, isbn: str | None, known: Known) -> str | None:
    """Why these two cannot be one work (different identifiers of one kind), or None."""
    if paper.arxiv_id and known.arxiv_id and paper.arxiv_id != known.arxiv_id:
        return f"different arXiv ids ({paper.arxiv_id} / {known.arxiv_id})"
    if _doi_conflict(paper.doi, known.doi):
        return f"different DOIs ({paper.doi} / {known.doi})"
    if isbn and known.isbn and isbn != known.isbn:
        return f"different ISBNs ({isbn} / {known.isbn})"
    return None


@dataclass(frozen=True, slots=True)
class Match:
    paper_id: int
    basis: str  # "arxiv", "doi", "isbn", "citekey" (all identifier-backed) or "title" (metadata only)
    reason: str

    @property
    def by_identifier(self) -> bool:
        return self.basis != "title"


def title_match(paper: Paper, isbn: str | None, citekey: str | None, known: Known) -> Match | None:
    """The same work by title (with an ISBN, a citation key, or year and first author), or None."""
    if title_key(known.title) != title_key(paper.title) or not title_key(paper.title):
        return None
    if conflict(paper, isbn, known):
        return None
    if isbn and known.isbn == isbn:
        return Match(known.id, "isbn", f"same ISBN {isbn} and title")
    if citekey and known.citekey == citekey:
        # Our own export read back: the key this library gave the paper, with its exact title.
        return Match(known.id, "citekey", f"same citation key {citekey!r} and title")
    mine, theirs = author_key(paper.authors), author_key(known.authors)
    if paper.year and known.year and paper.year == known.year and mine and mine == theirs:
        return Match(known.id, "title", f"same title, year ({paper.year}) and first author; no shared identifier")
    return None


def not_merged_because(a: Known, b: Known) -> str | None:
    """For two papers with the same title left apart: why they were not merged (None: they differ)."""
    paper = Paper(id="", title=a.title, authors=a.authors, year=a.year, arxiv_id=a.arxiv_id, doi=a.doi)
    if title_key(a.title) != title_key(b.title) or conflict(paper, a.isbn, b):
        return None
    if not a.year or not b.year:
        return "same title; year unknown on one side"
    if a.year != b.year:
        return f"same title; years differ ({a.year} / {b.year})"
    ka, kb = author_key(a.authors), author_key(b.authors)
    if not ka or not kb:
        return "same title and year; first author unknown on one side"
    if ka != kb:
        return "same title and year; first authors differ"
    return "same title, year and first author"
