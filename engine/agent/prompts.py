"""PaSa's prompts, byte-exact (bytedance/pasa), and tolerant parsers for the Crawler's outputs.

The released pasa-7b checkpoints were trained on exactly these strings; do not reformat them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

SEARCH_PROMPT = (
    "Please generate some mutually exclusive queries in a list to search the relevant papers "
    "according to the User Query. Searching for survey papers would be better.\nUser Query: {user_query}"
)

EXPAND_PROMPT = (
    "You are conducting research on `{user_query}`. You need to predict which sections to look at "
    "for getting more relevant papers. Title: {title}\nAbstract: {abstract}\nSections: {sections}"
)

SELECTOR_PROMPT = (
    "You are an elite researcher in the field of AI, conducting research on {user_query}. Evaluate "
    "whether the following paper fully satisfies the detailed requirements of the user query and "
    "provide your reasoning. Ensure that your decision and reasoning are consistent.\n\n"
    "Searched Paper:\nTitle: {title}\nAbstract: {abstract}\n\nUser Query: {user_query}\n\n"
    "Output format: Decision: True/False\nReason:... \nDecision:"
)

_SEARCH_TAG = re.compile(r"Search\](.*?)\[", re.DOTALL)
_EXPAND_TAG = re.compile(r"Expand\](.*?)\[", re.DOTALL)
# Queries longer than this are not queries but rambling; the Crawler's output is bounded.
MAX_QUERY_CHARS = 200


def search_prompt(user_query: str) -> str:
    return SEARCH_PROMPT.format(user_query=user_query)


def expand_prompt(user_query: str, title: str, abstract: str, sections: Sequence[str]) -> str:
    # Training format is a JSON list; the released inference code's dict_keys([...]) is a mismatch.
    return EXPAND_PROMPT.format(
        user_query=user_query, title=title, abstract=abstract, sections=json.dumps(list(sections))
    )


def selector_prompt(user_query: str, title: str, abstract: str) -> str:
    return SELECTOR_PROMPT.format(user_query=user_query, title=title, abstract=abstract)


def _clean_query(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip().strip("\"'`").strip()
    return text[:MAX_QUERY_CHARS].strip()


def parse_search_queries(output: str, limit: int) -> list[str]:
    """Queries from `[Search] q1\\n[Search] q2 ... [StopSearch]`, tolerant of missing or odd tags.

    PaSa's regex needs a closing `[`; a reply cut off before `[StopSearch]` still yields its last
    query. A reply without tags falls back to one query per non-empty line (numbered or bulleted
    lists are common from untuned models). Duplicates and empty queries are dropped.
    """
    text = output + "["  # close a trailing, unterminated [Search] item
    found = [m for m in _SEARCH_TAG.findall(text)]
    if not found:
        found = [re.sub(r"^\s*(?:[-*•]|\d+[.)]|query\s*\d*:)\s*", "", line, flags=re.I) for line in output.splitlines()]
    queries: list[str] = []
    seen: set[str] = set()
    for raw in found:
        query = _clean_query(raw)
        if len(query) < 3 or query.lower().startswith("stopsearch") or query.lower() in seen:
            continue
        seen.add(query.lower())
        queries.append(query)
        if len(queries) >= limit:
            break
    return queries


def parse_expand_sections(output: str, sections: Sequence[str], limit: int) -> list[str]:
    """Section names from `[Expand]s1[Expand]s2...[StopExpand]`, kept only if they name a real section.

    Untuned models paraphrase: a reply that names a section by its number or heading alone still
    matches (case-insensitive containment), anything else is ignored.
    """
    text = output + "["
    picked = [_clean_query(m) for m in _EXPAND_TAG.findall(text)]
    if not picked:
        picked = [_clean_query(line) for line in output.splitlines() if line.strip()]
    chosen: list[str] = []
    lowered = {s.lower(): s for s in sections}
    for item in picked:
        low = item.lower()
        match = lowered.get(low)
        if match is None and len(low) >= 4:
            candidates = [s for s in sections if low in s.lower() or s.lower() in low]
            match = candidates[0] if len(candidates) == 1 else None
        if match is not None and match not in chosen:
            chosen.append(match)
        if len(chosen) >= limit:
            break
    return chosen
