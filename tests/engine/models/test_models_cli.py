"""`pasa models …` end to end: profiles saved and listed, a check on real backends, a conversion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pasa_desktop.cli.main import main
from pasa_desktop.settings import load_settings
from tests.engine.models.conftest import FakeServer


def test_add_list_remove(tiny_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "add", "cpu-tiny", "--kind", "gguf", "--path", str(tiny_gguf), "--use-for", "selector"]) == 0
    settings = load_settings()
    assert settings.selector_profile == "cpu-tiny" and settings.profile("cpu-tiny").path == str(tiny_gguf)
    capsys.readouterr()
    assert main(["models", "list", "--json"]) == 0
    names = [p["name"] for p in json.loads(capsys.readouterr().out)]
    assert names == ["embedded", "relevance", "cpu-tiny"]  # the built-in Selector is listed before it is prepared
    assert main(["models", "list"]) == 0
    assert "not prepared yet" in capsys.readouterr().out
    assert main(["models", "remove", "cpu-tiny"]) == 0
    assert load_settings().selector_profile == "relevance"  # back to the default Selector
    assert main(["models", "check", "nope"]) == 1  # unknown profile: a clear error, exit 1


def test_check_reports_template_true_token_and_parsing(tiny_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["models", "check", "tiny", "--kind", "gguf", "--path", str(tiny_gguf), "--context", "1024", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "llama.cpp" and report["chat_template"] == "model's own (ChatML family)"
    assert isinstance(report["true_token_id"], int)
    assert report["crawler"]["tokens_per_s"] > 0 and isinstance(report["crawler"]["parsed"], bool)
    assert report["selector"]["valid_probabilities"] is True and len(report["selector"]["scores"]) == 2
    assert "GiB" in report["memory"]


def test_check_says_when_a_server_gives_no_logprobs(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        message = {"role": "assistant", "content": "[Search] rlhf survey\n[StopSearch]"}
        return 200, {"choices": [{"index": 0, "message": message, "text": "x", "logprobs": None}]}

    with FakeServer(handler) as server:
        code = main(["models", "check", "lab", "--kind", "openai", "--base-url", server.base_url, "--model", "m"])
    out = capsys.readouterr().out
    assert code == 1
    assert "returns no logprobs" in out and "selector       FAILED" in out
    assert "rlhf survey" in out  # the Crawler call still worked


def test_convert_command(tiny_hf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.gguf"
    assert main(["models", "convert", str(tiny_hf), "--to", "gguf", "--quant", "q8_0", "--out", str(out)]) == 0
    assert out.is_file() and "pasa models add" in capsys.readouterr().out
    assert main(["models", "convert", str(tiny_hf), "--out", str(out)]) == 2  # exists: refused, nothing lost
    assert main(["models", "convert", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
@pytest.mark.data
def test_check_scores_labelled_pairs(
    tiny_gguf: Path,
    corpus_slice: Path,
    dev_queries: list[dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--pairs: gold papers vs BM25-retrieved non-gold papers from the real corpus, AUC and F1 reported."""
    from engine.sources.local_index import build_index
    from pasa_desktop.settings import load_settings as settings_now

    build_index(corpus_slice, settings_now().index_path())
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps(q) + "\n" for q in dev_queries[:10]))
    args = ["models", "check", "tiny", "--kind", "gguf", "--path", str(tiny_gguf), "--context", "2048"]
    assert main([*args, "--pairs", "12", "--queries", str(queries), "--json"]) == 0
    pairs = json.loads(capsys.readouterr().out)["pairs"]
    assert pairs["pairs"] == 12 and 0 < pairs["positives"] < 12
    assert 0.0 <= pairs["auc"] <= 1.0 and 0.0 <= pairs["f1"] <= 1.0
    assert "BM25" in pairs["negatives"]
