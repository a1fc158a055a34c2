"""The query cleaner between the Crawler and the sources: every query the agent runs and shows is a
search string.

A small untuned Crawler (the embedded SmolLM2) answers PaSa's search prompt with prose as often as
with queries: it echoes the prompt ("Please generate some mutually exclusive queries…", "User
Query: …"), labels its items ("Query:", "Method:", "The answer is:", "Available queries:"), writes a
whole numbered list into one line, or repeats the user's question, sometimes several times over.
`clean_queries` turns such raw items into search strings: lists are split, labels and markup
stripped, repeated phrases collapsed; prompt echoes, restatements of the question, and strings too
short or too long to be a search query are dropped. The cases in tests/engine/agent/test_query_cleaner.py
come from the embedded model's real replies (tests/engine/agent/data/crawler_replies.jsonl).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A search query is a handful of words. Shorter is not a query; longer is a sentence of prose (PaSa's
# own Crawler writes 3–12 words).
MIN_CONTENT_WORDS = 2
MAX_WORDS = 20
MAX_CHARS = 200
# A query sharing this share of its content words with the question is the question again.
RESTATEMENT_OVERLAP = 0.85
# …and covers this share of the question's content words (a cut-off restatement still counts; a few
# of the question's keywords on their own are a real, narrower query).
RESTATEMENT_COVER = 0.6

# Phrases of PaSa's prompts (engine/agent/prompts.py) that a model echoes back. A piece containing one is
# instruction text, not a query.
_ECHOES = (
    "please generate",
    "mutually exclusive",
    "mutual exclusive",
    "generate some",
    "search the relevant papers",
    "according to the user query",
    "searching for survey papers would be better",
    "survey papers would be better",
    "in a list to search",
    "user query",
    "you are conducting research",
    "you need to predict",
    "which sections to look at",
    "output format",
    "elite researcher",
    "here are some",
    "here is a list",
    "i hope this helps",
    "let me know",
    "as an ai",
    "i cannot",
    "i can't",
    "sure,",
)
# Labels that open (or sit inside) an item; what follows a label is the candidate query. Longest first.
_LABELS = (
    "available queries",
    "references",
    "reference",
    "sources",
    "source",
    "link",
    "ref",
    "search queries",
    "search query",
    "the answer is",
    "the queries are",
    "the query is",
    "answer",
    "queries",
    "query",
    "method",
    "keywords",
    "keyword",
    "topic",
    "question",
    "output",
    "result",
    "response",
    "title",
    "search",
    "[a-z]",
)
_LABEL = re.compile(
    r"(?:^|(?<=[\s\-*•.;,(\[]))(?:" + "|".join(label if label == "[a-z]" else re.escape(label) for label in _LABELS) + r")\s*\d*\s*[:=]\s*",
    re.IGNORECASE,
)
# "The answer is" / "Available queries" without a colon, at the start.
_BARE_LEAD = re.compile(
    r"^(?:the answer is|available queries|the queries are|here are (?:the|some) queries)\b\s*[:\-–—]?\s*",
    re.IGNORECASE,
)
# Item markers of a list written into one string: "1. ", "2) ", "- ", "* ", "• ", "[Search]".
_ITEM = re.compile(r"(?:^|\s)(?:[-*•]\s*)?(?:\d{1,2}[.)]|[-*•]|\[\s*(?:search|stopsearch)\s*\])\s+", re.IGNORECASE)
# URLs and Markdown links the model invents ("[IDMs](https://www.sciencedirect.com/…)"): a search
# string is words; the link's text is kept, the address dropped.
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)?")
_URL = re.compile(r"\(?\b(?:https?://|www\.)\S*|\b[\w.-]+\.(?:com|org|net|edu|io)\b(?:/\S*)?", re.IGNORECASE)
# What stands before the search string, stripped in this order (each phrase the model wraps around a query):
_LEAD_PATTERNS = (
    # A request wrapped around the query ("Please provide a list of studies that …"): the model
    # paraphrasing the instruction. What follows it is the search string.
    (r"^(?:please\s+|can you\s+|could you\s+|i want you to\s+)?"
     r"(?:provide|give|find|list|show|search(?:\s+for)?|look(?:\s+for)?|identify|retrieve|recommend|generate)"
     r"(?:\s+me)?(?:\s+(?:a|the)\s+list\s+of)?(?:\s+(?:the|some|any|all|relevant))*"
     r"(?:\s+(?:papers|studies|works|articles|research|publications|literature|queries|surveys?))?"
     r"(?:\s+(?:that|which|on|about|in|for|related\s+to|regarding|where|discussing|covering))?\s+"),
    # The question form and topic phrases around a query ("What are the studies (that) …", "A study on the
    # use of …"): the words after them are the search string.
    (r"^(?:what|which)\s+(?:are|is|were|was)?\s*(?:the\s+|some\s+)?(?:\w+\s+)?"
     r"(?:studies|papers|works|research|methods|approaches|articles)\s+(?:that\s+|which\s+)?"),
    r"^(?:a|an|the)\s+(?:study|survey|paper|review|work)\s+(?:on|of|about|into)\s+(?:the\s+use\s+of\s+)?",
    # What is left of a relative clause once the request before it is gone ("… studies that have been
    # conducted on adversarial training" → "adversarial training").
    (r"^(?:(?:have|has|had)\s+been\s+(?:\w+\s+)?(?:on|in|for|about|with|to|into)|(?:have|has)\s+(?:focused|worked)"
     r"\s+on|(?:are|is)\s+(?:about|on))\s+"),
    # A restated request without its verb ("papers that discuss the topic of X") and a dangling preposition.
    (r"^(?:(?:papers|studies|works|articles|research)\s+(?:that|which)\s+(?:have\s+been\s+published\s+on|discuss|"
     r"cover|address|study|focus\s+on|are\s+about)\s+)?(?:the\s+topic\s+of\s+)?"),
    r"^(?:in|on|of|for|about|with|to|into|by)\s+",
)
_LEADS = tuple(re.compile(pattern, re.IGNORECASE) for pattern in _LEAD_PATTERNS)
_TAGS = re.compile(r"\[\s*/?\s*(?:search|stopsearch|expand|stopexpand)\s*\]", re.IGNORECASE)
_MARKUP = re.compile(r"[*_`#>]+")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_STOP = frozenset(
    "a an the of for in on to and or with by from as at is are be was were that this these those which what "
    "who whom how why when where do does did can could should would will any some all about into over under "
    "between using use used based via their its it they them there than then such other more most papers paper "
    "research work works study studies find me i we you our your".split()
)
# The same phrase (one to eight words) three or more times in a row.
_RUN = re.compile(r"\b(\w+(?:\W+\w+){0,7}?)(?:\W+\1\b){2,}", re.IGNORECASE)


_SEARCH_ITEM = re.compile(r"\[\s*Search\s*\](.*?)(?=\[\s*(?:Search|StopSearch)\s*\]|\Z)", re.DOTALL | re.IGNORECASE)


def reply_items(reply: str) -> list[str]:
    """The raw items of a Crawler reply: the text after each `[Search]` tag (up to the next tag or the
    end, so a reply cut off before `[StopSearch]` keeps its last item), else the whole reply. Nothing is
    cut or dropped here; `clean_queries` does that."""
    items = [m.strip() for m in _SEARCH_ITEM.findall(reply)]
    items = [item for item in items if item]
    return items if items else ([reply.strip()] if reply.strip() else [])


def _content_words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP and len(w) > 1]


def _split_items(text: str) -> list[str]:
    """One raw string → the items of any list written into it (lines, numbers, bullets, tags)."""
    pieces: list[str] = []
    for line in text.splitlines():
        for piece in _ITEM.split(line):
            piece = piece.strip()
            if piece:
                pieces.append(piece)
    return pieces


def _split_labels(piece: str) -> list[str]:
    """'Method: X Query: Y' → ['X', 'Y']; 'Query: Y' → ['Y']; text before any label is kept too."""
    piece = _BARE_LEAD.sub("", piece.strip())
    parts = [p.strip() for p in _LABEL.split(piece)]
    return [p for p in parts if p]


def _collapse_repeats(text: str) -> str:
    """'graph neural networks graph neural networks graph neural networks' → 'graph neural networks'."""
    previous = None
    while previous != text:
        previous = text
        text = _RUN.sub(r"\1", text)
    # A string that is two copies of itself ("X. X" / "X X").
    words = text.split()
    half = len(words) // 2
    if half >= 2 and len(words) % 2 == 0 and [w.lower() for w in words[:half]] == [w.lower() for w in words[half:]]:
        text = " ".join(words[:half])
    return text


def _balance(text: str) -> str:
    """Drop brackets left unmatched by a cut-off reply ("Networks (GANs" → "Networks GANs")."""
    for opening, closing in (("(", ")"), ("[", "]")):
        if text.count(opening) != text.count(closing):
            text = text.replace(opening, " ").replace(closing, " ")
    return " ".join(text.split())


def _tidy(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _TAGS.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    text = " ".join(text.split())
    # Quotes and brackets around the whole item, trailing list punctuation, a leading conjunction.
    text = text.strip(" \t\"'“”‘’`()[]{}<>")
    text = re.sub(r"[\s.,;:!\-–—]+$", "", text)
    text = re.sub(r"^(?:and|or|also|then)\s+", "", text, flags=re.IGNORECASE)
    for lead in _LEADS:
        text = lead.sub("", text)
    text = _balance(text)
    text = re.sub(r"[\s.,;:!\-–—]+$", "", text).strip(" \t\"'“”‘’`")
    text = text.strip(" \t\"'“”‘’`")
    return _collapse_repeats(text)


def _is_echo(text: str) -> bool:
    low = text.lower()
    return any(phrase in low for phrase in _ECHOES)


def is_restatement(query: str, question: str) -> bool:
    """True when `query` is the question again (wholly, or nearly all its words and nothing new)."""
    q_words = _content_words(query)
    asked = _content_words(question)
    if not q_words or not asked:
        return False
    if " ".join(asked) in " ".join(q_words):
        return True
    asked_set = set(asked)
    q_set = set(q_words)
    inside = len(q_set & asked_set) / len(q_set)
    covered = len(q_set & asked_set) / len(asked_set)
    return inside >= RESTATEMENT_OVERLAP and covered >= RESTATEMENT_COVER


def is_search_string(text: str) -> bool:
    """A plausible search query: enough content words, short enough, not instruction text."""
    if not text or len(text) > MAX_CHARS or _is_echo(text):
        return False
    words = _WORD.findall(text)
    if len(words) > MAX_WORDS:
        return False
    if len(_content_words(text)) < MIN_CONTENT_WORDS:
        return False
    # Mostly letters: a query is words, not code, numbers or punctuation.
    letters = sum(c.isalpha() for c in text)
    return letters >= 0.6 * len(text.replace(" ", ""))


def clean_query(raw: str, question: str | None = None) -> list[str]:
    """One raw Crawler item → zero or more search strings (in order). `question`: the user's
    question; a restatement of it is dropped (it is run as the user's own query). None keeps them."""
    out: list[str] = []
    for item in _split_items(raw):
        if _is_echo(item) and not _LABEL.search(item):
            continue
        for part in _split_labels(item):
            text = _tidy(part)
            if not is_search_string(text):
                continue
            if question is not None and is_restatement(text, question):
                continue
            out.append(text)
    return out


def clean_queries(raw: Iterable[str], question: str | None = None, *, limit: int | None = None) -> list[str]:
    """Search strings from raw Crawler items: split, cleaned, restatements and duplicates dropped
    (case-insensitive), at most `limit`."""
    seen: set[str] = set()
    out: list[str] = []
    for item in raw:
        for query in clean_query(item, question):
            key = " ".join(_content_words(query))
            if key in seen:
                continue
            seen.add(key)
            out.append(query)
            if limit is not None and len(out) >= limit:
                return out
    return out
