"""The paper record and its identity: arXiv ids without versions, DOIs, normalised titles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

_ARXIV_NEW = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?!\d)")
_ARXIV_OLD = re.compile(r"(?<![\w/.-])([a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?!\d)")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.IGNORECASE)
_NON_LETTERS = re.compile(r"[^a-z]")


def normalise_title(title: str) -> str:
    """PaSa's title key: lower-case ASCII letters only (accents folded, everything else dropped)."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return _NON_LETTERS.sub("", folded.lower())


def strip_arxiv_version(arxiv_id: str) -> str:
    """`2106.15928v2` → `2106.15928`; also removes an `arXiv:` prefix and URL parts."""
    found = find_arxiv_id(arxiv_id)
    return found if found is not None else arxiv_id.strip()


def find_arxiv_id(text: str) -> str | None:
    """The first arXiv identifier in free text (new or old style), without its version."""
    if not text:
        return None
    match = _ARXIV_NEW.search(text)
    if match:
        return match.group(1)
    match = _ARXIV_OLD.search(text)
    return match.group(1) if match else None


def find_doi(text: str) -> str | None:
    """The first DOI in free text, lower-cased and without trailing punctuation."""
    if not text:
        return None
    match = _DOI.search(text)
    if not match:
        return None
    return match.group(1).rstrip(".,;)]").lower()


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as the engine sees it. Sources fill what they know; `id` is stable per source."""

    id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    venue: str | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None
    source: str = ""
    # Source-specific ids (e.g. {"s2": "...", "openalex": "W..."}), used to fetch references.
    external_ids: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def title_key(self) -> str:
        return normalise_title(self.title)

    @property
    def key(self) -> str:
        """Identity for deduplication inside one search: arXiv id, else DOI, else normalised title."""
        if self.arxiv_id:
            return f"arxiv:{strip_arxiv_version(self.arxiv_id)}"
        if self.doi:
            return f"doi:{self.doi.lower()}"
        return f"title:{self.title_key}"

    def with_updates(self, **changes: object) -> Paper:
        return replace(self, **changes)  # type: ignore[arg-type]  # field names and types are checked by dataclasses.replace at run time

    def merged_with(self, other: Paper) -> Paper:
        """Fill this record's blanks from another record of the same paper."""
        return replace(
            self,
            abstract=self.abstract or other.abstract,
            authors=self.authors or other.authors,
            year=self.year or other.year,
            venue=self.venue or other.venue,
            arxiv_id=self.arxiv_id or other.arxiv_id,
            doi=self.doi or other.doi,
            url=self.url or other.url,
            external_ids={**other.external_ids, **self.external_ids},
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "abstract": self.abstract,
            "authors": list(self.authors),
            "year": self.year,
            "venue": self.venue,
            "arxiv_id": self.arxiv_id,
            "doi": self.doi,
            "url": self.url,
            "source": self.source,
            "external_ids": dict(self.external_ids),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Paper:
        authors = data.get("authors") or ()
        year = data.get("year")
        ext = data.get("external_ids") or {}
        return cls(
            id=str(data["id"]),
            title=str(data.get("title") or ""),
            abstract=str(data.get("abstract") or ""),
            authors=tuple(str(a) for a in authors) if isinstance(authors, (list, tuple)) else (),
            year=int(year) if isinstance(year, (int, str)) and str(year).isdigit() else None,
            venue=str(data["venue"]) if data.get("venue") else None,
            arxiv_id=str(data["arxiv_id"]) if data.get("arxiv_id") else None,
            doi=str(data["doi"]) if data.get("doi") else None,
            url=str(data["url"]) if data.get("url") else None,
            source=str(data.get("source") or ""),
            external_ids={str(k): str(v) for k, v in ext.items()} if isinstance(ext, dict) else {},
        )
