"""Secrets out of text before it is printed, logged or stored.

One function, `redact`, used at the boundaries (error messages, Notice events, what the library
stores, `models list`): credentials in URLs (`http://user:secret@host`), authorisation headers
(`Authorization: Bearer …`, `x-api-key: …`, `Zotero-API-Key: …`), secret query parameters
(`?api_key=…`) and strings shaped like well-known API keys (`sk-…`, `ghp_…`). It works on plain text
and on JSON text alike: a replacement never swallows a quote, a comma or a brace.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# scheme://user:password@host or scheme://token@host: everything between "//" and "@" is a credential.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@\"'<>]+)@")
# Header-like "name: value" or "name=value" (also JSON "name": "value") for names that carry secrets.
_SECRET_NAMES = (
    r"authorization|proxy-authorization|x-api-key|api[-_]?key|apikey|zotero-api-key|x-zotero-api-key"
    r"|access[-_]?token|refresh[-_]?token|client[-_]?secret|password|passwd|secret|token"
)
_HEADER = re.compile(
    rf"(?P<name>\b(?:{_SECRET_NAMES})\b)(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>(?:bearer\s+|basic\s+|token\s+)?[^\s\"',;&}}\]\\]+)",
    re.IGNORECASE,
)
# "Bearer abc…" anywhere (a server echoing our request headers back in its error text).
_BEARER = re.compile(r"\b(?P<kind>bearer|basic)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
# Shapes of real API keys: OpenAI/Anthropic-style sk-…, GitHub tokens, Hugging Face tokens, Slack, AWS ids.
KEY_SHAPE = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{8,}|(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{16,}|hf_[A-Za-z0-9]{16,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})"
)


def redact(text: str) -> str:
    """`text` with every credential it contains replaced by ***."""
    if not text:
        return text
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _HEADER.sub(_mask_header, text)
    text = _BEARER.sub(lambda m: f"{m['kind']} {MASK}", text)
    return KEY_SHAPE.sub(MASK, text)


def _mask_header(m: re.Match[str]) -> str:
    value = m["value"]
    if value == MASK or value.endswith(MASK):
        return m.group(0)
    scheme = value.split()[0] + " " if " " in value else ""
    return f"{m['name']}{m['sep']}{scheme}{MASK}"


def redact_url(url: str) -> str:
    """A URL without its user name and password (the host, port and path stay: they are what a user checks)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if "@" not in parts.netloc:
        return redact(url)
    host = parts.netloc.rsplit("@", 1)[1]
    return redact(urlunsplit((parts.scheme, f"{MASK}@{host}", parts.path, parts.query, parts.fragment)))


def looks_like_secret(value: str) -> bool:
    """True for a value shaped like an API key rather than, say, an environment variable's name."""
    value = value.strip()
    if KEY_SHAPE.search(value):
        return True
    # Environment variable names are short identifiers; a long mixed-case/digit blob is a key.
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value) is None:
        return len(value) >= 16
    has_lower, has_digit = any(c.islower() for c in value), any(c.isdigit() for c in value)
    return len(value) >= 24 and has_lower and has_digit and not value.isupper()
