"""One search at a time for the window, read straight from its process's pipe on the window's event loop.

No thread relays the search: the window's loop (ui/engine_bridge.py: a QSocketNotifier on the pipe, Qt
timers) says when the pipe has data, and the controller reads what is there and hands each event to the
window on that same thread. No Qt here: the loop comes in as a small protocol.

A search ends one of four ways, each an outcome the window shows:
- the process says ("end",) after its SearchFinished: the engine's status (done, cancelled, truncated);
- Cancel: the process is asked to stop and, if it has not within `CANCEL_GRACE_S`, ended; what it recorded
  stays, and a run it left unfinished is recorded as cancelled (resumable);
- ("error", …): failed, with the message;
- the pipe closes without a word (kill -9, a crash): failed, "ended unexpectedly"; the library shows the
  run as interrupted, since its owner is dead (library/leases.py), and Resume continues it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from engine.errors import PasaError
from engine.events import Event, SearchFinished, SearchStatus
from pasa_desktop.gui_controller.search_process import Launched, SearchLauncher
from pasa_desktop.search_request import SearchRequest

T = TypeVar("T")

# How long a cancelled search may take to wind down on its own before its process is ended.
CANCEL_GRACE_S = 0.6
# Reading the pipe yields back to the event loop after this long, so a burst of events never freezes it.
READ_SLICE_S = 0.02

# A run's recorded events (the library's log), folded first when the window resumes it.
RunHistory = Callable[[int], list[Event]]
# Records an event to a run (the cancellation of a search that was ended before it could record it).
RecordEvent = Callable[[int, Event], None]


class Watch(Protocol):
    def stop(self) -> None: ...


class Loop(Protocol):
    """What the controller needs of the window's event loop."""

    def watch(self, fd: int, on_ready: Callable[[], None]) -> Watch:
        """Call `on_ready` (on the loop's thread) whenever `fd` has data to read, until stopped."""
        ...

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None: ...

    def in_background(self, fn: Callable[[], T], on_result: Callable[[T], object],
                      on_error: Callable[[BaseException], object]) -> None:
        """Run a blocking `fn` off the loop's thread; deliver its outcome on it."""
        ...


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    run_id: int | None
    status: SearchStatus
    message: str = ""


OnEvent = Callable[[int, Event], None]
OnDone = Callable[[SearchOutcome], None]


@dataclass(slots=True)
class _Session:
    request: SearchRequest
    on_event: OnEvent
    on_done: OnDone
    launched: Launched | None = None
    run_id: int | None = None
    finished: SearchFinished | None = None
    error: str = ""
    cancel_at: float | None = None
    said_end: bool = False  # the process sent ("end",): it finished its stream, whatever the stream said
    closing: bool = False  # its pipe is closed; only the record of its cancellation is still on its way
    watch: Watch | None = None
    done: bool = False


