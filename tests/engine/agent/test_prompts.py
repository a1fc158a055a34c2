"""PaSa's prompts stay byte-exact, and the Crawler's replies are parsed tolerantly and bounded."""

from __future__ import annotations

import json

from engine.agent import prompts


def test_prompts_are_byte_exact() -> None:
    assert prompts.search_prompt("Q") == (
        "Please generate some mutually exclusive queries in a list to search the relevant papers according "
        "to the User Query. Searching for survey papers would be better.\nUser Query: Q"
    )
    assert prompts.expand_prompt("Q", "T", "A", ["1 Introduction", "2 Related Work"]) == (
        "You are conducting research on `Q`. You need to predict which sections to look at for getting more "
        'relevant papers. Title: T\nAbstract: A\nSections: ["1 Introduction", "2 Related Work"]'
    )
    assert prompts.selector_prompt("Q", "T", "A") == (
        "You are an elite researcher in the field of AI, conducting research on Q. Evaluate whether the "
        "following paper fully satisfies the detailed requirements of the user query and provide your "
        "reasoning. Ensure that your decision and reasoning are consistent.\n\nSearched Paper:\nTitle: T\n"
        "Abstract: A\n\nUser Query: Q\n\nOutput format: Decision: True/False\nReason:... \nDecision:"
    )
    # The section list is the JSON list PaSa trained on, not Python's dict_keys repr.
    assert json.dumps(["a"]) in prompts.expand_prompt("Q", "T", "A", ["a"])


def test_search_queries_follow_pasa_format() -> None:
    out = "[Search] coded computation stragglers\n[Search] gradient coding survey\n[StopSearch]"
    assert prompts.parse_search_queries(out, 5) == ["coded computation stragglers", "gradient coding survey"]


def test_search_queries_tolerate_cut_off_and_untagged_replies() -> None:
    assert prompts.parse_search_queries("[Search] straggler mitigation\n[Search] coded matrix mult", 5) == [
        "straggler mitigation",
        "coded matrix mult",
    ]
    assert prompts.parse_search_queries("1. straggler mitigation\n- coded computing\n", 5) == [
        "straggler mitigation",
        "coded computing",
    ]


def test_search_queries_are_bounded_and_deduplicated() -> None:
    endless = "".join(f"[Search] query number {i % 3}\n" for i in range(10_000))
    assert prompts.parse_search_queries(endless, 5) == ["query number 0", "query number 1", "query number 2"]
    long = "[Search] " + "word " * 1000 + "[StopSearch]"
    (query,) = prompts.parse_search_queries(long, 5)
    assert len(query) <= prompts.MAX_QUERY_CHARS
    assert prompts.parse_search_queries("", 5) == []
    assert prompts.parse_search_queries("\x00\x01 [[[ ]]] [Search][Search]", 5) == []


def test_expand_sections_match_real_sections_only() -> None:
    sections = ["1 Introduction", "2 Related Work", "3 Method 3.1 Coding"]
    out = "[Expand]2 Related Work[Expand]Made Up Section[Expand]3 Method 3.1 Coding[StopExpand]"
    assert prompts.parse_expand_sections(out, sections, 5) == ["2 Related Work", "3 Method 3.1 Coding"]
    assert prompts.parse_expand_sections("[Expand]related work[StopExpand]", sections, 5) == ["2 Related Work"]
    assert prompts.parse_expand_sections("garbage", sections, 5) == []
    assert prompts.parse_expand_sections(out, sections, 1) == ["2 Related Work"]
