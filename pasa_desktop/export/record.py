"""The shape every export format writes and every import format reads: one bibliographic record."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from engine.papers import Paper

# Bibliographic details beyond the engine's Paper, kept in the library paper's `external_ids`.
# Kept in the library paper's `external_ids` (the arXiv category too: a BibTeX `primaryClass` an import
# read must come back out of an export, found by the library round-trip property test).
DETAILS = ("volume", "issue", "pages", "publisher", "isbn", "primary_class")


@dataclass(frozen=True, slots=True)
class Record:
    citekey: str
    title: str
    authors: tuple[str, ...] = ()  # "First Last"
    year: int | None = None
    venue: str | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None
    abstract: str = ""
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    primary_class: str | None = None  # arXiv category, when known
    volume: str | None = None
    issue: str | None = None  # BibTeX `number`, RIS `IS`, CSL `issue`
    pages: str | None = None  # "12-34" (a hyphen; BibTeX writes "--")
    publisher: str | None = None
    isbn: str | None = None
    # Citation keys of records merged into this paper: biblatex's `ids` lets \cite{old-key} still work.
    aliases: tuple[str, ...] = ()

    @property
    def details(self) -> dict[str, str]:
        return {k: v for k in DETAILS if (v := getattr(self, k))}

    def to_paper(self, source: str) -> Paper:
        return Paper(
            id=f"{source}:{self.citekey}" if self.citekey else f"{source}:{self.title[:80]}",
            title=self.title,
            abstract=self.abstract,
            authors=self.authors,
            year=self.year,
            venue=self.venue,
            arxiv_id=self.arxiv_id,
            doi=self.doi,
            url=self.url,
            source=source,
            external_ids=self.details,
        )


@dataclass(frozen=True, slots=True)
class Skipped:
    where: str  # "entry 'key' (line 12)", "record 3"
    reason: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parser's whole answer: the good records and every entry it could not use, with why."""

    records: list[Record] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# Fields longer than this are refused: a bibliography entry is not a book (and it protects the index).
MAX_FIELD_CHARS = 200_000


def arxiv_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def link(record: Record) -> str | None:
    """The URL every format writes: the record's own, else its arXiv page."""
    return record.url or (arxiv_url(record.arxiv_id) if record.arxiv_id else None)


def own_url(url: str | None, arxiv_id: str | None) -> str | None:
    """A URL read back from a file, or None when it is the arXiv page `link` wrote from the id (not a fact
    of its own)."""
    return None if url and arxiv_id and url == arxiv_url(arxiv_id) else url or None


_CONFERENCE_WORDS = (
    "proceedings", "conference", "workshop", "symposium", "neurips", "nips", "iclr", "icml", "cvpr", "iccv",
    "eccv", "acl", "emnlp", "naacl", "coling", "aaai", "ijcai", "kdd", "sigir", "www", "wsdm", "uai",
    "aistats", "colt", "interspeech", "icassp", "icra", "iros", "corl", "miccai", "eacl", "lrec", "cikm",
)  # fmt: skip


def is_conference(venue: str) -> bool:
    lowered = venue.lower()
    words = set(lowered.replace("-", " ").split())
    return any(w in words or (len(w) > 5 and w in lowered) for w in _CONFERENCE_WORDS)


def kind(record: Record) -> str:
    """ "conference", "journal" or "preprint" (no venue, or arXiv): each format names its own types for these."""
    if record.venue and not record.venue.lower().startswith("arxiv"):
        return "conference" if is_conference(record.venue) else "journal"
    return "preprint"


_PAGE_DASH = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-"})


def pages(value: str) -> str | None:
    """ "12--34", "12–34", "12 - 34" → "12-34"; a single page or an article number stays as it is."""
    text = " ".join(value.translate(_PAGE_DASH).split())
    while "--" in text:
        text = text.replace("--", "-")
    return text.replace(" - ", "-") or None


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """Control characters as visible escapes (`\\x1b`): an exported file never carries terminal codes."""
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Cc" and not (keep_newlines and ch == "\n") and ch != "\t":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
