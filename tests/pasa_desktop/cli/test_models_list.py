"""`pasa models list` shows a context size only for the models that use one: the relevance Selector and a
cross-encoder read a fixed-size prompt of their own (engine/models/profiles.load_model passes them none)."""

from __future__ import annotations

import pytest

from pasa_desktop.cli.main import main


def test_context_is_shown_only_where_it_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.split("│")[1:-1]]
                                          for line in capsys.readouterr().out.splitlines()) if cells and cells[0]}
    assert rows["embedded"][3] == "4096"
    assert rows["relevance"][3] == "–"
