"""Hypothesis strategies for bibliographic records in the library's canonical form."""

from __future__ import annotations

from hypothesis import strategies as st

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
NAME = st.lists(NAME_WORD, min_size=1, max_size=3).map(" ".join).filter(lambda n: n.lower() != "others")
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
        title=draw(LINE.filter(bool)),
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
    )
