"""`pasa desktop install`: a valid .desktop entry and the icons under XDG_DATA_HOME, and back out again."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

from pasa_desktop import desktop_entry
from pasa_desktop.cli.main import main as cli_main

REPO = Path(__file__).resolve().parents[2]


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_cli_installs_entry_and_icons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert cli_main(["desktop", "install"]) == 0
    entry = tmp_path / "share" / "applications" / "pasa-desktop.desktop"
    fields = read_entry(entry)
    assert fields["Type"] == "Application" and fields["Name"] == "PaSa Desktop" and fields["Icon"] == "pasa-desktop"
    assert fields["Terminal"] == "false" and fields["Categories"].endswith(";")
    exe = fields["Exec"].rsplit(" ", 1)
    assert exe[1] == "gui" and Path(exe[0]).is_file()  # the pasa beside this interpreter
    assert fields["TryExec"] == exe[0]
    svg = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "pasa-desktop.svg"
    png = tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / "pasa-desktop.png"
    assert svg.read_bytes() == (REPO / "resources" / "pasa-desktop.svg").read_bytes()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Installed" in capsys.readouterr().out
    assert cli_main(["desktop", "uninstall"]) == 0
    assert not entry.exists() and not svg.exists() and not png.exists()


def test_exec_arguments_with_spaces_are_quoted(tmp_path: Path) -> None:
    done = desktop_entry.install(["/opt/PaSa Desktop/pasa", "gui", "100%"], root=tmp_path)
    assert done.exec_line == '"/opt/PaSa Desktop/pasa" gui 100%%'
    assert read_entry(done.entry)["Exec"] == '"/opt/PaSa Desktop/pasa" gui 100%%'


def test_an_unwritable_place_gets_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "share"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(desktop_entry.ConfigError, match="Cannot install the desktop entry"):
        desktop_entry.install(["pasa", "gui"], root=blocker)


def test_the_script_in_packaging_does_the_same(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "install_desktop_entry.py"),
                           "--exec", "pasa gui"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read_entry(tmp_path / "applications" / "pasa-desktop.desktop")["Exec"] == "pasa gui"


def test_icon_png_matches_the_svg_drawing(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    assert QSvgRenderer(str(REPO / "resources" / "pasa-desktop.svg")).isValid()
    png = QImage(str(REPO / "resources" / "pasa-desktop.png"))
    assert (png.width(), png.height()) == (256, 256)
    assert png.pixelColor(0, 0).alpha() == 0 and png.pixelColor(128, 128).alpha() == 255  # rounded tile
