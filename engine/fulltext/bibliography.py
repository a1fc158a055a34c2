"""Parsing free-text bibliography strings: the title, identifiers and year of one reference.

PaSa's released code takes reference titles from ar5iv HTML by regex and gets many wrong, so expansion
finds little. This parser is deliberately conservative: it finds where the author list ends (the longest
prefix made only of names, initials, "and", "et al."), skips a year, and takes the next sentence or
comma-piece as the title unless it looks like a venue. When unsure it returns None: an unresolved entry
costs recall, a wrong title costs precision and trust.

Styles handled (all seen in the unarXive fixture):
  A. `Authors. Title. Venue, year.`                     (natbib plain / ACM / math)
  B. `Authors, "Title," Venue (year).`                  (IEEE, APS, AIP; any quote style)
  C. `Authors, Title, Journal Vol, page (year).`        (APS / JHEP without quotes)
  D. `Authors. YEAR. Title. In Venue.` / `Authors (YEAR). Title.`   (ACL, AAAI, APA)
  E. `Authors YEAR, Journal, vol, page` and `Authors, Journal Vol (year)`  (no title: None)
"""

from __future__ import annotations

import re

from engine.fulltext.model import BibEntry
from engine.papers import find_doi

_NEW_ID = re.compile(r"(?<![\d.])(\d{2})(\d{2})\.(\d{4,5})(?:v\d+)?(?![\d])")
_OLD_ID = re.compile(
    r"(?<![\w.-])((?:astro-ph|cond-mat|gr-qc|hep-ex|hep-lat|hep-ph|hep-th|math-ph|nlin|nucl-ex|nucl-th|physics|"
    r"quant-ph|math|cs|q-bio|q-fin|stat|eess|econ)(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?!\d)"
)
_ARXIV_CONTEXT = re.compile(r"arxiv|\[\w+(?:-\w+)?(?:\.\w+)?\]|abs/|e-?print", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)[a-z]?\b")

_FORMULA = re.compile(r"\{\{(?:formula|cite|figure|table):[^}]*\}\}")
_NEWBLOCK = re.compile(r"\s*\d+(?:\.\d+)?em minus \d+(?:\.\d+)?em\s*")  # LaTeX \newblock rendered as text
_URL = re.compile(r"(?:URL\s*)?(?:https?://|www\.)\S+", re.IGNORECASE)
_DOI_TEXT = re.compile(r"(?:doi:?\s*|DOI\s*)?\b10\.\d{4,9}/\S+", re.IGNORECASE)
_ARXIV_TEXT = re.compile(
    r"(?:arXiv(?:\s+preprint)?\s*:?\s*)?(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\s*\[[\w.-]+\])?",
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"\[[^\]]*\]")
_LEADING_MARK = re.compile(r"^\s*(?:\[\s*[\w+.-]+\s*\]|\(\d+\)|\d{1,3}\.(?=\s))\s*")
_SPACES = re.compile(r"\s+")

_QUOTED = re.compile(r"[“\"]\s*(.+?)\s*[”\"]|``\s*(.+?)\s*''|‘‘\s*(.+?)\s*’’|„\s*(.+?)\s*[“”]")

