"""Theme switches and the plots' colours."""

from __future__ import annotations

import sys
import types

import pytest
from PySide6.QtWidgets import QWidget

from ui.colors import restyle_plots


def test_a_theme_switch_while_pyqtgraph_is_still_loading_restyles_nothing(
    qtbot, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """The window imports pyqtgraph in a start-up thread; View → Theme in that first second found the
    half-imported module in sys.modules and crashed on its missing PlotWidget (seen driving the window)."""
    monkeypatch.setitem(sys.modules, "pyqtgraph", types.ModuleType("pyqtgraph"))  # as a half-done import
    root = QWidget()
    qtbot.addWidget(root)
    assert restyle_plots(root) == 0
