"""The window's Qt event loop as the search controller's loop (pasa_desktop/gui_controller/search_controller.py).

The search process's pipe is watched by a QSocketNotifier: when it has data, the controller reads it on the
GUI thread, where the events are folded and drawn. No thread sits between the search process and the
window. Timers are Qt single-shot timers; blocking calls (reading a resumed run's history, recording a
cancellation) go to the window's Background.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, QSocketNotifier, QTimer

from ui.background import Background

T = TypeVar("T")


class PipeWatch:
    """A read notifier on one file descriptor; `stop()` before the descriptor is closed."""

    def __init__(self, fd: int, on_ready: Callable[[], None], parent: QObject) -> None:
        self._notifier: QSocketNotifier | None = QSocketNotifier(fd, QSocketNotifier.Type.Read, parent)
        self._notifier.activated.connect(lambda *_args: on_ready())

    def stop(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None


class QtLoop:
    """`Loop` for the search controller, on the thread that owns `parent` (the GUI thread)."""

    def __init__(self, parent: QObject, background: Background) -> None:
        self._parent = parent
        self._background = background

    def watch(self, fd: int, on_ready: Callable[[], None]) -> PipeWatch:
        return PipeWatch(fd, on_ready, self._parent)

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None:
        QTimer.singleShot(max(0, round(delay_s * 1000)), self._parent, fn)

    def in_background(self, fn: Callable[[], T], on_result: Callable[[T], object],
                      on_error: Callable[[BaseException], object]) -> None:
        self._background.run(fn, on_result, on_error)