# Words that make up names besides capitalised words and initials.
_NAME_PARTICLES = frozenset(
    "van von der den de des del della dal da das dos du di la le bin ibn al el y ter ten zu af av st jr sr ii iii iv "
    "collaboration collab team group consortium et al and 't van't".split()
)
_INITIAL = re.compile(r"^(?:[A-Z][a-z]?\.?(?:[-‐]?[A-Z][a-z]?\.?)*|[a-z]\.)$")  # "d." in "D. A. d. S. Filho"
_CAPWORD = re.compile(r"^[A-Z][\w'’`\-‐]*\.?$|^[A-Z]{2,}$")
# Venue vocabulary: a candidate title made mostly of these is a journal or proceedings name.
_VENUE_WORDS = frozenset(
    """jhep jcap mnras apj prl prd pos journal journals texts graduate monographs proceedings proc conference conf transactions trans letters lett review reviews rev
    nature science physics phys physical annals ann bulletin bull workshop symposium symp arxiv preprint
    press university univ springer elsevier ieee acm siam astrophysical astrophys astron astronomy
    astronomical monthly notices royal society soc society's chemical chem chemistry mathematical math
    mathematics applied appl research res international int national acad academy sciences sci lecture
    notes series vol volume edition ed eds pp pages in of the and for on de des der und advances adv
    communications commun report reports technical tech thesis phd dissertation workshops meeting
    annual quarterly journal's letters' publications publ magazine book books chapter handbook
    neurips nips icml iclr cvpr iccv eccv acl emnlp naacl aaai ijcai kdd sigir www icassp interspeech
    computational computer computing statistics statistical optics optical engineering
    biology biological medicine medical""".split()
)
_VENUE_START = re.compile(
    r"^(?:In[\s:]|in\s|Proc\b|Proceedings\b|arXiv\b|Preprint\b|preprint\b|PhD\b|Ph\.D\b|Master'?s? [Tt]hesis|Tech\b|Technical\b|"
    r"Available\b|Accessed\b|accessed\b|Retrieved\b|URL\b|Online\b|\[Online\]|Submitted\b|submitted\b|"
    r"In press\b|to appear\b|To appear\b|Private\b|private\b|Unpublished\b|unpublished\b|pp?\.\s*\d|vol\.|Vol\.)"
)
_VOLUME_END = re.compile(r"^[A-Z][\w.\s&-]{0,60}\s[A-Z]?\d+[A-Za-z]?(?:\s*\(\d+\))?\.?$")
_LAST_AUTHOR = re.compile(r"(?:\bet al\.?|\band\s+(?:[A-Z][\w'’-]*\.?\s+)+[A-Z][\w'’-]+)[,;.]?\s*$")
_TWO_LETTER_INITIALS = frozenset({"al", "jr", "sr", "ph", "th", "ch", "kh", "sh", "zh", "st", "yu"})
_JOURNAL_ABBREVIATIONS = frozenset(
    """phys rev lett proc astrophys astron chem commun sci trans conf symp nucl appl mod acad soc mater opt
    comput theor mech jhep jcap mnras apj prl prd pos""".split()
)
_GLUE_WORDS = frozenset("of the and for on in at to a an de des der und la le".split())
_ABBREV_WORD = re.compile(r"\b[A-Z][a-z]{0,7}\.(?=\s|$|,)")


def _clean(raw: str) -> str:
    text = _FORMULA.sub(" ", raw)
    text = _NEWBLOCK.sub(". ", text)
    text = text.replace("~", " ").replace("\u00a0", " ")
    text = _LEADING_MARK.sub("", text)
    text = re.sub(r"\.\s*\.(?=\s)", ".", text)
    text = re.sub(r"\b([A-Z]\.)(?=[A-Z][a-z])", r"\1 ", text)  # "A.Yahalom" -> "A. Yahalom"
    text = re.sub(r"\s\([A-Z][A-Za-z0-9-]{1,15}(?: [Cc]ollaboration)?\)(?=\s*,)", "", text)  # "(STAR),"
    return _SPACES.sub(" ", text).strip()


def _strip_ids(text: str) -> str:
    text = _URL.sub(" ", text)
    text = _DOI_TEXT.sub(" ", text)
    text = _ARXIV_TEXT.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def find_arxiv_id_strict(text: str) -> str | None:
    """An arXiv id in a reference: new style with a valid month (and a context word when it could be a
    page or report number), or old style with a known archive."""
    for match in _NEW_ID.finditer(text):
        yy, mm, num = int(match.group(1)), int(match.group(2)), match.group(3)
        if not (1 <= mm <= 12 and 7 <= yy <= 40):
            continue
        if len(num) == 5 and (yy, mm) < (15, 1):
            continue
        window = text[max(0, match.start() - 40) : match.end() + 20]
        if _ARXIV_CONTEXT.search(window) or len(num) == 5 or "[" in window:
            return f"{match.group(1)}{match.group(2)}.{num}"
    old = _OLD_ID.search(text)
    return old.group(1) if old else None


def _is_name_piece(piece: str) -> bool:
    """One comma/semicolon/'and'-separated piece of an author list: initials, capitalised words, particles."""
    piece = piece.strip().strip(".")
    if not piece:
        return True
    tokens = re.split(r"[\s]+", piece)
    if sum(1 for t in tokens if t.lower().strip(".,") not in _NAME_PARTICLES) > 5:
        return False
    if all(t.lower().strip(".,") in _NAME_PARTICLES for t in tokens):
        return True  # "et al.", "and"
    has_name = False
    for tok in tokens:
        bare = tok.strip("().,;:*†‡§¶")
        if not bare:
            continue
        low = bare.lower().strip(".")
        if low in _NAME_PARTICLES and (not bare[:1].isupper() or low in ("et", "al", "and")):
            continue
        if low in _JOURNAL_ABBREVIATIONS:
            return False  # "R. Gillen, Phys. Status Solidi": "Phys" is a journal, not a surname
        if _INITIAL.match(bare):
            continue
        if _CAPWORD.match(bare) or (bare[:1].isupper() and bare.replace("-", "").replace("'", "").isalpha()):
            has_name = True
            continue
        return False
    return has_name or all(_INITIAL.match(t.strip("().,;")) for t in tokens if t.strip("().,;"))


