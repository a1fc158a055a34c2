"""Export writes respect the filesystem: through symlinks, keeping modes, refusing what is not a file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import InputError
from pasa_desktop.export.exporter import write_text


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real" / "refs.bib"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "refs.bib"
    link.symlink_to(target)
    write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert _leftovers(tmp_path) == [] and _leftovers(target.parent) == []


def test_existing_mode_is_kept_and_new_files_follow_the_umask(tmp_path: Path) -> None:
    private = tmp_path / "private.bib"
    private.write_text("old")
    private.chmod(0o600)
    write_text(private, "new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_text() == "new"
    fresh = tmp_path / "fresh.bib"
    umask = os.umask(0o022)
    try:
        write_text(fresh, "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644


def test_directories_and_special_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        write_text(tmp_path, "x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a named pipe"):
        write_text(fifo, "x")
    if Path("/dev/null").exists():
        with pytest.raises(InputError, match="is a device"):
            write_text(Path("/dev/null"), "x")
    assert _leftovers(tmp_path) == []


def test_unwritable_path_is_a_message_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Cannot write"):
        write_text(Path("/proc/pasa-export-test/x.bib"), "x")
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(InputError, match="Cannot write"):
        write_text(blocked / "under-a-file.bib", "x")
    assert _leftovers(tmp_path) == []


def test_cli_export_refuses_a_directory_with_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "PASA_DATA_DIR": str(tmp_path / "data")}
    for target in (str(tmp_path), "/proc/x"):
        done = subprocess.run(
            [sys.executable, "-m", "pasa_desktop.cli.main", "export", "-o", target],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and "Cannot write" in done.stderr
    assert _leftovers(tmp_path) == []
