"""`pasa desktop install|uninstall`: the system-menu entry and icon (Linux desktops)."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from pasa_desktop import desktop_entry


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("desktop", help="add PaSa Desktop to the system menu")
    dsub = p.add_subparsers(dest="desktop_command", metavar="ACTION")
    i = dsub.add_parser("install", help="install the .desktop entry and icon under ~/.local/share")
    i.add_argument("--exec", dest="command", help="command the entry runs (default: this pasa, with `gui`)")
    i.set_defaults(handler=install)
    u = dsub.add_parser("uninstall", help="remove the entry and icon")
    u.set_defaults(handler=uninstall)
    p.set_defaults(handler=lambda _args: _help(p))


def _help(parser: argparse.ArgumentParser) -> int:
    """`pasa desktop` with no action: the usage, and exit code 2 as argparse uses for a missing choice."""
    parser.print_help()
    return 2


def install(args: argparse.Namespace) -> int:
    command = shlex.split(args.command) if args.command else None
    done = desktop_entry.install(command)
    print(f"Installed {done.entry}\n  runs: {done.exec_line}")
    for icon in done.icons:
        print(f"  icon: {icon}")
    return 0


def uninstall(args: argparse.Namespace) -> int:
    del args
    removed = desktop_entry.uninstall()
    print("\n".join(f"Removed {p}" for p in removed) or "Nothing to remove.")
    return 0
