"""`pasa` entry point for the command line (the GUI launcher in `ui.launcher` delegates here)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from engine.errors import InputError, PasaError
from pasa_desktop import __version__

# Sub-command modules, each defining `register(subparsers) -> None`; their handlers return an exit code.
COMMAND_MODULES = (
    "search",
    "evaluate",
    "index",
    "library_cmds",
    "export_cmds",
    "zotero_cmds",
    "paper",
    "models",
    "train",
    "desktop",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pasa", description="PaSa Desktop: a paper-search agent and library.")
    parser.add_argument("--version", action="version", version=f"PaSa Desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"pasa_desktop.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        code: int = args.handler(args)
        return code
    except InputError as exc:
        print(f"pasa: {exc}", file=sys.stderr)
        return 2
    except PasaError as exc:
        print(f"pasa: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pasa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
