"""An asyncio loop in its own thread, and search sessions on it.

The GUI thread never awaits or blocks on the engine. It submits work here and receives results through
callbacks that run on the engine thread; `ui/` turns those callbacks into queued Qt signals. No Qt here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.errors import PasaError
from engine.events import Event, SearchFinished, SearchStatus
from pasa_desktop.search_request import SearchRequest

T = TypeVar("T")

# How long a cancelled search may take to wind down on its own before its task is cancelled outright.
CANCEL_GRACE_S = 0.5


class EngineThread:
    """One daemon thread running an asyncio loop for the whole app session."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="pasa-engine", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "engine thread failed to start"
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run_blocking(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run a blocking function in the engine's worker pool (not on the engine loop itself)."""

        async def call() -> T:
            return await asyncio.to_thread(fn)

        return self.submit(call())

    def call_soon(self, fn: Callable[[], object]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def stop(self, timeout_s: float = 2.0) -> None:
        if self._loop is None or not self._thread.is_alive():
            return

        def shutdown() -> None:
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.call_later(0.2, self.loop.stop)

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(timeout_s)


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    run_id: int | None
    status: SearchStatus
    message: str = ""


# A search stream: given a request and a cancel flag, yields (run_id, event) until SearchFinished.
StreamFactory = Callable[[SearchRequest, asyncio.Event], AsyncIterator[tuple[int, Event]]]
# A run's recorded events (the library's log), folded first when the window resumes it.
RunHistory = Callable[[int], list[Event]]


@dataclass(slots=True)
class _Session:
    request: SearchRequest
    cancel: asyncio.Event
    task: asyncio.Task[None] | None = None
    run_id: int | None = None
    done: threading.Event = field(default_factory=threading.Event)


class SearchController:
    """Runs one search at a time on the engine thread; a new search replaces (cancels) the running one."""

    def __init__(self, engine: EngineThread, stream: StreamFactory, history: RunHistory | None = None) -> None:
        self._engine = engine
        self._stream = stream
        self._history = history
        self._session: _Session | None = None

    @property
    def running(self) -> bool:
        return self._session is not None and not self._session.done.is_set()

    def start(
        self,
        request: SearchRequest,
        on_event: Callable[[int, Event], None],
        on_done: Callable[[SearchOutcome], None],
    ) -> None:
        # The request was checked by its sender (SearchRequest.plan); the stream's service plans it again.
        if self.running:
            self.cancel()
        previous = self._session
        session = _Session(request, asyncio.Event())
        self._session = session

        async def begin() -> None:
            if previous is not None and previous.task is not None:
                # Let the replaced search record its cancellation before the new one opens the library.
                await asyncio.wait({previous.task}, timeout=CANCEL_GRACE_S + 0.5)
            session.task = asyncio.current_task()
            await self._drive(session, on_event, on_done)

        self._engine.submit(begin())

    def cancel(self) -> None:
        session = self._session
        if session is None or session.done.is_set():
            return

        def request_cancel() -> None:
            session.cancel.set()
            # The engine checks the flag between steps; a long model call is cut off after the grace period.
            self._engine.loop.call_later(CANCEL_GRACE_S, _hard_cancel, session)

        self._engine.call_soon(request_cancel)

    def wait(self, timeout_s: float) -> bool:
        session = self._session
        return True if session is None else session.done.wait(timeout_s)

    async def _drive(
        self,
        session: _Session,
        on_event: Callable[[int, Event], None],
        on_done: Callable[[SearchOutcome], None],
    ) -> None:
        status = SearchStatus.FAILED
        message = ""
        try:
            resume = session.request.resume_run
            if resume is not None and self._history is not None:
                # What the run already found, shown at once: a resumed search reports only what is new,
                # and the search process takes seconds to start (its models, minutes).
                session.run_id = resume
                for event in await asyncio.to_thread(self._history, resume):
                    on_event(resume, event)
            async for run_id, event in self._stream(session.request, session.cancel):
                session.run_id = run_id
                on_event(run_id, event)
                if isinstance(event, SearchFinished):
                    status, message = event.status, event.message
                    break
            else:
                status = SearchStatus.CANCELLED if session.cancel.is_set() else SearchStatus.DONE
        except asyncio.CancelledError:
            status = SearchStatus.CANCELLED
        except PasaError as exc:
            message = str(exc)
        except Exception as exc:  # shown to the user in the notification area, never a crash
            message = f"{type(exc).__name__}: {exc}"
        finally:
            session.done.set()
            on_done(SearchOutcome(session.run_id, status, message))


def _hard_cancel(session: _Session) -> None:
    if session.task is not None and not session.done.is_set():
        session.task.cancel()



