"""`pasa index build` without --to writes the configured offline index, as its help now says (it said
<data dir>/index.sqlite, which is only the default when none is configured)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pasa_desktop.cli.main import main
from pasa_desktop.settings import Settings, data_dir, save_settings


def test_build_goes_to_the_configured_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["index", "build", "--help"])
    assert "the configured offline index" in " ".join(capsys.readouterr().out.split())
    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i}", "title": f"Coded computation {i}", "abstract":
                                          f"Stragglers in distributed training, case {i}.", "year": 2020}) + "\n"
                              for i in range(5)), encoding="utf-8")
    configured = tmp_path / "elsewhere" / "my-index.sqlite"
    save_settings(Settings.model_validate({"paths": {"index": str(configured)}}))
    assert main(["index", "build", "--from", str(corpus)]) == 0
    assert configured.is_file() and not (data_dir() / "index.sqlite").exists()
