"""A search run by the app's SearchService in a child process, streamed back to the GUI process.

Why a process and not a thread: the engine's Python work (ranking, recording every event in the
library) would share the GIL with the GUI thread and stall the window for 100+ ms during bursts of
events; and a model call cannot be interrupted in a thread, while a process can be ended at once. So
Cancel asks the child to stop, and ends it if it has not within the grace period; either way
everything already recorded in the library stays, and the run is marked cancelled (resumable).

Messages from the child: ("event", run_id, Event) …, then ("error", message) or ("end",).
Messages to the child: ("cancel",).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import AsyncIterator, Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from engine.errors import PasaError
from engine.events import Event, Progress, SearchFinished, SearchStatus

if TYPE_CHECKING:
    from engine.models.base import ChatModel
    from pasa_desktop.library import Library
    from pasa_desktop.search_request import SearchRequest
    from pasa_desktop.settings import Settings

GRACE_S = 0.6
NICE = 5  # the search process's lower scheduling priority (POSIX)


class ProcessSearch:
    """A `StreamFactory`: each search runs in a fresh child process (spawned: no forked Qt state)."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        library: Callable[[], Library],
        *,
        model_loader: Callable[[str], ChatModel] | None = None,
    ) -> None:
        """`model_loader` (profile name -> model) replaces loading the settings' profiles in the child, as
        SearchService's does; tests hand in scripted models. It must be a module-level function: the
        spawned child receives it pickled, which is by its qualified name."""
        self._settings = settings
        self._library = library
        self._model_loader = model_loader

    async def __call__(self, request: SearchRequest, cancel: asyncio.Event) -> AsyncIterator[tuple[int, Event]]:
        # The child plans the request with these settings, as `pasa search` does (SearchRequest.plan).
        job = {"settings": self._settings().model_dump_json(), "request": request.model_dump_json()}
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        process = ctx.Process(target=child_main, args=(theirs, job, self._model_loader), name="pasa-search",
                              daemon=True)
        await asyncio.to_thread(process.start)
        theirs.close()
        loop = asyncio.get_running_loop()
        run_id = request.resume_run or 0
        finished = False

        async def forward_cancel() -> None:
            await cancel.wait()
            try:
                ours.send(("cancel",))
            except OSError:
                pass

        canceller = asyncio.create_task(forward_cancel())
        try:
            while True:
                try:
                    message = await loop.run_in_executor(None, ours.recv)
                except EOFError:  # the child died without saying goodbye (killed, crashed)
                    if not finished:
                        raise PasaError("The search process ended unexpectedly",
                                        hint="see the terminal for its error; Resume continues the search") from None
                    return
                if message[0] == "event":
                    run_id = message[1] or run_id
                    finished = finished or isinstance(message[2], SearchFinished)
                    yield message[1], message[2]
                elif message[0] == "error":
                    raise PasaError(message[1], hint=message[2])
                else:
                    return
        except asyncio.CancelledError:
            # Cancelled from outside (the grace period ran out): end the child now, record the cancellation.
            await asyncio.shield(self._stop(process, run_id, finished))
            raise
        finally:
            canceller.cancel()
            if process.is_alive():
                await asyncio.to_thread(process.join, GRACE_S)
                if process.is_alive():
                    process.kill()
            ours.close()

    async def _stop(self, process: Any, run_id: int, finished: bool) -> None:
        if process.is_alive():
            process.kill()
            await asyncio.to_thread(process.join, 2.0)
        if run_id and not finished:
            done = SearchFinished(SearchStatus.CANCELLED, message="cancelled by the user")
            await asyncio.to_thread(self._library().record, run_id, done)


# -- the child process ---------------------------------------------------------------------------------


def child_main(conn: Connection, job: dict[str, Any], model_loader: Callable[[str], ChatModel] | None = None) -> None:
    """Entry point of the search process: run one search, send every event back, exit."""
    if hasattr(os, "nice"):
        # The search may use every core (llama.cpp); the window must still get the CPU when it needs it.
        os.nice(NICE)
    try:
        asyncio.run(_child(conn, job, model_loader))
    except PasaError as exc:
        _send(conn, ("error", exc.message, exc.hint))
    except BaseException as exc:  # reported to the GUI's notification area, never a silent death
        _send(conn, ("error", f"{type(exc).__name__}: {exc}", ""))
    finally:
        conn.close()


async def _child(conn: Connection, job: dict[str, Any], model_loader: Callable[[str], ChatModel] | None) -> None:
    from pasa_desktop.library import open_library
    from pasa_desktop.offline_index import index_health, prepare_index
    from pasa_desktop.search_request import SearchRequest
    from pasa_desktop.search_service import SearchService
    from pasa_desktop.settings import Settings

    loop = asyncio.get_running_loop()
    cancel = asyncio.Event()

    def listen() -> None:
        # A "cancel" from the GUI, or the GUI process gone (EOF): stop the search either way.
        try:
            while conn.recv()[0] != "cancel":
                pass
        except (EOFError, OSError):
            pass
        loop.call_soon_threadsafe(cancel.set)

    threading.Thread(target=listen, name="pasa-search-cancel", daemon=True).start()
    request = SearchRequest.model_validate_json(job["request"])
    settings = request.plan(Settings.model_validate_json(job["settings"])).settings
    if "local" in settings.sources.enabled and not index_health(settings).ready:
        # Built, or its rankings repaired, here; what that does (or could not do) arrives as notices.
        _send(conn, ("event", 0, Progress("index", "Preparing the offline paper index…")))
        await asyncio.to_thread(prepare_index, settings, notify=lambda notice: _send(conn, ("event", 0, notice)))
    library = open_library(settings.library_path())
    service = SearchService(settings, library, model_loader=model_loader)
    _send(conn, ("event", 0, Progress("load", "Loading the Crawler and Selector models…")))
    try:
        async for run_id, event in service.run(request, cancel=cancel):
            if not _send(conn, ("event", run_id, event)):
                cancel.set()
    finally:
        await asyncio.to_thread(service.close)
        library.close()
    _send(conn, ("end",))


def _send(conn: Connection, message: tuple[Any, ...]) -> bool:
    try:
        conn.send(message)
        return True
    except (OSError, ValueError):  # the GUI went away
        return False
