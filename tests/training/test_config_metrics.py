"""Job files (TOML, PaSa defaults, clear errors) and the metrics stream reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import InputError
from training.config import JobConfig, load_config, parse_config
from training.deepspeed import deepspeed_config, write_accelerate_files
from training.metrics import MetricsTail, MetricsWriter, list_checkpoints, read_status, write_status


def test_defaults_are_pasas() -> None:
    config = JobConfig()
    assert (config.sft.learning_rate, config.sft.epochs, config.sft.max_length) == (1e-5, 1.0, 1024)
    ppo = config.ppo
    assert (ppo.alpha, ppo.action_cost, ppo.gamma0, ppo.gamma1, ppo.beta) == (1.5, 0.1, 1.0, 0.1, 0.1)
    assert (ppo.clip, ppo.value_weight, ppo.learning_rate, ppo.ppo_epochs) == (0.2, 10.0, 1e-6, 2)


def test_toml_round_trip_and_relative_paths(tmp_path: Path) -> None:
    config = parse_config({"job": {"kind": "sft", "output_dir": "out"}, "model": {"path": "m"}, "data": {"train": "d.jsonl"}})
    path = tmp_path / "job.toml"
    path.write_text(config.to_toml())
    loaded = load_config(path)
    assert loaded.job.kind == "sft"
    assert loaded.output_path == tmp_path / "out"
    assert loaded.resolve(loaded.data.train) == tmp_path / "d.jsonl"
    loaded.validate_for_run()


def test_bad_job_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="learnig_rate"):
        parse_config({"sft": {"learnig_rate": 1.0}})
    bad = tmp_path / "job.toml"
    bad.write_text("[job\nkind=")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(InputError, match="role"):
        parse_config({"job": {"kind": "ppo"}, "model": {"path": "m"}, "data": {"queries": "q"}}).validate_for_run()
    with pytest.raises(InputError, match=r"\[data\] train"):
        parse_config({"job": {"kind": "sft"}, "model": {"path": "m"}}).validate_for_run()


def test_metrics_tail_reads_only_complete_lines(tmp_path: Path) -> None:
    writer = MetricsWriter(tmp_path)
    writer.write(step=1, loss=float("nan"))
    tail = MetricsTail(writer.path)
    (row,) = tail.read_new()
    assert row["step"] == 1 and row["loss"] == "nan"  # still valid JSON
    with writer.path.open("a") as fh:
        fh.write('{"step": 2, "lo')
    assert tail.read_new() == []
    with writer.path.open("a") as fh:
        fh.write('ss": 0.5}\nnot json\n')
    assert [r["step"] for r in tail.read_new()] == [2]
    assert tail.bad_lines == 1
    writer.close()


def test_status_and_checkpoints(tmp_path: Path) -> None:
    assert read_status(tmp_path)["state"] == "queued"
    write_status(tmp_path, "running", "go", pid=5)
    assert read_status(tmp_path) == {**read_status(tmp_path), "state": "running", "pid": 5}
    (tmp_path / "checkpoints" / "step-1").mkdir(parents=True)
    (tmp_path / "checkpoints" / "step-2.tmp").mkdir()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-1"]


def test_deepspeed_zero3_files(tmp_path: Path) -> None:
    config = parse_config({"launch": {"mode": "accelerate", "num_processes": 8, "offload": True}})
    ds = deepspeed_config(config)
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert ds["zero_optimization"]["offload_param"]["device"] == "cpu"
    acc, ds_path = write_accelerate_files(config, tmp_path)
    assert "distributed_type: DEEPSPEED" in acc.read_text() and "num_processes: 8" in acc.read_text()
    assert json.loads(ds_path.read_text())["train_micro_batch_size_per_gpu"] == "auto"
    with pytest.raises(InputError, match="one process"):
        write_accelerate_files(parse_config({"job": {"kind": "ppo"}}), tmp_path)
