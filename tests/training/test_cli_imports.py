"""`pasa train` on the command line, and the rule that training/ imports neither Qt nor the app."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from pasa_desktop.cli.main import main
from training.metrics import MetricsWriter, write_status

TRAINING = Path(__file__).resolve().parents[2] / "training"


def test_training_imports_no_qt_and_no_app() -> None:
    for path in TRAINING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in ("PySide6", "pyqtgraph", "qasync", "ui", "pasa_desktop"), f"{path.name}: {name}"


def test_train_data_builds_and_previews(small_index: Path, queries_file: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "selector.jsonl"
    code = main(["train", "data", "selector", "--queries", str(queries_file), "--index", str(small_index),
                 "--out", str(out), "--negatives", "2", "--show", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "selector-true: 5" in printed and "- [selector-" in printed
    assert main(["train", "data", "preview", "--out", str(out)]) == 0
    assert main(["train", "data", "crawler", "--queries", str(queries_file), "--index", str(small_index),
                 "--out", str(tmp_path / "crawler.jsonl")]) == 0
    assert "crawler-search: 4" in capsys.readouterr().out


def test_train_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "data", "selector", "--out", str(tmp_path / "x.jsonl")]) == 2
    (tmp_path / "job.toml").write_text('[job]\nkind = "sft"\nbogus = 1\n')
    assert main(["train", "sft", "--config", str(tmp_path / "job.toml")]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["train", "attach", str(tmp_path / "nowhere")]) == 2


def test_train_attach_prints_a_finished_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    writer = MetricsWriter(tmp_path)
    writer.write(step=1, loss=0.5, lr=1e-5)
    writer.event("checkpoint", "saved final")
    writer.close()
    (tmp_path / "job.json").write_text(json.dumps({"mode": "local", "pid": 0}))
    write_status(tmp_path, "finished", "finished; checkpoint final")
    assert main(["train", "attach", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "step=1  loss=0.5" in out and "[checkpoint] saved final" in out and "finished" in out
