"""Blocking work off the GUI thread, its outcome delivered on the GUI thread: the one way `ui/` does it.

    self.background = Background(self)            # a QObject: its callbacks die with its parent
    job = self.background.run(lambda: slow(x), on_result=self._show, on_error=self._failed)
    job.cancel()                                  # optional: the callbacks will not be called

Work runs on daemon threads (a build or a model check left running never holds the app's exit), in
submission order, `workers` at a time (1: one after another). The outcome crosses to the GUI thread as a
queued Qt signal, so callbacks run there and may touch widgets. A call that can stop early takes the job's
`stop` flag (`run_stoppable`); `cancel()` sets it. `post(fn)` runs `fn` on the GUI thread from any thread
(progress reports). Searches are not background work: the window reads the search process's pipe on
its own event loop (ui/engine_bridge.py).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

T = TypeVar("T")

ErrorCallback = Callable[[BaseException], object]


class Job(Generic[T]):
    """One submitted call. `stop` is set by `cancel()`; a callable given to `run_stoppable` reads it."""

    def __init__(self, fn: Callable[[threading.Event], T], on_result: Callable[[T], object],
                 on_error: ErrorCallback | None) -> None:
        self.stop = threading.Event()
        self._fn = fn
        self._on_result = on_result
        self._on_error = on_error
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set()

    @property
    def done(self) -> bool:
        """The call has returned or raised (its callbacks may still be on their way to the GUI thread)."""
        return self._done.is_set()

    def cancel(self) -> None:
        """Do not deliver the outcome; skip the call if it has not started; ask a stoppable one to stop."""
        self.stop.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the call has returned or raised (tests, shutdown); True when it has."""
        return self._done.wait(timeout_s)

    def _execute(self) -> None:
        try:
            if not self.stop.is_set():
                self._value = self._fn(self.stop)
        except BaseException as exc:  # delivered to on_error on the GUI thread, never lost in a thread
            self._error = exc
        finally:
            self._done.set()

    def _deliver(self) -> None:
        if self.stop.is_set():
            return
        if self._error is not None:
            if self._on_error is None:
                raise self._error  # Qt reports an exception from a slot; a test run fails on it
            self._on_error(self._error)
        else:
            self._on_result(self._value)  # type: ignore[arg-type]  # set by _execute when no error


class Background(QObject):
    """Runs blocking callables on daemon worker threads; results and errors arrive on the GUI thread."""

    _settled = Signal(object)  # a Job or a plain callable, emitted from any thread, queued to this one

    def __init__(self, parent: QObject | None = None, *, workers: int = 4, name: str = "pasa-background") -> None:
        super().__init__(parent)
        self._workers = max(1, workers)
        self._name = name
        self._queue: queue.SimpleQueue[Job[Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False
        self._settled.connect(self._on_settled)

    def run(self, fn: Callable[[], T], on_result: Callable[[T], object],
            on_error: ErrorCallback | None = None) -> Job[T]:
        """Call `fn()` on a worker thread; then `on_result(value)` or `on_error(exc)` on the GUI thread."""
        return self.run_stoppable(lambda _stop: fn(), on_result, on_error)

    def run_stoppable(self, fn: Callable[[threading.Event], T], on_result: Callable[[T], object],
                      on_error: ErrorCallback | None = None) -> Job[T]:
        """As `run`, for a call that stops early when the event it is given is set (`Job.cancel()`)."""
        job: Job[T] = Job(fn, on_result, on_error)
        with self._lock:
            if self._closed:
                job.cancel()
                return job
            self._queue.put(job)
            if self._idle <= 0 and len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1  # a waiting worker takes it
        return job

    def post(self, fn: Callable[[], object]) -> None:
        """Run `fn` on the GUI thread (callable from any thread; dropped once this object is deleted)."""
        self._emit(fn)

    def shutdown(self) -> None:
        """No new work; idle workers end. Calls already running finish on their own (daemon threads)."""
        with self._lock:
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            job._execute()
            if not job.cancelled:
                self._emit(job)
            with self._lock:
                self._idle += 1

    def _emit(self, item: object) -> None:
        try:
            self._settled.emit(item)
        except RuntimeError:  # this object was deleted (its window closed): nobody is left to tell
            pass

    @Slot(object)
    def _on_settled(self, item: object) -> None:
        if isinstance(item, Job):
            item._deliver()
        elif callable(item):
            item()
