"""Text from the library (imported titles, typed queries, server messages) made safe for a terminal.

An imported title can hold escape sequences: printed raw, `\\x1b]0;…\\x07` retitles the window, `\\x1b[2J`
clears it and OSC 8/52 sequences can plant links or write the clipboard. Every CLI printer passes such
text through `printable`, which shows each control character as a visible escape (`\\x1b`) instead.
"""

from __future__ import annotations

import unicodedata

from engine.redact import redact

# Characters that reorder the text around them (bidi overrides and isolates): they can make a printed
# line read differently from what it holds ("Trojan Source").
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with control characters (C0, DEL, C1, bidi controls) written as visible escapes.

    Tabs become spaces; newlines stay only with `keep_newlines` (multi-line notes and abstracts).
    """
    out: list[str] = []
    for ch in str(text):
        if ch == "\t":
            out.append(" ")
        elif ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def safe_message(text: object) -> str:
    """An error or server message for the terminal: secrets redacted, control characters escaped."""
    return printable(redact(str(text)))
