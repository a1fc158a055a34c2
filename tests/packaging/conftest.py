"""Bundle tests build the PyInstaller bundle (minutes): they run only when asked for, `pytest -m bundle`."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "bundle" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="builds the PyInstaller bundle: run `pytest -m bundle tests/packaging`")
    for item in items:
        if item.get_closest_marker("bundle") is not None:
            item.add_marker(skip)
