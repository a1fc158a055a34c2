"""Fixtures for running `pasa` as a user would: a fresh data dir holding a real small index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture()
def user_env(tmp_path: Path, small_index: Path) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(small_index, data / "index.sqlite")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASA_")}
    env.update(PASA_DATA_DIR=str(data), PASA_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="160")
    return env


def pasa(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pasa_desktop.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
