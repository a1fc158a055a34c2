"""A search run by the app's SearchService in a child process, its events sent back over a pipe.

Why a process and not a thread: the engine's Python work (ranking, recording every event in the
library) would share the GIL with the GUI thread and stall the window for 100+ ms during bursts of
events; and a model call cannot be interrupted in a thread, while a process can be ended at once. So
Cancel asks the child to stop, and ends it if it has not within the grace period; either way
everything already recorded in the library stays, and the run is marked cancelled (resumable).

The window reads the pipe on its own event loop (search_controller.py); nothing relays it.
Messages from the child: ("event", run_id, Event) …, then ("error", message, hint) or ("end",).
Messages to the child: ("cancel",).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import PasaError
from engine.events import Event, Progress

if TYPE_CHECKING:
    from engine.models.base import ChatModel
    from pasa_desktop.search_request import SearchRequest
    from pasa_desktop.settings import Settings

NICE = 5  # the search process's lower scheduling priority (POSIX)
PROCESS_NAME = "pasa-search"

# A search's events given its cancel flag: what the child (or a test's stand-in) serves over the pipe.
EventStream = Callable[[asyncio.Event], AsyncIterator[tuple[int, Event]]]


class Worker(Protocol):
    """What the controller needs of whatever runs a search: a multiprocessing.Process fits."""

    @property
    def pid(self) -> int | None: ...

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Launched:
    """A started search: the GUI's end of its pipe, and the worker to end if it does not stop."""

    conn: Connection
    worker: Worker


# Starts one search for a request (SearchController calls it on the GUI thread; it must return at once).
SearchLauncher = Callable[["SearchRequest"], Launched]


class ProcessSearch:
    """The app's `SearchLauncher`: each search runs in a fresh child process (spawned: no forked Qt state)."""

    def __init__(self, settings: Callable[[], Settings], *,
                 model_loader: Callable[[str], ChatModel] | None = None) -> None:
        """`model_loader` (profile name -> model) replaces loading the settings' profiles in the child, as
        SearchService's does; tests hand in scripted models. It must be a module-level function: the
        spawned child receives it pickled, which is by its qualified name."""
        self._settings = settings
        self._model_loader = model_loader

    def __call__(self, request: SearchRequest) -> Launched:
        # The child plans the request with these settings, as `pasa search` does (SearchRequest.plan).
        job = {"settings": self._settings().model_dump_json(), "request": request.model_dump_json()}
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        process = ctx.Process(target=child_main, args=(theirs, job, self._model_loader), name=PROCESS_NAME,
                              daemon=True)
        process.start()  # a fork and exec: the child's imports happen after this returns
        theirs.close()
        return Launched(ours, process)


# -- the serving end (the child process; a test's in-process stand-in) ------------------------------------


def serve(conn: Connection, stream: EventStream) -> None:
    """Send every event of `stream` over `conn`, then ("end",) or ("error", message, hint); a ("cancel",)
    from the other end, or that end gone, sets the stream's cancel flag. Blocks until the stream ends."""
    try:
        asyncio.run(_serve(conn, stream))
    except PasaError as exc:
        _send(conn, ("error", exc.message, exc.hint))
    except BaseException as exc:  # reported to the GUI's notification area, never a silent death
        _send(conn, ("error", f"{type(exc).__name__}: {exc}", ""))
    else:
        _send(conn, ("end",))
    finally:
        _hang_up(conn)


def _hang_up(conn: Connection) -> None:
    """Close our end so that the other end reads EOF now: shut the socket down first, which also wakes our
    own cancel listener from its blocked read (closing alone leaves the socket open while it reads)."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed, or not a socket: closing is all there is to do
    conn.close()


async def _serve(conn: Connection, stream: EventStream) -> None:
    loop = asyncio.get_running_loop()
    cancel = asyncio.Event()

    def listen() -> None:
        # A "cancel" from the GUI, or the GUI process gone (EOF): stop the search either way.
        try:
            while conn.recv()[0] != "cancel":
                pass
        except (EOFError, OSError, TypeError):  # TypeError: the connection was closed while it read
            pass
        try:
            loop.call_soon_threadsafe(cancel.set)
        except RuntimeError:  # the search already ended and its loop closed
            pass

    threading.Thread(target=listen, name="pasa-search-cancel", daemon=True).start()
    async for run_id, event in stream(cancel):
        if not _send(conn, ("event", run_id, event)):
            cancel.set()


def child_main(conn: Connection, job: dict[str, Any], model_loader: Callable[[str], ChatModel] | None = None) -> None:
    """Entry point of the search process: run one search, send every event back, exit."""
    if hasattr(os, "nice"):
        # The search may use every core (llama.cpp); the window must still get the CPU when it needs it.
        os.nice(NICE)
    serve(conn, lambda cancel: _search(conn, job, model_loader, cancel))


async def _search(conn: Connection, job: dict[str, Any], model_loader: Callable[[str], ChatModel] | None,
                  cancel: asyncio.Event) -> AsyncIterator[tuple[int, Event]]:
    from pasa_desktop.library import open_library
    from pasa_desktop.offline_index import index_health, prepare_index
    from pasa_desktop.search_request import SearchRequest
    from pasa_desktop.search_service import SearchService
    from pasa_desktop.settings import Settings

    request = SearchRequest.model_validate_json(job["request"])
    settings = request.plan(Settings.model_validate_json(job["settings"])).settings
    if "local" in settings.sources.enabled and not index_health(settings).ready:
        # Built, or its rankings repaired, here; what that does (or could not do) arrives as notices.
        yield 0, Progress("index", "Preparing the offline paper index…")
        await asyncio.to_thread(prepare_index, settings, notify=lambda notice: _send(conn, ("event", 0, notice)))
    library = open_library(settings.library_path())
    service = SearchService(settings, library, model_loader=model_loader)
    yield 0, Progress("load", "Loading the Crawler and Selector models…")
    try:
        async for item in service.run(request, cancel=cancel):
            yield item
    finally:
        await asyncio.to_thread(service.close)
        library.close()


def _send(conn: Connection, message: tuple[Any, ...]) -> bool:
    try:
        conn.send(message)
        return True
    except (OSError, ValueError):  # the other end went away
        return False
