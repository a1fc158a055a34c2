"""`pasa` entry point: no arguments (or `gui`) opens the window; anything else is the command line.

PySide6 is imported only on the GUI path, so `pasa search …` never pays for Qt.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

_STARTED = time.perf_counter()


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    # Searches run in a spawned child process; in a frozen bundle the child re-enters here and must
    # become that child, not a second window (a no-op when not frozen).
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] == "gui":
        # As the command line does (pasa_desktop/cli/main.py): what the window and its search and training
        # children write (library, index, cache, backups) is the user's alone, files 0600 and folders 0700.
        old_umask = os.umask(0o077)
        try:
            return run_gui(args[1:])
        finally:
            os.umask(old_umask)
    from pasa_desktop.cli.main import main as cli_main

    return cli_main(args)


def prepare_app(theme: str = "") -> QApplication:
    """The QApplication as the app runs it (also used by benchmarks, so they measure the same thing)."""
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    # The engine thread shares the GIL with the GUI thread; a shorter switch interval bounds how long
    # the GUI waits for it each time it calls back into Python (5 ms by default, many times a repaint).
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "pasa"])
    assert isinstance(app, QApplication)
    app.setApplicationName("PaSa Desktop")
    app.setOrganizationName("pasa-desktop")
    app.setDesktopFileName("pasa-desktop")
    apply_theme(app, force=theme)
    return app


def run_gui(args: Sequence[str] = ()) -> int:
    """Open the main window. `--exit-when-ready` prints the start-up time and quits (benchmarks);
    `--screenshot PATH --quit-after-ms N` saves the window N ms after start-up and quits (bundle smoke test)."""
    exit_when_ready = "--exit-when-ready" in args
    screenshot = args[args.index("--screenshot") + 1] if "--screenshot" in args[:-1] else ""
    quit_after_ms = int(args[args.index("--quit-after-ms") + 1]) if "--quit-after-ms" in args[:-1] else 1000
    theme = next((a.split("=", 1)[1] for a in args if a.startswith("--theme=")), "")
    from PySide6.QtCore import QTimer

    from engine.errors import PasaError
    from pasa_desktop.gui_controller import AppServices
    from pasa_desktop.settings import load_settings
    from ui.main_window import MainWindow

    app = prepare_app(theme)
    settings_problems: list[str] = []  # an invalid or damaged settings file: said in the window, not only on stderr
    first_run_notes: list[str] = []
    try:
        settings = load_settings(report=settings_problems.append)
    except PasaError as exc:  # e.g. a folder where settings.json belongs: a message box, not a traceback
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "PaSa Desktop", str(exc))
        return 1
    if not (exit_when_ready or screenshot):  # the first-run wizard, only when no settings file exists yet
        from ui.first_run import first_run_if_needed

        settings, first_run_notes = first_run_if_needed(settings)
    window = MainWindow(AppServices(settings))

    def unexpected(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        # Never a traceback dialog: the message goes to the notification area, the traceback to stderr.
        traceback.print_exception(kind, exc, tb)
        window.show_error("PaSa Desktop", f"Unexpected error: {type(exc).__name__}: {exc}")

    sys.excepthook = unexpected
    window.show()

    def ready() -> None:
        if exit_when_ready:
            print(f"ready {time.perf_counter() - _STARTED:.3f}", flush=True)
            window.close()
            app.quit()
            return
        window.finish_startup()
        for note in first_run_notes:
            window.show_error("Set-up", note, "warning")
        for problem in settings_problems:
            window.show_error("Settings", problem, "warning")
        if screenshot:
            QTimer.singleShot(quit_after_ms, lambda: (window.grab().save(screenshot), window.close(), app.quit()))

    QTimer.singleShot(0, ready)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
