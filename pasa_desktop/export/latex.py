"""LaTeX text for BibTeX fields: escaping that round-trips exactly, and decoding of what others write.

`encode` escapes LaTeX specials (& % $ # _ { } ~ ^ \\) and, for titles, protects words with inner
capitals (`{BERT}`, `{iPhone}`) so bibliography styles do not lower-case them. Inline math that LaTeX can
typeset (`$O(n \\log n)$`: no `%`, `#`, `&`, balanced braces) is kept as math, braced in titles. Literal
braces become `\\textbraceleft{}` / `\\textbraceright{}`: BibTeX and biber count every brace, escaped or
not, so `\\}` alone breaks the entry. `decode(encode(s)) == s` for every string; `decode` also reads
common accent commands (`{\\"o}`, `\\'e`, `\\ss`) from real files and keeps `$…$` math as written.
"""

from __future__ import annotations

import re
import unicodedata

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # Plain "@" is valid LaTeX, but a line of a field that starts with it reads as a new entry to BibTeX
    # parsers (bibtexparser's splitter aborts the whole entry); braced, it is the same character.
    "@": "{@}",
}
_WORDS = {
    "textbackslash": "\\",
    "textbraceleft": "{",
    "textbraceright": "}",
    "textasciitilde": "~",
    "textasciicircum": "^",
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "textendash": "–",
    "textemdash": "—",
    "textquoteright": "’",
    "textquoteleft": "‘",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
}
_GREEK = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon phi chi psi omega"
for _name, _letter in zip(_GREEK.split(), "αβγδεζηθικλμνξπρστυφχψω", strict=True):
    _WORDS[_name] = _letter
    _WORDS[_name.capitalize()] = _letter.upper()
_WORDS.update(
    {
        "ldots": "…",
        "dots": "…",
        "times": "×",
        "pm": "±",
        "infty": "∞",
        "cdot": "·",
        "le": "≤",
        "leq": "≤",
        "ge": "≥",
        "geq": "≥",
        "rightarrow": "→",
        "to": "→",
        "copyright": "©",
        "textregistered": "®",
        "varepsilon": "ε",
        "ell": "ℓ",
    }
)
# Accent command → combining character.
_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
_INNER_CAPITAL = re.compile(r"\S[A-Z]|^[A-Z]{2}")
# Candidate inline math: `$…$` on one line, not starting or ending with a space (so "$5 and $10" is text).
_MATH = re.compile(r"\$([^$\s](?:[^$\n]*[^$\s\\])?)\$")
_MATH_FORBIDDEN = re.compile(r"[%#&@]")
_MATH_NEEDS = re.compile(r"[A-Za-z\\^_]")


def _is_math(content: str) -> bool:
    if _MATH_FORBIDDEN.search(content) or not _MATH_NEEDS.search(content):
        return False
    depth = 0
    for ch in content:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def math_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` holds inline math that LaTeX can typeset as written."""
    return [m.span() for m in _MATH.finditer(text) if _is_math(m.group(1))]


def escape(text: str) -> str:
    return "".join(_SPECIALS.get(ch, ch) for ch in text)


def _encode_text(text: str, protect_capitals: bool) -> str:
    if not protect_capitals:
        return escape(text)
    out = []
    for piece in re.split(r"(\s+)", text):
        if piece and not piece.isspace() and _INNER_CAPITAL.search(piece):
            out.append("{" + escape(piece) + "}")
        else:
            out.append(escape(piece))
    return "".join(out)


def encode(text: str, *, protect_capitals: bool = False) -> str:
    out: list[str] = []
    last = 0
    for start, end in math_spans(text):
        out.append(_encode_text(text[last:start], protect_capitals))
        # Braced in titles: styles that change case leave a group alone.
        out.append("{" + text[start:end] + "}" if protect_capitals else text[start:end])
        last = end
    out.append(_encode_text(text[last:], protect_capitals))
    return "".join(out)


def decode(text: str) -> str:
    """LaTeX field text → Unicode. Unknown commands are dropped, their arguments kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "{}":
            i += 1
            continue
        if ch == "$":  # inline math: kept as written, dollars and all
            close = text.find("$", i + 1)
            if close != -1 and "\n" not in text[i:close]:
                out.append(text[i : close + 1])
                i = close + 1
            else:
                i += 1
            continue
        if ch == "~":  # an unescaped tie is a non-breaking space
            out.append(" ")
            i += 1
            continue
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in "{}&%$#_ ,;!":
            out.append({",": " ", ";": " ", "!": "", " ": " "}.get(nxt, nxt))
            i += 2
            continue
        if nxt == "\\":  # a line break in LaTeX
            out.append(" ")
            i += 2
            continue
        if nxt in _ACCENTS and not nxt.isalpha():
            base, i = _accent_argument(text, i + 2)
            out.append(unicodedata.normalize("NFC", base + _ACCENTS[nxt]) if base else "")
            continue
        m = re.match(r"[A-Za-z]+", text[i + 1 :])
        if not m:
            out.append(nxt)
            i += 2
            continue
        name = m.group(0)
        j = i + 1 + len(name)
        if name in _ACCENTS and (j < n and (text[j] in "{ " or name not in _WORDS)):
            base, i = _accent_argument(text, j)
            out.append(unicodedata.normalize("NFC", base + _ACCENTS[name]) if base else "")
            continue
        if name in _WORDS:
            out.append(_WORDS[name])
            # `\ss{}` / `\textbackslash{}`: an empty group terminates the command.
            if text.startswith("{}", j):
                j += 2
            elif j < n and text[j] == " " and name not in ("LaTeX", "TeX"):
                j += 1
            i = j
            continue
        # Unknown command (\emph, \textbf, \url…): drop the name, keep the argument text.
        if j < n and text[j] == " ":
            j += 1
        i = j
    return "".join(out)


def _accent_argument(text: str, i: int) -> tuple[str, int]:
    """The letter an accent applies to: `\\'e`, `\\'{e}`, `\\' e`, `\\'{\\i}`."""
    n = len(text)
    while i < n and text[i] == " ":
        i += 1
    if i >= n:
        return "", i
    if text[i] == "{":
        close = text.find("}", i)
        if close == -1:
            return decode(text[i + 1 :]), n
        return decode(text[i + 1 : close]), close + 1
    if text[i] == "\\":
        m = re.match(r"\\([A-Za-z]+)", text[i:])
        if m and m.group(1) in _WORDS:
            return _WORDS[m.group(1)], i + len(m.group(0))
    return text[i], i + 1
