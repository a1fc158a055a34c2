"""Person names: BibTeX's four parts (First, von, Last, Jr) read by bibtexparser's name parser.

The library stores each author as one string, "First von Last" ("Jan van der Berg"), or, when that form
would read back differently (a Jr part, a capitalised particle), BibTeX's "von Last, Jr, First"
("Smith, Jr., John"; "Van der Berg, Jan"). Every format writes the parts where they belong: BibTeX
"von Last, Jr, First", RIS "von Last, First, Jr", CSL-JSON family / given / non-dropping-particle / suffix.
"""

from __future__ import annotations

from dataclasses import dataclass

from bibtexparser.middlewares.names import parse_single_name_into_parts

# Stored names are plain text: braces and backslashes in them are characters, not BibTeX groups or
# commands, so they are hidden from the parser (private-use stand-ins) and restored after.
_HIDE = str.maketrans({"{": "\ue000", "}": "\ue001", "\\": "\ue002"})
_SHOW = str.maketrans({"\ue000": "{", "\ue001": "}", "\ue002": "\\"})


@dataclass(frozen=True, slots=True)
class Name:
    first: str = ""
    von: str = ""
    last: str = ""
    jr: str = ""

    @property
    def family(self) -> str:
        """Family name with its particle, as RIS and plain-text lists write it ("van der Berg")."""
        return " ".join(p for p in (self.von, self.last) if p)


def _parts(text: str) -> Name:
    text = text.strip()
    if text.endswith(",") and text.count(",") == 1:
        # "Barnes and Noble," — a family name of several words and no given name (a corporate author).
        parts = parse_single_name_into_parts(text + " x", strict=False)
        return Name("", " ".join(parts.von), " ".join(parts.last), "")
    if text.endswith(",") and text.count(",") >= 2:
        # "Smith, Jr.," — a suffix and no given name (the parser would take "Jr." for the given name).
        parts = parse_single_name_into_parts(text + " x", strict=False)
        return Name("", " ".join(parts.von), " ".join(parts.last), " ".join(parts.jr))
    parts = parse_single_name_into_parts(text, strict=False)
    return Name(" ".join(parts.first), " ".join(parts.von), " ".join(parts.last), " ".join(parts.jr))


def parse_bibtex(raw: str) -> Name:
    """One name from a BibTeX `author` field, still in LaTeX (braces group, `{\\"u}` is a letter)."""
    return _parts(raw)


def parse(stored: str) -> Name:
    """A stored author string → its parts."""
    name = _parts(" ".join(stored.split()).translate(_HIDE))
    return Name(*(p.translate(_SHOW) for p in (name.first, name.von, name.last, name.jr)))


def stored(name: Name) -> str:
    """The library's string for these parts: "First von Last" when it reads back as these parts, else
    "von Last, Jr, First" (or "von Last, First")."""
    first, von, last, jr = (" ".join(p.split()) for p in (name.first, name.von, name.last, name.jr))
    plain = " ".join(p for p in (first, von, last) if p)
    if not jr:
        back = parse(plain)
        # Where the particle ends and the last name begins is BibTeX's guess either way; what must read
        # back is which words are the given name and which the family name.
        if not plain or (back.first == first and back.family == " ".join(p for p in (von, last) if p)):
            return plain
    family = " ".join(p for p in (von, last) if p)
    if jr:
        return f"{family}, {jr}, {first}" if first else f"{family}, {jr},"
    return f"{family}, {first}" if first else f"{family},"


def display(stored_name: str) -> str:
    """ "First von Last, Jr" for lists and CSL's literal names."""
    name = parse(stored_name)
    text = " ".join(p for p in (name.first, name.von, name.last) if p)
    return f"{text}, {name.jr}" if name.jr else text
