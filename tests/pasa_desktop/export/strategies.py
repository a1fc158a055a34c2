"""Hypothesis strategies for bibliographic records in the library's canonical form."""

from __future__ import annotations

from hypothesis import strategies as st

from pasa_desktop.export import names
from pasa_desktop.export.record import Record


def _squash(text: str) -> str:
    return " ".join(text.split())


# Printable text from every script, plus the characters formats care about (LaTeX specials, quotes, @).
_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Co", "Cn"))
LINE = st.text(_CHARS | st.sampled_from(list("{}&%$#_~^\\@\"',;=()[]- ")), min_size=1, max_size=60).map(_squash)
PARAGRAPHS = st.lists(LINE, max_size=3).map(lambda ls: "\n\n".join(x for x in ls if x))
NAME_WORD = st.text(
    st.characters(categories=("Lu", "Ll", "Lo")) | st.sampled_from(list("-.'&_{}")), min_size=1, max_size=12
)
# "and" separates names in BibTeX and "others" is "et al.": no real name has them as a word.
_FREE_NAME = st.lists(NAME_WORD.filter(lambda w: w.lower() not in ("and", "others")), min_size=1, max_size=3).map(
    " ".join
)
_CAPITAL = st.text(st.characters(categories=("Ll", "Lo")), min_size=1, max_size=8).map(lambda w: w[:1].upper() + w[1:])
# Real-world shapes: particles ("van der Berg"), suffixes ("Smith, Jr."), initials, hyphens, any script.
_PERSON = st.builds(
    names.Name,
    first=st.lists(_CAPITAL | st.sampled_from(["J.", "J.-P.", "Anne-Marie", "Émile"]), max_size=2).map(" ".join),
    von=st.sampled_from(["", "", "van", "van der", "de", "de la", "von", "di", "Van der", "De"]),
    last=_CAPITAL | st.sampled_from(["Müller-Łukasz", "O'Neil", "Berg", "Smith"]),
    jr=st.sampled_from(["", "", "", "Jr.", "Sr.", "III"]),
).map(names.stored)
NAME = (_FREE_NAME | _PERSON).filter(bool)
# Inline math as papers write it in titles and abstracts.
MATH = st.sampled_from(["$O(n \\log n)$", "$x_1$", "${\\alpha}^2$", "$\\mathcal{O}(1/\\sqrt{T})$", "$k$"])
TITLE = st.one_of(LINE.filter(bool), st.tuples(LINE, MATH, LINE).map(lambda t: _squash(" ".join(t))).filter(bool))
TAG = LINE.map(lambda t: _squash(t.replace(",", " ").replace(";", " "))).filter(bool)


_KEYCHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_DOICHARS = "abcdefghijklmnopqrstuvwxyz0123456789./-"


@st.composite
def records(draw: st.DrawFn) -> Record:
    arxiv = draw(
        st.none()
        | st.builds("{:02d}{:02d}.{:05d}".format, st.integers(7, 25), st.integers(1, 12), st.integers(0, 99999))
    )
    venue = draw(st.none() | LINE.filter(lambda v: bool(v) and not v.lower().startswith("arxiv")))
    url = draw(st.none() | st.text("abcxyz019/", max_size=20).map("https://example.org/{}".format))
    return Record(
        citekey=draw(st.builds("{}{}".format, st.sampled_from("abcXYZ"), st.text(_KEYCHARS, max_size=20))),
        title=draw(TITLE),
        authors=tuple(draw(st.lists(NAME, max_size=4))),
        year=draw(st.none() | st.integers(1900, 2100)),
        venue=venue,
        arxiv_id=arxiv,
        doi=draw(st.none() | st.builds("10.{}/{}x".format, st.integers(1000, 99999), st.text(_DOICHARS, max_size=20))),
        url=url,
        abstract=draw(PARAGRAPHS),
        tags=tuple(draw(st.lists(TAG, max_size=3, unique=True))),
        notes=tuple(draw(st.lists(LINE.filter(bool), max_size=2))),
        primary_class=draw(st.sampled_from(["cs.CL", "cs.LG", "stat.ML"])) if arxiv and draw(st.booleans()) else None,
        volume=draw(st.none() | st.sampled_from(["1", "42", "XII", "37 (Suppl.)"])),
        issue=draw(st.none() | st.sampled_from(["3", "4-5", "Special Issue"])),
        pages=draw(st.none() | st.sampled_from(["1-12", "e1004", "101-117", "7"])),
        publisher=draw(st.none() | LINE.filter(bool)),
        isbn=draw(st.none() | st.sampled_from(["978-0-306-40615-7", "0-306-40615-2", "9781234567897"])),
    )


# What pdflatex (default OT1 fonts, utf8 input) can typeset: ASCII, Latin accents, typographic punctuation. Other
# scripts are a font question for the document, not a property of the .bib file, and stay in the
# round-trip tests above.
_LATIN = "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿŁłŒœŠšŽžŸőűĆćČčŚśŹźŻż–—‘’“”…"
_TEXT_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(list(_LATIN))
LATEX_LINE = st.text(_TEXT_CHARS | st.sampled_from(list("{}%&$_\\#~^@")), min_size=1, max_size=50).map(_squash)
_LATIN_WORD = st.text(st.sampled_from(list("abcdefghijklmnopqrstuvwxyzéèüöäßłøñç")), min_size=1, max_size=8)
_LATEX_PERSON = st.builds(
    names.Name,
    first=st.lists(_LATIN_WORD.map(str.capitalize), max_size=2).map(" ".join),
    von=st.sampled_from(["", "", "van", "van der", "de", "de la", "von", "Van der"]),
    last=_LATIN_WORD.map(str.capitalize) | st.sampled_from(["Müller-Łukasz", "O'Neil", "Berg"]),
    jr=st.sampled_from(["", "", "Jr.", "III"]),
).map(names.stored)


@st.composite
def latex_records(draw: st.DrawFn) -> Record:
    """Records whose every field is hostile to LaTeX and BibTeX, in characters pdflatex can print."""
    base = draw(records())
    title = draw(
        st.one_of(
            LATEX_LINE.filter(bool),
            st.tuples(LATEX_LINE, MATH, LATEX_LINE).map(lambda t: _squash(" ".join(t))).filter(bool),
        )
    )
    venue = draw(st.none() | LATEX_LINE.filter(lambda v: bool(v) and not v.lower().startswith("arxiv")))
    return Record(
        citekey=base.citekey,
        title=title,
        authors=tuple(draw(st.lists(_LATEX_PERSON.filter(bool), max_size=3))),
        year=base.year,
        venue=venue,
        arxiv_id=base.arxiv_id,
        doi=base.doi,
        url=base.url,
        abstract=draw(st.lists(LATEX_LINE, max_size=2).map(" ".join)),
        tags=tuple(
            draw(
                st.lists(
                    LATEX_LINE.map(lambda t: _squash(t.replace(",", " ").replace(";", " "))).filter(bool),
                    max_size=2,
                    unique=True,
                )
            )
        ),
        notes=(),
        primary_class=base.primary_class,
        volume=base.volume,
        issue=base.issue,
        pages=base.pages,
        publisher=draw(st.none() | LATEX_LINE.filter(bool)),
        isbn=base.isbn,
    )