def _is_author_prefix(prefix: str) -> bool:
    prefix = prefix.strip().rstrip(".,;:")
    prefix = re.sub(r"\(?\b(?:19|20)\d{2}[a-z]?\)?$", "", prefix).strip().rstrip(".,;:")
    if not prefix or "(" in prefix or ")" in prefix or '"' in prefix or "“" in prefix:
        return False
    pieces = re.split(r"\s*(?:,|;|&|\band\b)\s*", prefix)
    return all(_is_name_piece(p) for p in pieces) and any(p.strip() for p in pieces)


def _looks_like_venue(text: str) -> bool:
    text = text.strip()
    if not text:
        return True
    if _VENUE_START.match(text):
        return True
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’]*\.?", text) if w.lower() not in _GLUE_WORDS]
    if not words:
        return True
    venue = sum(1 for w in words if w.lower().strip(".") in _VENUE_WORDS or _ABBREV_WORD.fullmatch(w))
    if venue / len(words) >= 0.5:
        return True
    # "Phys. Rev. D 78": several abbreviations, then a volume number.
    return len(_ABBREV_WORD.findall(text)) >= 2 and bool(re.search(r"\d", text))


def _is_year_only(text: str) -> bool:
    return bool(re.fullmatch(r"[\s(]*(?:\d{1,2}\s+)?(?:19|20)\d{2}[a-z]?[)\s]*", text))


def _boundaries(text: str) -> list[tuple[int, str]]:
    """Candidate ends of the author list: after ', ', '; ', ': ' and '. ' ('initial' when after an initial)."""
    out: list[tuple[int, str]] = []
    for match in re.finditer(r"[,;:]\s+|\.\s+|\.(?=[A-Z][a-z])", text):
        end = match.end()
        if match.group(0).startswith(":"):
            # "Hinton, G., Vinyals, O., Dean, J.: Distilling ..." (Springer LNCS): a colon after an initial
            # ends the list; after a word ("JaxoDraw: A ...") it is inside a title.
            if re.search(r"(?:\b[A-Z]\.?|\.)$", text[: match.start()]):
                out.append((end, "sentence"))
        elif match.group(0).startswith("."):
            before = text[: match.start()].split(" ")[-1].split(".")[-1].split("-")[-1]
            # Only one capital is an initial: two-letter surnames (Li, Wu, Xu) end author lists.
            is_initial = bool(re.fullmatch(r"[A-Z]", before)) or before.lower() in _TWO_LETTER_INITIALS
            out.append((end, "initial" if is_initial else "sentence"))
        else:
            out.append((end, "comma"))
    return out


