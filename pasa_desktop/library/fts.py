"""User text → a safe FTS5 MATCH expression. Users type anything; SQLite must never see a syntax error.

Every word becomes a quoted string (so AND/OR/NEAR/NOT, parentheses, colons and carets are literal),
"quoted phrases" stay phrases, and a trailing * on a word keeps prefix search. Words are AND-ed.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r'"([^"]*)"|(\w+)(\*?)', re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)


def match_expression(text: str) -> str | None:
    """The MATCH string for `text`, or None when it holds no searchable word."""
    parts: list[str] = []
    for m in _PIECE.finditer(text or ""):
        phrase, word, star = m.group(1), m.group(2), m.group(3)
        if phrase is not None:
            words = _WORD.findall(phrase)
            if words:
                parts.append('"' + " ".join(words) + '"')
        elif word:
            parts.append(f'"{word}"' + ("*" if star else ""))
    return " ".join(parts) if parts else None
