"""Settings that are invalid, damaged or in the wrong place, and the files the app creates: nothing is
reset in silence, backups are numbered and kept, read-only commands change nothing, modes are private."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pasa_desktop.cli.main import main
from pasa_desktop.settings import Settings, inspect_settings, load_settings, save_settings, settings_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write(data: object) -> Path:
    path = settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


GOOD_PROFILE = {"name": "big", "kind": "gguf", "path": "/models/big.gguf"}


def test_an_invalid_value_is_reported_with_file_and_key_and_the_rest_loads() -> None:
    path = _write(
        {
            "agent": {"max_seconds": -3},
            "profiles": [GOOD_PROFILE, {"name": "bad", "kind": "gguf", "context_tokens": 5}, {"kind": "warp-drive"}],
            "selector_profile": "big",
        }
    )
    said: list[str] = []
    settings = load_settings(report=said.append)
    assert settings.selector_profile == "big" and settings.profile("big").path == "/models/big.gguf"
    assert settings.profile("bad").context_tokens == Settings().profile("embedded").context_tokens
    assert settings.agent.max_seconds == Settings().agent.max_seconds
    assert any(str(path) in s and "agent.max_seconds" in s for s in said)
    assert any("profiles[1].context_tokens" in s for s in said) and any("profiles[2]" in s for s in said)
    assert path.read_text().count("warp-drive") == 1  # loading never rewrites the file


@pytest.mark.parametrize(
    "text",
    ["{broken", "", "[1, 2]", "\xff\xfe", "[" * 100_000 + "]" * 100_000],
    ids=["truncated", "empty", "array", "bytes", "deep"],
)
def test_a_damaged_file_loads_defaults_with_a_message_and_stays(text: str) -> None:
    path = _write(text)
    before = path.read_bytes()
    said: list[str] = []
    assert load_settings(report=said.append) == Settings()
    assert len(said) == 1 and "damaged" in said[0] and str(path) in said[0]
    assert path.read_bytes() == before and not list(path.parent.glob("settings.broken*"))


def test_saving_over_a_damaged_file_keeps_numbered_backups_never_overwritten() -> None:
    path = _write("{first damage")
    said: list[str] = []
    save_settings(Settings(), report=said.append)
    path.write_text("{second damage")
    save_settings(Settings(), report=said.append)
    one, two = path.with_name("settings.broken.1.json"), path.with_name("settings.broken.2.json")
    assert one.read_text() == "{first damage" and two.read_text() == "{second damage"
    assert any(str(one) in s for s in said) and any(str(two) in s for s in said)
    assert inspect_settings(path)[1].problems == []


@pytest.mark.parametrize(
    "command", [["models", "list"], ["models", "list", "--json"], ["history"], ["export", "-o", "-"]]
)
def test_read_only_commands_never_rewrite_or_move_settings(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write({"agent": {"max_seconds": "soon"}, "profiles": [GOOD_PROFILE]})
    before = path.read_bytes()
    main(command)
    err = capsys.readouterr().err
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.glob("settings*")) == ["settings.json"]
    assert "agent.max_seconds" in err and "Traceback" not in err


def test_settings_json_that_is_a_folder_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    settings_file().mkdir(parents=True)
    assert main(["history"]) == 1
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err


def test_files_the_app_creates_are_private(capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(os.environ["PASA_DATA_DIR"])
    assert main(["models", "add", "big", "--kind", "gguf", "--path", "/m.gguf"]) == 0
    assert main(["history"]) == 0
    assert _mode(data) == 0o700 and _mode(settings_file()) == 0o600
    assert _mode(data / "library.sqlite") == 0o600
    assert all(_mode(p) == 0o600 for p in data.glob("library.sqlite*"))


def test_a_key_where_a_variable_name_belongs_is_refused_and_never_saved(capsys: pytest.CaptureFixture[str]) -> None:
    key = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
    assert main(["models", "add", "srv", "--kind", "openai", "--base-url", "http://h/v1", "--api-key-env", key]) == 2
    out, err = capsys.readouterr()
    assert "looks like the key itself" in err and key not in out + err
    assert not settings_file().exists() or key not in settings_file().read_text()
    assert (
        main(
            ["models", "add", "srv", "--kind", "openai", "--base-url", "http://h/v1", "--api-key-env", "OPENAI_API_KEY"]
        )
        == 0
    )


def test_models_list_hides_url_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://alice:hunter2secret@gpu-box:8000/v1"
    assert main(["models", "add", "srv", "--kind", "openai", "--base-url", url]) == 0
    assert main(["models", "list"]) == 0
    assert main(["models", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "hunter2secret" not in out + err and "gpu-box:8000" in out
