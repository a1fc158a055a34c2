"""Wiring between the GUI and the engine: an asyncio loop in its own thread, and search sessions on it.

The GUI thread never awaits or blocks on the engine. It submits work here and receives results through
callbacks that run on the engine thread; `ui/` turns those callbacks into queued Qt signals. This keeps
model calls, HTTP and SQLite writes of a running search off the GUI thread, whatever the backend does.
No Qt in this module.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from engine.errors import PasaError
from engine.events import Event, SearchFinished, SearchStatus
from engine.papers import Paper

if TYPE_CHECKING:  # the library (SQLAlchemy) loads after the window is up, not at import time
    from engine.agent.settings import AgentSettings
    from engine.models.base import ChatModel
    from pasa_desktop.library import CollectionRow, Library, RunSummary, TagRow
    from pasa_desktop.library import PaperRow as LibraryPaper
    from pasa_desktop.search_service import SearchService
    from pasa_desktop.settings import Settings
    from pasa_desktop.zotero import PushReport

T = TypeVar("T")

# How long a cancelled search may take to wind down on its own before its task is cancelled outright.
CANCEL_GRACE_S = 0.7


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
class ResultRow:
    """One paper as the results and library tables show it (from a live search or from the library)."""

    key: str
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    venue: str = ""
    abstract: str = ""
    arxiv_id: str = ""
    doi: str = ""
    url: str = ""
    score: float | None = None
    selected: bool = False
    found_by: str = ""
    reason: str = ""
    decision: str = ""  # "" | "accepted" | "rejected"
    tags: tuple[str, ...] = ()
    rating: int = 0
    pdf_path: str = ""
    library_id: int | None = None

    @classmethod
    def from_paper(cls, paper: Paper, **extra: Any) -> ResultRow:
        return cls(
            key=paper.key,
            title=paper.title,
            authors=paper.authors,
            year=paper.year,
            venue=paper.venue or "",
            abstract=paper.abstract,
            arxiv_id=paper.arxiv_id or "",
            doi=paper.doi or "",
            url=paper.url or "",
            **extra,
        )

    def with_updates(self, **changes: Any) -> ResultRow:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: str
    preset: str = "standard"
    sources: tuple[str, ...] = ()
    crawler_profile: str = ""
    selector_profile: str = ""
    resume_run: int | None = None


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    run_id: int | None
    status: SearchStatus
    message: str = ""


# A search stream: given a request and a cancel flag, yields (run_id, event) until SearchFinished.
StreamFactory = Callable[[SearchRequest, asyncio.Event], AsyncIterator[tuple[int, Event]]]


@dataclass(slots=True)
class _Session:
    request: SearchRequest
    cancel: asyncio.Event
    task: asyncio.Task[None] | None = None
    run_id: int | None = None
    done: threading.Event = field(default_factory=threading.Event)


class SearchController:
    """Runs one search at a time on the engine thread; a new search replaces (cancels) the running one."""

    def __init__(self, engine: EngineThread, stream: StreamFactory) -> None:
        self._engine = engine
        self._stream = stream
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
        if not request.query.strip() and request.resume_run is None:
            raise PasaError("Type what you are looking for first", hint="the query box is empty")
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



def _decision_text(decision: bool | None) -> str:
    return "" if decision is None else "accepted" if decision else "rejected"


class LibraryGateway:
    """What the GUI asks of the library, as `ResultRow`s; every write returns the row as now stored.

    Rows from a live search carry no library id yet: it is looked up by paper key in the run's papers
    (the search service records each paper as it is found).
    """

    def __init__(self, library: Library) -> None:
        self.library = library
        self._ids: dict[tuple[int, str], int] = {}

    # -- reading ---------------------------------------------------------------------------------

    def runs(self) -> list[RunSummary]:
        return self.library.runs(limit=500)

    def run_rows(self, run_id: int) -> list[ResultRow]:
        rows = []
        for rp in self.library.run_papers(run_id):
            self._ids[(run_id, rp.key)] = rp.paper.id
            rows.append(self._row(rp.paper, key=rp.key, score=rp.score, selected=bool(rp.selected),
                                  found_by=rp.found_by_label, reason=rp.reason))
        return rows

    def search_rows(
        self, text: str = "", *, tag: str | None = None, collection: int | None = None, limit: int = 5000
    ) -> list[ResultRow]:
        papers = self.library.search(text, tag=tag, collection=collection, limit=limit)
        return [self._row(p, key=f"library:{p.id}") for p in papers]

    def tags(self) -> list[TagRow]:
        return self.library.tags()

    def collections(self) -> list[CollectionRow]:
        return self.library.collections()

    def pdf_path(self, row: ResultRow) -> str:
        if row.library_id is None:
            return ""
        for att in self.library.attachments(row.library_id):
            if att.mime == "application/pdf" or att.path.suffix.lower() == ".pdf":
                return str(att.path)
        return ""

    def library_papers(self, rows: list[ResultRow], run_id: int | None) -> list[LibraryPaper]:
        ids = [self.library_id(r, run_id) for r in rows]
        return self.library.papers(ids)

    # -- writing ---------------------------------------------------------------------------------

    def library_id(self, row: ResultRow, run_id: int | None) -> int:
        if row.library_id is not None:
            return row.library_id
        if run_id is not None:
            if (run_id, row.key) not in self._ids:
                self.run_rows(run_id)
            found = self._ids.get((run_id, row.key))
            if found is not None:
                return found
        raise PasaError(f"“{row.title}” is not in the library yet", hint="wait for the search to record it")

    def set_decision(self, row: ResultRow, decision: str, run_id: int | None) -> ResultRow:
        pid = self.library_id(row, run_id)
        self.library.set_decision(pid, None if not decision else decision == "accepted")
        return self.refresh(row, pid)

    def set_rating(self, row: ResultRow, rating: int, run_id: int | None) -> ResultRow:
        pid = self.library_id(row, run_id)
        self.library.set_rating(pid, rating or None)
        return self.refresh(row, pid)

    def add_tag(self, row: ResultRow, tag: str, run_id: int | None) -> ResultRow:
        pid = self.library_id(row, run_id)
        self.library.add_tag(pid, tag)
        return self.refresh(row, pid)

    def add_to_collection(self, rows: list[ResultRow], path: str, run_id: int | None) -> int:
        cid = self.library.ensure_collection_path(path)
        self.library.add_to_collection(cid, [self.library_id(r, run_id) for r in rows])
        return cid

    def set_reason(self, row: ResultRow, reason: str, run_id: int | None) -> None:
        if run_id is not None:
            self.library.set_reason(run_id, row.key, reason)

    def refresh(self, row: ResultRow, paper_id: int | None = None) -> ResultRow:
        pid = paper_id if paper_id is not None else row.library_id
        if pid is None:
            return row
        paper = self.library.paper(pid)
        fresh = row.with_updates(decision=_decision_text(paper.decision), tags=paper.tags,
                                 rating=paper.rating or 0, library_id=pid)
        return fresh.with_updates(pdf_path=self.pdf_path(fresh))

    @staticmethod
    def _row(paper: LibraryPaper, *, key: str, **extra: Any) -> ResultRow:
        return ResultRow(
            key=key,
            title=paper.title,
            authors=paper.authors,
            year=paper.year,
            venue=paper.venue or "",
            abstract=paper.abstract,
            arxiv_id=paper.arxiv_id or "",
            doi=paper.doi or "",
            url=paper.url or "",
            decision=_decision_text(paper.decision),
            tags=paper.tags,
            rating=paper.rating or 0,
            library_id=paper.id,
            **extra,
        )


ModelLoader = Callable[[str], "ChatModel"]


class AppServices:
    """Everything the window needs that is not Qt: settings, the engine thread, searches, the library.

    The library opens on first use (after the window is shown) so a cold start pays for neither
    SQLAlchemy nor the index; models load on the engine thread when a search or an explanation needs them.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        stream: StreamFactory | None = None,
        model_loader: ModelLoader | None = None,
        library: Library | None = None,
    ) -> None:
        self.settings = settings
        self.engine = EngineThread()
        self._library = library
        self._gateway: LibraryGateway | None = None
        self._model_loader = model_loader
        self._models: dict[str, ChatModel] = {}
        self._models_lock = threading.Lock()
        self._service: SearchService | None = None
        self._service_key = ""
        self.search = SearchController(self.engine, stream or self._service_stream)

    # -- library -----------------------------------------------------------------------------------

    def gateway(self) -> LibraryGateway:
        if self._gateway is None:
            if self._library is None:
                from pasa_desktop.library import open_library

                self._library = open_library(self.settings.library_path())
            self._gateway = LibraryGateway(self._library)
        return self._gateway

    def library_ready(self) -> bool:
        return self._gateway is not None

    # -- searching ---------------------------------------------------------------------------------

    def settings_for(self, request: SearchRequest) -> Settings:
        """The app settings with this request's sources and model profile applied."""
        sources = self.settings.sources.model_copy(
            update={"enabled": list(request.sources) or list(self.settings.sources.enabled)}
        )
        return self.settings.model_copy(
            update={
                "sources": sources,
                "crawler_profile": request.crawler_profile or self.settings.crawler_profile,
                "selector_profile": request.selector_profile or self.settings.selector_profile,
            }
        )

    def agent_settings(self, preset: str) -> AgentSettings:
        """Standard = the user's budgets (Settings); quick and thorough are the engine's presets."""
        from engine.agent.settings import AgentSettings

        agent = self.settings.agent
        if preset in ("quick", "thorough"):
            base = AgentSettings.preset(preset)  # type: ignore[arg-type]
            return base.model_copy(update={"select_threshold": agent.select_threshold, "before": agent.before})
        return agent

    async def _service_stream(
        self, request: SearchRequest, cancel: asyncio.Event
    ) -> AsyncIterator[tuple[int, Event]]:
        """The app's search service (sources, models, library recording) around the engine's loop."""
        from engine.events import Progress
        from pasa_desktop.search_service import SearchService, ensure_index

        settings = self.settings_for(request)
        library = await asyncio.to_thread(lambda: self.gateway().library)
        if "local" in settings.sources.enabled and not settings.index_path().exists():
            yield 0, Progress("index", "Building the offline paper index from the corpus (first use only)…")
            await asyncio.to_thread(ensure_index, settings)
        key = settings.model_dump_json()
        if self._service is None or self._service_key != key:  # models are kept while settings stay the same
            if self._service is not None:
                await asyncio.to_thread(self._service.close)
            self._service = SearchService(settings, library)
            self._service_key = key
        yield 0, Progress("load", "Loading the Crawler and Selector models…")
        run_id = request.resume_run
        try:
            async for item in self._service.run(
                request.query,
                agent=self.agent_settings(request.preset),
                resume_run=request.resume_run,
                cancel=cancel,
                sources=list(settings.sources.enabled),
            ):
                run_id = item[0]
                yield item
        except asyncio.CancelledError:
            # Cut off inside a long model call (the grace period ran out): record the cancellation the
            # engine could not, so the history says "cancelled" and Resume picks up from here.
            if run_id:
                finished = SearchFinished(SearchStatus.CANCELLED, message="cancelled by the user")
                await asyncio.shield(asyncio.to_thread(library.record, run_id, finished))
            raise

    # -- models (explanations) ---------------------------------------------------------------------

    def model(self, profile_name: str) -> ChatModel:
        with self._models_lock:
            model = self._models.get(profile_name)
            if model is None:
                if self._model_loader is not None:
                    model = self._model_loader(profile_name)
                else:
                    from engine.models.profiles import load_model

                    model = load_model(self.settings.profile(profile_name))
                self._models[profile_name] = model
            return model

    def explain(self, row: ResultRow, user_query: str) -> str:
        """The Selector's reason for its decision on this paper (blocking: call from a worker)."""
        from engine.agent.selector import Selector

        paper = Paper(id=row.key, title=row.title, abstract=row.abstract, authors=row.authors, year=row.year)
        selector = Selector(self.model(self.settings.selector_profile),
                            abstract_chars=self.settings.agent.abstract_chars)
        reason = selector.reason(user_query, paper, decision=row.selected)
        return reason or "The model gave no reason."

    def close(self) -> None:
        self.search.cancel()
        self.search.wait(2.0)
        self.engine.stop()
        if self._service is not None:
            self._service.close()
        for model in self._models.values():
            model.close()
        if self._library is not None:
            self._library.close()

    # -- export and Zotero -------------------------------------------------------------------------

    def export_text(self, rows: list[ResultRow], fmt: str, run_id: int | None) -> str:
        """BibTeX, RIS or CSL-JSON text for these rows, built from their library records (notes included)."""
        from pasa_desktop.export import Selection, records, render

        if fmt not in EXPORT_FORMATS:
            raise PasaError(f"Unknown export format {fmt!r}", hint=", ".join(EXPORT_FORMATS))
        if not rows:
            raise PasaError("Nothing to export", hint="select papers in the table first")
        gateway = self.gateway()
        ids = tuple(gateway.library_id(r, run_id) for r in rows)
        return render(fmt, records(gateway.library, Selection(paper_ids=ids)))

    def export_file(self, rows: list[ResultRow], fmt: str, path: str, run_id: int | None) -> int:
        from pathlib import Path

        text = self.export_text(rows, fmt, run_id)
        target = Path(path)
        tmp = target.with_name(target.name + ".part")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
        except OSError as exc:
            raise PasaError(f"Cannot write {target}: {exc.strerror or exc}") from exc
        return len(rows)

    def zotero_targets(self) -> list[tuple[str, str]]:
        """Where Zotero can save (id, "My Library/Collection"); raises ZoteroUnavailable when it is not running."""
        from pasa_desktop.zotero import ConnectorClient

        with ConnectorClient(zotero_url(), timeout_s=5.0) as client:
            client.ping()
            return [(t.id, t.path) for t in client.targets()]

    def zotero_push(self, rows: list[ResultRow], run_id: int | None, target: str) -> PushReport:
        """Send these papers (score and reason notes, tags, PDFs) to the running Zotero desktop."""
        from pasa_desktop.export import Selection
        from pasa_desktop.zotero import ConnectorClient, push_connector, push_items

        if not rows:
            raise PasaError("Nothing to send", hint="select papers in the table first")
        gateway = self.gateway()
        ids = tuple(gateway.library_id(r, run_id) for r in rows)
        items = push_items(gateway.library, Selection(run=run_id, paper_ids=ids))
        uri = f"pasa-desktop://run/{run_id}" if run_id is not None else "pasa-desktop://library"
        with ConnectorClient(zotero_url()) as client:
            return push_connector(client, items, target=target or None, uri=uri)

    # -- settings ----------------------------------------------------------------------------------

    def key_status(self) -> dict[str, bool]:
        from engine.sources.keys import env_or_keyring

        return {name: bool(env_or_keyring(name)) for name in ("semantic_scholar", "openalex", "serper")}

    def update_settings(self, settings: Settings, keys: dict[str, str]) -> None:
        """Save settings (and API keys to the OS keyring); a new library location opens on next use."""
        from pasa_desktop.settings import save_settings

        if keys:
            from engine.sources.keys import KEYRING_SERVICE

            try:
                import keyring

                for name, key in keys.items():
                    keyring.set_password(KEYRING_SERVICE, name, key)
            except Exception as exc:  # no keyring backend on this system: say so, keep the rest
                raise PasaError(f"Could not store the API key in the system keyring ({type(exc).__name__})",
                                hint="set the key through its environment variable instead") from exc
        save_settings(settings)
        moved = settings.library_path() != self.settings.library_path()
        self.settings = settings
        if moved and not self.search.running and self._library is not None:
            self._library.close()
            self._library = None
            self._gateway = None


def zotero_url() -> str:
    """The Zotero connector's address (`PASA_ZOTERO_URL` overrides, as for `pasa zotero`)."""
    import os

    from pasa_desktop.zotero.connector import DEFAULT_URL

    return os.environ.get("PASA_ZOTERO_URL", DEFAULT_URL)


EXPORT_FORMATS = {"bibtex": ".bib", "ris": ".ris", "csljson": ".json"}
