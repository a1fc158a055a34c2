"""`pasa library check|backup|restore`: the library file's health, its backups, and the way back.

These work on the file directly (not through `open_library`), so they run when the library is too
damaged to open.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pasa_desktop.cli.terminal import printable
from pasa_desktop.library import backups
from pasa_desktop.library.errors import LibraryError
from pasa_desktop.settings import load_settings


def _library_path() -> Path:
    return load_settings().library_path()


def _check(_args: argparse.Namespace) -> int:
    path = _library_path()
    report = backups.check(path)
    saved = backups.list_backups(path)
    if report.ok:
        print(
            f"{path}: ok (integrity check passed; schema {report.schema_version}, {report.papers:,} papers, {report.runs:,} searches)"
        )
    else:
        print(f"{path}: DAMAGED")
        for problem in report.problems[:20]:
            print(f"  {printable(problem)}")
    if saved:
        print(f"{len(saved)} backup(s), newest {backups.describe(saved[0])}")
    else:
        print(f"no backups yet (one is taken automatically once a day, in {backups.backup_dir(path)})")
    if not report.ok:
        if saved:
            print("Restore the newest good backup with: pasa library restore  (the damaged file is kept aside)")
        return 1
    return 0


def _backup(_args: argparse.Namespace) -> int:
    path = _library_path()
    report = backups.check(path)
    if not report.ok:
        raise LibraryError(f"{path} is damaged, so it is not copied over a good backup", hint="pasa library check")
    made = backups.take_backup(path)
    print(f"backup written: {backups.describe(made)}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    path = _library_path()
    if args.list:
        saved = backups.list_backups(path)
        for b in saved:
            state = "ok" if backups.check(b.path).ok else "DAMAGED"
            print(f"{backups.describe(b)}  {state}")
        if not saved:
            print(f"no backups of {path}")
        return 0
    chosen, moved = backups.restore(path, Path(args.backup) if args.backup else None)
    shown = backups.describe(chosen) if isinstance(chosen, backups.Backup) else str(chosen)
    print(f"restored {path} from {shown}")
    if moved is not None:
        print(f"the file it replaced is kept as {moved}")
    return 0


def register(cmds: Any) -> None:
    """Adds the sub-commands to `pasa library`'s sub-parsers."""
    p = cmds.add_parser("check", help="check the library file's integrity and list its backups")
    p.set_defaults(handler=_check)
    p = cmds.add_parser("backup", help="copy the library now (also done automatically once a day)")
    p.set_defaults(handler=_backup)
    p = cmds.add_parser(
        "restore", help="put back a backup (the newest good one by default); the current file is kept aside"
    )
    p.add_argument("backup", nargs="?", help="a backup file (see --list)")
    p.add_argument("--list", action="store_true", help="list the backups and whether each is intact")
    p.set_defaults(handler=_restore)
