"""Numbers a user types and text that reaches the terminal: every numeric option outside `pasa search`
and `pasa eval` is range- and overflow-checked (exit 2, one line, no traceback); control characters in
titles and queries are shown as escapes; secrets are redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.redact import looks_like_secret, redact, redact_url
from pasa_desktop.cli.main import main
from pasa_desktop.cli.terminal import printable

HUGE = "99999999999999999999"

PROBES = [
    ["history", "--limit", HUGE],
    ["history", "--limit", "0"],
    ["history", "--limit", "-1"],
    ["history", "--limit", "ten"],
    ["history", "--limit", "9" * 5000],
    ["show", HUGE],
    ["show", "0"],
    ["show", "1", "--limit", "-5"],
    ["library", "show", HUGE],
    ["library", "show", "-1"],
    ["library", "search", "--run", HUGE],
    ["library", "search", "--limit", HUGE + "0"],
    ["library", "tag", HUGE, "--tag", "x"],
    ["library", "rate", "1", "6"],
    ["library", "rate", "1", HUGE],
    ["library", "merge", "1", HUGE],
    ["library", "delete", HUGE],
    ["export", "-o", "-", "--run", HUGE],
    ["export", "-o", "-", "--paper", HUGE],
    ["zotero", "push", "--run", HUGE],
    ["models", "add", "x", "--kind", "gguf", "--context", HUGE],
    ["models", "add", "x", "--kind", "gguf", "--threads", "-2"],
    ["models", "add", "x", "--kind", "gguf", "--batch-size", "0"],
    ["models", "check", "x", "--pairs", HUGE],
    ["paper", "2212.11867", "--limit", HUGE + HUGE],
    ["train", "data", "selector", "--limit", "0"],
    ["train", "local-selector", "--minutes", "nan"],
    ["train", "local-selector", "--minutes", "-3"],
    ["train", "local-selector", "--minutes", "inf"],
]


@pytest.mark.parametrize("argv", PROBES, ids=[" ".join(a)[:60] for a in PROBES])
def test_out_of_range_numbers_are_usage_errors(
    argv: list[str], user_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "error: argument" in err and "Traceback" not in err
    assert len(err) < 2000  # a 5,000-digit number is not echoed back whole


SEARCH_PROBES = [
    (["search", "q", "--resume", HUGE], "--resume"),  # was an OverflowError traceback from SQLite
    (["search", "q", "--resume", "0"], "--resume"),
    (["search", "q", "--max-seconds", "-3"], "--max-seconds"),
    (["search", "q", "--max-seconds", "0"], "--max-seconds"),  # was silently ignored
    (["search", "q", "--max-seconds", "nan"], "--max-seconds"),
    (["search", "q", "--max-seconds", "inf"], "--max-seconds"),
    (["search", "q", "--crawler-samples", "-2"], "--crawler-samples"),
    (["search", "q", "--crawler-samples", "0"], "--crawler-samples"),  # was silently ignored
    (["search", "q", "--crawler-samples", "1000000"], "--crawler-samples"),
    (["eval", "--queries", "x.jsonl", "--output", "o.jsonl", "--max-seconds", "nan"], "--max-seconds"),
    (["eval", "--queries", "x.jsonl", "--output", "o.jsonl", "--max-seconds", "0"], "--max-seconds"),
]


@pytest.mark.parametrize("argv, names", SEARCH_PROBES, ids=[" ".join(a)[:60] for a, _ in SEARCH_PROBES])
def test_search_and_eval_numbers_are_refused_before_any_work(
    argv: list[str], names: str, user_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 with one line naming the option (never a pydantic ValidationError), before an index is
    looked for: none exists here, so any work would have said so instead."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]  # argparse exits with its status
    err = capsys.readouterr().err
    assert code == 2, err
    assert names in err and "Traceback" not in err and "ValidationError" not in err and "index" not in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("year", [HUGE, "2020-" + HUGE, "0", "2030-2020", "abc", "-"])
def test_year_filters_are_checked(year: str, user_library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "search", "--year", year]) in (0, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_a_run_or_paper_that_does_not_exist_is_a_message(
    user_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = str(2**63 - 1)
    assert main(["show", big]) == 1
    assert main(["library", "show", big]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("pasa:") == 2


def test_control_characters_never_reach_the_terminal(user_library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["history"],
        ["show", "1", "--queries", "--tree"],
        ["show", "1"],
        ["library", "show", "1"],
        ["library", "search"],
    ):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, argv
    assert main(["library", "show", "1"]) == 0
    assert "Evil \\x1b]0;pwned\\x07 title" in capsys.readouterr().out


def test_printable() -> None:
    assert printable("a\x1b[2Jb\tc\u202ed\x9b") == "a\\x1b[2Jb c\\u202ed\\x9b"
    assert printable("line\nnext", keep_newlines=True) == "line\nnext"
    assert printable("Schrödinger's cat — naïve 数学") == "Schrödinger's cat — naïve 数学"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("cannot reach http://user:secret@host/v1/chat", "secret"),
        ('{"base_url": "https://tok3n@host:8000/v1"}', "tok3n"),
        ("echo: Authorization: Bearer abcdef0123456789xyz", "abcdef0123456789xyz"),
        ('{"headers": {"x-api-key": "k-1234567890abcdef"}}', "k-1234567890abcdef"),
        ("Zotero-API-Key: P9NiFoyLeZu2bZNvvuQPDWsd", "P9NiFoyLeZu2bZNvvuQPDWsd"),
        ("https://api.example.org/search?q=x&api_key=s3cr3tvalue", "s3cr3tvalue"),
        ("the key sk-live-4f9a8b7c6d5e4f3a2b1c was rejected", "sk-live-4f9a8b7c6d5e4f3a2b1c"),
        ("token=ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "***" in out


def test_redact_leaves_ordinary_text_alone() -> None:
    for text in (
        "Selector: scoring 1–8 of 40",
        '{"max_tokens": 160, "true_token_id": 2787, "api_key_env": "OPENAI_API_KEY"}',
        "http://127.0.0.1:8000/v1 answered 404",
        "Token-level attention for passwords-free authentication",
    ):
        assert redact(text) == text
    assert redact_url("http://a:b@h:1/v1?x=1") == "http://***@h:1/v1?x=1"


def test_looks_like_secret() -> None:
    assert looks_like_secret("sk-live-4f9a8b7c6d5e4f3a2b1c")
    assert looks_like_secret("4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c")
    assert not looks_like_secret("OPENAI_API_KEY") and not looks_like_secret("MY_SERVER_KEY_2")