def _is_title_case(piece: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", piece) if w.lower() not in _GLUE_WORDS]
    return 0 < len(words) <= 5 and all(w[:1].isupper() for w in words)


def _drop_trailing_venue(title: str) -> str:
    """ "Title, Machine Learning, 47, 235-256" -> "Title": comma pieces from a number or venue on are dropped,
    and so is a short Title-Case piece just before them (a journal name)."""
    pieces = re.split(r",\s+", title)
    kept = pieces[:1]
    for i, piece in enumerate(pieces[1:], start=1):
        following = pieces[i + 1] if i + 1 < len(pieces) else ""
        if re.search(r"\d", piece) or _looks_like_venue(piece):
            break
        if _is_title_case(piece) and (not following or re.search(r"\d", following) or _looks_like_venue(following)):
            break
        kept.append(piece)
    return ", ".join(kept)


def _title_from(rest: str, after_comma: bool) -> str | None:
    """The title at the start of `rest` (what follows the author list and any year)."""
    rest = rest.strip()
    skip = re.match(r"^[(\s]*(?:\d{1,2}\s+)?(?:19|20)\d{2}[a-z]?\)?\s*[.,:]?\s*", rest)
    if skip:
        after_year = rest[skip.end() :]
        # Astronomy style "2017, , 836, L3" or "2013, Nature Physics, 431": nothing title-like follows a comma.
        if skip.group(0).rstrip().endswith(","):
            after_comma = True
        rest = after_year
    # "et al. (ALICE), JHEP ...": a collaboration name in parentheses belongs to the authors.
    rest = re.sub(r"^\([^()\d]{1,40}\)\s*[,.]?\s*", "", rest)
    if not rest or _VENUE_START.match(rest):
        return None
    # "(Prentice Hall, New York, 1966)": a parenthesis holding a year or publisher ends the title.
    paren = re.search(r"\s\((?=[^)]*(?:\b(?:19|20)\d{2}\b|Press|Publish|Springer|Wiley|Verlag|Scientific))", rest)
    if paren:
        rest = rest[: paren.start()]
    rest = re.split(r",\s*(?:volume|vol\.|Vol\.|pages|pp\.|chapter|ch\.|no\.)\s*", rest)[0]
    if after_comma:
        pieces = re.split(r",\s+", rest)
        taken: list[str] = []
        for piece in pieces:
            if taken and (_looks_like_venue(piece) or re.search(r"\d", piece)):
                break
            # "Nanoscale Horizons 5, 1309 (2020)": a name followed by a volume number is a journal.
            if not taken and re.search(r"\d", piece) and (_looks_like_venue(piece) or _VOLUME_END.search(piece)):
                return None
            taken.append(piece)
            if re.search(r"[.?!]$", piece):
                break
        title = _drop_trailing_venue(", ".join(taken).strip())
        title = re.split(r"(?<!\b[A-Za-z])\.\s+(?=[A-Z\d])", title)[0]
    else:
        # A sentence ends at ". " unless the word before is a lone capital (an initial, "B. subtilis").
        title = re.split(r"(?<!\b[A-Za-z])\.\s+|(?<=[?!])\s+(?=[A-Z])|,\s+In\s", rest)[0]
        title = _drop_trailing_venue(title)
    title = re.sub(r"\s*(?:,\s*)?(?:In|in)\s*:?\s*$", "", title)
    title = title.strip().strip(",;:").strip()
    title = title.rstrip(".").strip()
    title = re.sub(r",\s*(?:19|20)\d{2}[a-z]?$", "", title).strip()  # "Title, 2021." without a venue
    return title or None


def plausible_title(title: str | None, *, quoted: bool = False) -> str | None:
    if not title:
        return None
    words = re.findall(r"[^\W\d_][\w'’-]*", title)
    if len(words) < 2 or len(title) < 8 or len(title) > 300:
        return None
    if re.match(r"(?:and|&)\s", title) or re.search(r"[“”\"]", title):
        return None
    # Leftovers of an author list ("m. c., 2022, Phys"): a lone lower-case initial first, or ", 2022," inside.
    if re.match(r"[a-z]\.\s", title) or re.search(r",\s*(?:19|20)\d{2}[a-z]?\s*(?:,|$)", title):
        return None
    if _looks_like_venue(title) or _is_year_only(title):
        return None
    # Unquoted, "Quantum Theory" could as well be two authors; quotes make it a title.
    if not quoted and _is_author_prefix(title) and (len(words) <= 3 or re.search(r"\b[A-Z]\.", title)):
        return None
    if re.search(r"\b(?:accessed|retrieved|available)\b", title, re.IGNORECASE):
        return None
    if re.search(r"://|^www\.|\bwww\.", title):
        return None  # a quoted URL is not a title
    if sum(c.isdigit() for c in title) > 0.3 * len(title.replace(" ", "")):
        return None  # "JHEP 10, 161 (2018b)"
    return title


def parse_title(raw: str) -> str | None:
    """The title inside one free-text bibliography string, or None when there is none or it is unclear."""
    text = _clean(raw)
    quoted = _QUOTED.search(text)
    if quoted:
        inner = next(g for g in quoted.groups() if g)
        inner = inner.strip().rstrip(",.;:").strip()
        if plausible_title(inner, quoted=True):
            return inner
    text = _strip_ids(text)
    author_end = 0
    kind_at_end = ""
    for end, kind in _boundaries(text):
        if not _is_author_prefix(text[:end]):
            break
        author_end, kind_at_end = end, kind
        # A sentence end, "et al." or a last author "and H. Neven" closes the list.
        if kind == "sentence" or _LAST_AUTHOR.search(text[:end]):
            break
    if author_end == 0:
        return None
    rest = text[author_end:]
    title = _title_from(rest, after_comma=kind_at_end in ("comma",))
    if title is None and kind_at_end == "initial":
        # "Hackl, K. Generalized standard media ..." vs "K. Smith, Title": an initial closed the list.
        title = _title_from(rest, after_comma=False)
    return plausible_title(title)


def parse_year(raw: str) -> int | None:
    years = [int(m.group(1)) for m in _YEAR.finditer(_URL.sub(" ", raw))]
    return years[-1] if years else None


def parse_bib_entry(
    entry_id: str, raw: str, *, ids: dict[str, str] | None = None, title: str | None = None
) -> BibEntry:
    """A BibEntry from a raw string: parsed title (unless given), arXiv id and DOI found in the text, year."""
    cleaned = _clean(raw)
    arxiv_id = find_arxiv_id_strict(cleaned)
    doi = find_doi(cleaned)
    if doi and doi.startswith("10.48550/arxiv."):
        arxiv_id = arxiv_id or find_arxiv_id_strict(doi.replace("arxiv.", "arXiv:"))
    return BibEntry(
        id=entry_id,
        raw=raw,
        title=title or parse_title(raw),
        arxiv_id=arxiv_id,
        doi=doi,
        year=parse_year(cleaned),
        ids=dict(ids or {}),
    )