class SearchController:
    """Runs one search at a time; a new search replaces (cancels) the running one."""

    def __init__(self, launch: SearchLauncher, history: RunHistory | None = None,
                 record: RecordEvent | None = None) -> None:
        self._launch = launch
        self._history = history
        self._record = record
        self.loop: Loop | None = None  # the window's, set when it is built (MainWindow)
        self._session: _Session | None = None
        self._next: tuple[SearchRequest, OnEvent, OnDone] | None = None
        self._blocking = False  # in wait(): nothing is delivered from the background until it returns

    @property
    def running(self) -> bool:
        return self._next is not None or (self._session is not None and not self._session.done)

    # -- commands ---------------------------------------------------------------------------------------

    def start(self, request: SearchRequest, on_event: OnEvent, on_done: OnDone) -> None:
        """Start a search (the request was checked by its sender: SearchRequest.plan). A running one is
        cancelled first, and this one starts once it has recorded its end."""
        if self._session is not None and not self._session.done:
            self.cancel()
            self._next = (request, on_event, on_done)
            return
        self._begin(_Session(request, on_event, on_done))

    def cancel(self) -> None:
        """Ask the running search to stop; it is ended if it has not within CANCEL_GRACE_S. A search
        waiting for it to end is dropped."""
        if self._next is not None:
            request, _on_event, on_done = self._next
            self._next = None
            on_done(SearchOutcome(request.resume_run, SearchStatus.CANCELLED))
        session = self._session
        if session is None or session.done or session.cancel_at is not None:
            return
        session.cancel_at = time.monotonic()
        if session.launched is None:
            return
        try:
            session.launched.conn.send(("cancel",))
        except (OSError, ValueError):
            pass  # the process is already gone: its pipe's end says so
        self._loop().call_later(CANCEL_GRACE_S, lambda: self._end_if_running(session))

    def wait(self, timeout_s: float) -> bool:
        """Block until the search has ended, reading its pipe here (closing the window, tests); a cancelled
        one is ended after its grace period. True when none is running."""
        deadline = time.monotonic() + timeout_s
        self._blocking = True
        try:
            return self._wait(deadline)
        finally:
            self._blocking = False

    def _wait(self, deadline: float) -> bool:
        while self._session is not None and not self._session.done:
            session = self._session
            assert session.launched is not None  # set by _begin, or the session is done
            if session.closing:  # its cancellation is being recorded in the background: it has ended
                self._finish(session, SearchStatus.CANCELLED)
                continue
            if session.cancel_at is not None and time.monotonic() - session.cancel_at >= CANCEL_GRACE_S:
                self._end_if_running(session)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if session.launched.conn.poll(min(left, 0.05)):
                self._read(session, budget_s=left)
        return True

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the running search and wait for it (the window closes)."""
        self._next = None
        self.cancel()
        self.wait(timeout_s)

    # -- the session ------------------------------------------------------------------------------------

    def _loop(self) -> Loop:
        if self.loop is None:
            raise PasaError("The search controller has no event loop", hint="MainWindow sets it")
        return self.loop

    def _begin(self, session: _Session) -> None:
        self._session = session
        resume = session.request.resume_run
        try:
            session.launched = self._launch(session.request)
        except Exception as exc:  # shown in the notification area, never a crash
            session.error = str(exc) if isinstance(exc, PasaError) else f"{type(exc).__name__}: {exc}"
            self._finish(session, SearchStatus.FAILED)
            return
        if resume is None or self._history is None:
            self._watch(session)
            return
        # What the run already found, shown at once: a resumed search reports only what is new, and its
        # process takes seconds to start (its models, minutes). The pipe is read once history is shown.
        session.run_id = resume
        history = self._history
        self._loop().in_background(lambda: history(resume), lambda events: self._replay(session, events),
                                   lambda _exc: self._watch(session))

    def _replay(self, session: _Session, events: list[Event]) -> None:
        if session.done:
            return
        assert session.run_id is not None
        for event in events:
            session.on_event(session.run_id, event)
        self._watch(session)

    def _watch(self, session: _Session) -> None:
        if session.done or session.launched is None:
            return
        session.watch = self._loop().watch(session.launched.conn.fileno(), lambda: self._read(session))
        if session.launched.conn.poll():
            self._read(session)

    def _read(self, session: _Session, budget_s: float = READ_SLICE_S) -> None:
        """Take what the pipe holds, for at most `budget_s` (the loop calls again while data is left)."""
        if session.done or session.closing or session.launched is None:
            return
        conn = session.launched.conn
        until = time.monotonic() + budget_s
        try:
            while conn.poll() and not session.done:
                message = conn.recv()
                self._handle(session, message)
                if time.monotonic() >= until:
                    return
        except (EOFError, OSError):  # the process ended: said goodbye or not
            self._ended(session)

    def _handle(self, session: _Session, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "event":
            run_id, event = message[1], message[2]
            if run_id:
                session.run_id = run_id
            if isinstance(event, SearchFinished):
                session.finished = event
            session.on_event(run_id, event)
        elif kind == "error":
            session.error = str(PasaError(message[1], hint=message[2]))
        elif kind == "end":
            session.said_end = True
            self._ended(session)

    def _ended(self, session: _Session) -> None:
        if session.done:
            return
        if session.finished is not None:
            self._finish(session, session.finished.status, session.finished.message)
        elif session.error:
            self._finish(session, SearchStatus.FAILED)
        elif session.cancel_at is not None:
            self._cancelled(session)
        elif session.said_end:  # a stream that ended without its SearchFinished (a test's, an old engine's)
            self._finish(session, SearchStatus.DONE)
        else:
            session.error = str(PasaError("The search process ended unexpectedly",
                                          hint="see the terminal for its error; Resume continues the search"))
            self._finish(session, SearchStatus.FAILED)

    def _end_if_running(self, session: _Session) -> None:
        """The grace period is over: end the process, read what it sent before it ended, record the end."""
        if session.done or session.closing or session.launched is None:
            return
        worker = session.launched.worker
        if worker.is_alive():
            worker.kill()
            worker.join(2.0)
        self._read(session, budget_s=1.0)
        if not session.done:
            self._cancelled(session)

    def _cancelled(self, session: _Session) -> None:
        """Ended on the user's word before the search recorded its end: the run is recorded cancelled."""
        if session.closing:
            return
        run_id, record = session.run_id, self._record
        if not run_id or record is None or session.finished is not None:
            self._finish(session, SearchStatus.CANCELLED)
            return
        done = SearchFinished(SearchStatus.CANCELLED, message="cancelled by the user")
        self._close(session)
        session.closing = True

        def recorded(_result: object = None) -> None:
            self._finish(session, SearchStatus.CANCELLED)

        def failed(exc: BaseException) -> None:
            session.error = f"the cancellation was not recorded: {exc}"
            self._finish(session, SearchStatus.CANCELLED)

        if self.loop is None or self._blocking:
            try:
                record(run_id, done)
            except Exception as exc:  # the library is closed or locked: the run reads interrupted instead
                failed(exc)
            else:
                recorded()
        else:
            self.loop.in_background(lambda: record(run_id, done), recorded, failed)

    def _close(self, session: _Session) -> None:
        if session.watch is not None:
            session.watch.stop()
            session.watch = None
        if session.launched is not None:
            worker = session.launched.worker
            if worker.is_alive():
                worker.join(0.05)  # it is exiting after its last message; reaped here, not left a zombie
            session.launched.conn.close()

    def _finish(self, session: _Session, status: SearchStatus, message: str = "") -> None:
        if session.done:
            return
        self._close(session)
        session.done = True
        session.on_done(SearchOutcome(session.run_id, status, session.error or message))
        if self._session is session and self._next is not None:
            request, on_event, on_done = self._next
            self._next = None
            self._begin(_Session(request, on_event, on_done))
