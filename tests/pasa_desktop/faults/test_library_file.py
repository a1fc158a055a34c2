"""The library file: daily rotating backups, `pasa library check` / `restore`, the damage message that
offers the backup, and read-only opening (history, show, export and search work on a read-only folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.events import Notice, SearchFinished, SearchStatus
from pasa_desktop.cli.main import main
from pasa_desktop.library import backups, open_library
from pasa_desktop.library.errors import LibraryError
from pasa_desktop.settings import config_dir
from tests.pasa_desktop.faults.conftest import library_dump, read_only

REPO = Path(__file__).resolve().parents[3]


def _age_backups(library: Path, days: float) -> None:
    """Rename the backups as if taken `days` earlier (the stamp in the name is what counts)."""
    for b in reversed(backups.list_backups(library)):  # oldest first: no rename lands on a name in use
        taken = b.taken - timedelta(days=days)
        b.path.rename(b.path.with_name(f"{library.stem}-{taken.strftime('%Y%m%dT%H%M%SZ')}{library.suffix}"))


def _cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)


def test_a_backup_is_taken_at_most_once_a_day_and_the_newest_are_kept(user_library: Path) -> None:
    open_library(user_library).close()
    first = backups.list_backups(user_library)
    assert len(first) == 1 and backups.check(first[0].path).ok and backups.check(first[0].path).papers == 2
    open_library(user_library).close()
    assert len(backups.list_backups(user_library)) == 1  # not again the same day
    for _ in range(backups.KEEP + 2):
        _age_backups(user_library, 1.01)
        open_library(user_library).close()
    kept = backups.list_backups(user_library)
    assert len(kept) == backups.KEEP and kept[0].taken > kept[-1].taken
    assert oct(os.stat(kept[0].path).st_mode & 0o777) == "0o600"


def test_an_empty_library_is_not_backed_up(tmp_path: Path) -> None:
    open_library(tmp_path / "library.sqlite").close()
    open_library(tmp_path / "library.sqlite").close()
    assert backups.list_backups(tmp_path / "library.sqlite") == []


def test_damage_is_reported_with_the_backup_and_restored(
    user_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_library(user_library).close()  # takes the day's backup
    _cut_in_half(user_library)
    assert main(["history"]) == 1
    err = capsys.readouterr().err
    assert "pasa library restore" in err and "Traceback" not in err
    assert main(["library", "check"]) == 1
    out = capsys.readouterr().out
    assert "DAMAGED" in out and "pasa library restore" in out
    assert main(["library", "restore"]) == 0
    out = capsys.readouterr().out
    assert "restored" in out and "kept as" in out
    assert list(user_library.parent.glob("library.damaged-*.sqlite"))  # the damaged file is kept, not deleted
    assert main(["library", "check"]) == 0
    assert main(["history"]) == 0
    assert "coded computation" in capsys.readouterr().out


def test_check_says_when_there_is_no_backup_and_restore_refuses(
    user_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cut_in_half(user_library)
    assert main(["library", "check"]) == 1
    assert "no backups yet" in capsys.readouterr().out
    assert main(["library", "restore"]) == 1
    assert "No usable backup" in capsys.readouterr().err
    assert user_library.exists()  # nothing moved when there is nothing to restore


def test_restore_refuses_a_damaged_backup(
    user_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    assert main(["library", "restore", str(bad)]) == 1
    assert "damaged" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["ro", "immutable"])
def test_read_only_library_serves_reads_and_refuses_writes_cleanly(user_library: Path, mode: str) -> None:
    from pasa_desktop.library.library import Library

    open_library(user_library).close()  # checkpointed, so an immutable reader sees everything
    lib = Library(user_library, read_only=mode)
    lib._migrate()
    try:
        assert next(r.query for r in lib.runs()).startswith("coded computation")
        assert len(lib.run_papers(1)) == 2 and lib.search("Study") and lib.paper(1).title
        with pytest.raises(LibraryError) as err:
            lib.add_tag(1, "x")
        assert "Cannot write" in str(err.value) or "read-only" in str(err.value) or "readonly" in str(err.value)
    finally:
        lib.close()


def test_read_only_data_folder_cli(user_library: Path) -> None:
    """history, show, export, library search/show/check/duplicates on a data folder (and settings
    folder) the user cannot write: each works, prints what it should, and the folders stay as they were."""
    data, config = user_library.parent, config_dir()
    open_library(user_library).close()  # checkpointed: nothing waits in a -wal an immutable reader cannot see
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text('{"agent": {"max_seconds": 120}}')
    before = sorted(p.name for p in [*data.rglob("*"), *config.rglob("*")])
    with read_only(data, config) as prefix:
        if prefix:  # as root: the powers really are gone, root cannot write there either
            assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root's powers"
            probe = subprocess.run([*prefix, "touch", str(data / "probe")], capture_output=True, text=True)
            assert probe.returncode != 0 and "Permission denied" in probe.stderr
        outputs = {}
        for args in (
            ["history"],
            ["show", "1"],
            ["export", "-o", "-", "--run", "1", "--no-complete"],
            ["library", "search", "coded computation"],
            ["library", "show", "2"],
            ["library", "check"],
            ["library", "duplicates"],
        ):
            done = subprocess.run(
                [*prefix, sys.executable, "-m", "pasa_desktop.cli.main", *args],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=REPO,
                env={**os.environ, "PASA_DATA_DIR": str(data), "PASA_CONFIG_DIR": str(config)},
            )
            assert done.returncode == 0, (args, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr, done.stderr
            outputs[" ".join(args[:2])] = done.stdout
        assert "coded computation" in outputs["history"] and "Study 2" in outputs["show 1"]
        assert "pwned" in outputs["library search"] and "Study 2" in outputs["library show"]
        assert outputs["export -o"].count("@article") + outputs["export -o"].count("@misc") == 2
        assert "ok (integrity check passed" in outputs["library check"]
        assert sorted(p.name for p in [*data.rglob("*"), *config.rglob("*")]) == before  # nothing written


def test_run_events_never_store_secrets(user_library: Path) -> None:
    lib = open_library(user_library)
    run = lib.create_run("q", {})
    lib.record(
        run,
        Notice(
            level="error",
            source="selector",
            message="http://bob:pa55word@host/v1 said Authorization: Bearer sk-abcdefghijklmnopqrstu",
        ),
    )
    lib.record(
        run, SearchFinished(SearchStatus.FAILED, message="cannot reach http://bob:pa55word@host/v1", seconds=1.0)
    )
    lib.close()
    dump = library_dump(user_library)
    assert "pa55word" not in dump and "sk-abcdefghijklmnopqrstu" not in dump and "***" in dump


def test_backup_names_sort_by_time() -> None:
    now = datetime.now(UTC)
    assert now.strftime("%Y%m%dT%H%M%SZ") > (now - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
