"""The real trainers for 2 steps on a tiny random Qwen2 on CPU (smoke mode), and their fault handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import parse_config
from training.data import SelectorPair, crawler_search_row, selector_row
from training.metrics import list_checkpoints, read_metrics, read_status
from training.runner import JOB_FILE, main

pytestmark = pytest.mark.slow


def _write_sft_rows(path: Path) -> None:
    rows = [
        selector_row(SelectorPair("graph nets for molecules", "GNN for molecules", "We predict.", True, "gold")),
        selector_row(SelectorPair("graph nets for molecules", "Speech", "Audio.", False, "retrieved")),
        crawler_search_row("graph nets for molecules", ["gnn molecules", "molecule survey"]),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"messages": "not a list"}\n')


def _job(tmp_path: Path, raw: dict[str, object]) -> Path:
    config = parse_config(raw)
    (tmp_path / JOB_FILE).write_text(config.to_toml())
    return tmp_path


@pytest.mark.parametrize("lora", [False, True])
def test_sft_smoke_two_steps(tiny_qwen2: Path, tmp_path: Path, lora: bool) -> None:
    _write_sft_rows(tmp_path / "rows.jsonl")
    job = _job(tmp_path, {
        "job": {"kind": "sft", "smoke": True, "output_dir": "."},
        "model": {"path": str(tiny_qwen2), "lora": lora, "lora_r": 4, "lora_alpha": 8},
        "data": {"train": str(tmp_path / "rows.jsonl")},
    })
    assert main([str(job)]) == 0
    status = read_status(job)
    assert status["state"] == "finished", status
    rows = read_metrics(job)
    steps = [r for r in rows if "loss" in r and "event" not in r]
    assert [r["step"] for r in steps] == [1, 2] and all(r["loss"] > 0 for r in steps)
    assert any(r.get("event") == "skipped_row" and "messages" in r["message"] for r in rows)
    final = Path(status["checkpoint"])
    assert final in list_checkpoints(job)
    from transformers import AutoModelForCausalLM

    if lora:
        assert (final / "adapter_config.json").exists()
    else:
        AutoModelForCausalLM.from_pretrained(str(final))  # a usable checkpoint


def test_sft_nan_loss_stops_with_a_clear_message(tiny_qwen2: Path, tmp_path: Path) -> None:
    _write_sft_rows(tmp_path / "rows.jsonl")
    job = _job(tmp_path, {
        "job": {"kind": "sft", "smoke": True, "output_dir": "."},
        "model": {"path": str(tiny_qwen2)},
        "data": {"train": str(tmp_path / "rows.jsonl")},
        "sft": {"learning_rate": 1e30, "warmup_ratio": 0.0},  # the first update blows the weights up
    })
    assert main([str(job)]) == 3
    status = read_status(job)
    assert status["state"] == "failed" and "became nan" in status["message"], status


def test_sft_without_usable_rows_fails_cleanly(tiny_qwen2: Path, tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text("garbage\n")
    job = _job(tmp_path, {
        "job": {"kind": "sft", "smoke": True, "output_dir": "."},
        "model": {"path": str(tiny_qwen2)},
        "data": {"train": str(tmp_path / "rows.jsonl")},
    })
    assert main([str(job)]) == 2
    assert "no usable SFT rows" in read_status(job)["message"]


def test_ppo_smoke_two_steps(tiny_qwen2: Path, small_index: Path, queries_file: Path, tmp_path: Path) -> None:
    job = _job(tmp_path, {
        "job": {"kind": "ppo", "role": "crawler", "smoke": True, "output_dir": "."},
        "model": {"path": str(tiny_qwen2)},
        "data": {"queries": str(queries_file), "index": str(small_index)},
        "ppo": {"max_new_tokens": 24},
    })
    assert main([str(job)]) == 0, read_status(job)
    rows = [r for r in read_metrics(job) if "reward" in r]
    assert [r["step"] for r in rows] == [1, 2]
    assert [r["phase"] for r in rows] == ["value-warmup", "ppo"]
    for r in rows:
        assert {"reward", "kl", "value_loss", "loss", "lr", "tokens_per_s"} <= set(r)
    final = Path(read_status(job)["checkpoint"])
    assert (final / "value_head.pt").exists() and (final / "config.json").exists()
