"""Install the desktop entry and icon so PaSa Desktop appears in the system menu (Linux, freedesktop.org).

The entry and icons come from `resources/` (beside the source tree, or inside the PyInstaller bundle);
`Exec` points at whatever runs this: the bundle's executable, the environment's `pasa` script, or
`python -m ui.launcher` as a last resort.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError

ENTRY_NAME = "pasa-desktop.desktop"
ICON_NAME = "pasa-desktop"
# Characters the Desktop Entry spec reserves inside Exec arguments: such arguments are double-quoted.
_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


@dataclass(frozen=True, slots=True)
class InstalledEntry:
    entry: Path
    icons: tuple[Path, ...]
    exec_line: str


def resources_dir() -> Path:
    """`resources/` inside the bundle (PyInstaller's `_MEIPASS`) or at the top of the source tree."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    candidates = [Path(frozen_root) / "resources"] if frozen_root else []
    candidates.append(Path(__file__).resolve().parents[1] / "resources")
    for folder in candidates:
        if (folder / ENTRY_NAME).is_file():
            return folder
    raise ConfigError("The desktop entry template is missing (resources/pasa-desktop.desktop)",
                      hint="run this from a source checkout or from the PyInstaller bundle")


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """How the menu entry starts the app, as an argument list."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "gui"]
    script = Path(sys.executable).with_name("pasa")
    if script.is_file():
        return [str(script), "gui"]
    found = shutil.which("pasa")
    if found:
        return [found, "gui"]
    return [sys.executable, "-m", "ui.launcher", "gui"]


def quote_exec_argument(arg: str) -> str:
    if not arg or any(c in _RESERVED for c in arg):
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return f'"{escaped}"'
    # A literal percent sign must be doubled (field codes start with %).
    return arg.replace("%", "%%")


def render_entry(template: str, command: list[str]) -> str:
    exec_line = " ".join(quote_exec_argument(a) for a in command)
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_line}"
        elif line.startswith("TryExec="):
            line = f"TryExec={command[0]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install(command: list[str] | None = None, *, root: Path | None = None) -> InstalledEntry:
    """Write the entry into <data home>/applications and the icons into the hicolor theme."""
    source = resources_dir()
    root = root or data_home()
    command = command or launch_command()
    entry = root / "applications" / ENTRY_NAME
    svg = root / "icons" / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"
    png = root / "icons" / "hicolor" / "256x256" / "apps" / f"{ICON_NAME}.png"
    text = render_entry((source / ENTRY_NAME).read_text(encoding="utf-8"), command)
    try:
        for path in (entry, svg, png):
            path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / f"{ICON_NAME}.svg", svg)
        shutil.copyfile(source / f"{ICON_NAME}.png", png)
        tmp = entry.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(entry)
    except OSError as exc:
        raise ConfigError(f"Cannot install the desktop entry under {root}: {exc}",
                          hint="check that folder's permissions or set XDG_DATA_HOME") from exc
    _refresh_caches(root)
    return InstalledEntry(entry=entry, icons=(svg, png), exec_line=text.split("Exec=", 1)[1].split("\n", 1)[0])


def uninstall(*, root: Path | None = None) -> list[Path]:
    root = root or data_home()
    removed = []
    for path in (root / "applications" / ENTRY_NAME,
                 root / "icons" / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg",
                 root / "icons" / "hicolor" / "256x256" / "apps" / f"{ICON_NAME}.png"):
        if path.exists():
            path.unlink()
            removed.append(path)
    _refresh_caches(root)
    return removed


def _refresh_caches(root: Path) -> None:
    # Menus pick the entry up without these too; they only make it appear sooner where they exist.
    for tool, target in (("update-desktop-database", root / "applications"),
                         ("gtk-update-icon-cache", root / "icons" / "hicolor")):
        exe = shutil.which(tool)
        if exe and target.exists():
            subprocess.run([exe, "-q", str(target)], check=False, capture_output=True, timeout=30)
