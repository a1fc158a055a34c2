"""Delivering engine-thread callbacks to the GUI thread as queued Qt signals."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

T = TypeVar("T")


class EngineBridge(QObject):
    """`post(fn)` from any thread runs `fn` on the GUI thread (the bridge lives there)."""

    _deliver = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._deliver.connect(self._run)

    def post(self, fn: Callable[[], object]) -> None:
        self._deliver.emit(fn)

    @Slot(object)
    def _run(self, fn: Callable[[], object]) -> None:
        fn()

    def when_done(
        self,
        future: concurrent.futures.Future[T],
        on_result: Callable[[T], object],
        on_error: Callable[[BaseException], object],
    ) -> None:
        """Call `on_result(value)` or `on_error(exc)` on the GUI thread once `future` settles."""

        def settled(f: concurrent.futures.Future[Any]) -> None:
            if f.cancelled():
                self.post(lambda: on_error(concurrent.futures.CancelledError()))
                return
            exc = f.exception()
            if exc is not None:
                self.post(lambda: on_error(exc))
            else:
                value = f.result()
                self.post(lambda: on_result(value))

        future.add_done_callback(settled)
