"""`pasa` entry point for the command line (the GUI launcher in `ui.launcher` delegates here)."""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from engine.errors import InputError, PasaError
from pasa_desktop import __version__
from pasa_desktop.cli.terminal import safe_message

if TYPE_CHECKING:
    from engine.models.base import ChatModel

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


# The largest integer SQLite stores: a bigger id or limit would overflow the driver (a traceback) and
# can name no row anyway.
SQLITE_MAX_INT = 2**63 - 1


def integer(minimum: int = 0, maximum: int = SQLITE_MAX_INT, *, what: str = "") -> Callable[[str], int]:
    """An argparse `type=` for a whole number in [minimum, maximum]: anything else (words, overflow,
    out of range) is argparse's usage error (exit code 2, one line naming the option), never a traceback."""

    def parse(text: str) -> int:
        shown = text if len(text) <= 30 else text[:27] + "..."
        try:
            value = int(text.strip().replace("_", ""), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{what or 'the value'} must be at least {minimum} (got {shown})")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{what or 'the value'} must be at most {maximum:,} (got {shown})")
        return value

    parse.__name__ = "integer"  # argparse names the type in some of its messages
    return parse


def number(
    minimum: float = 0.0, maximum: float = math.inf, *, above: bool = False, what: str = ""
) -> Callable[[str], float]:
    """An argparse `type=` for a finite number in [minimum, maximum] (or (minimum, maximum] with `above`);
    nan and inf are refused."""

    def parse(text: str) -> float:
        shown = text if len(text) <= 30 else text[:27] + "..."
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown!r} is not a number") from None
        low_ok = value > minimum if above else value >= minimum
        if not math.isfinite(value) or not low_ok or value > maximum:
            bound = f"more than {minimum:g}" if above else f"at least {minimum:g}"
            top = "" if math.isinf(maximum) else f" and at most {maximum:g}"
            raise argparse.ArgumentTypeError(
                f"{what or 'the value'} must be a finite number {bound}{top} (got {shown})"
            )
        return value

    parse.__name__ = "number"
    return parse


# The shared shapes: an id names a row (1 …), a limit counts rows (0 often means "all").
row_id = integer(1, what="an id")
count = integer(0, what="a count")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pasa", description="PaSa Desktop: a paper-search agent and library.")
    parser.add_argument("--version", action="version", version=f"PaSa Desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"pasa_desktop.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, model_loader: Callable[[str], ChatModel] | None = None) -> int:
    """Run one command. `model_loader` (profile name → model) replaces loading model profiles for the
    commands that search: how tests and embedders hand in their own models."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    args.model_loader = model_loader
    # Everything the app writes (settings, library, index, cache, backups) is the user's alone:
    # files 0600, folders 0700, as ssh and gpg do. Restored after, for callers that embed `main`.
    old_umask = os.umask(0o077)
    try:
        code: int = args.handler(args)
        return code
    except InputError as exc:
        print(f"pasa: {safe_message(exc)}", file=sys.stderr)
        return 2
    except PasaError as exc:
        print(f"pasa: {safe_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pasa: interrupted", file=sys.stderr)
        return 130
    finally:
        os.umask(old_umask)


if __name__ == "__main__":
    sys.exit(main())
