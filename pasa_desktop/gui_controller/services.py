"""What the window needs that is not Qt: settings, searches, library, export, Zotero."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.errors import PasaError
from pasa_desktop.gui_controller.rows import LibraryGateway, ResultRow
from pasa_desktop.gui_controller.search_controller import SearchController
from pasa_desktop.gui_controller.search_process import ProcessSearch, SearchLauncher
from pasa_desktop.search_request import SearchPlan, SearchRequest

if TYPE_CHECKING:  # heavy modules load on first use, not at import time (cold start)
    from engine.agent.explain import Explanation
    from engine.models.base import ChatModel
    from pasa_desktop.library import Library
    from pasa_desktop.settings import Settings
    from pasa_desktop.zotero import PushReport

ModelLoader = Callable[[str], "ChatModel"]


class AppServices:
    """Everything the window needs that is not Qt: settings, searches, the library.

    The library opens on first use (after the window is shown) so a cold start pays for neither
    SQLAlchemy nor the index. Searches run in a child process (search_process.py) whose pipe the window
    reads on its own event loop (search_controller.py); an explanation loads the Selector here, on a
    worker thread, when one is asked for.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        launcher: SearchLauncher | None = None,
        model_loader: ModelLoader | None = None,
        library: Library | None = None,
        search_model_loader: ModelLoader | None = None,
    ) -> None:
        """`model_loader` makes the models explanations use; `search_model_loader` those of the search
        process (a module-level function, sent to the child by name). Both default to the settings'
        profiles; tests pass scripted models. `launcher` starts a search (default: a child process)."""
        self.settings = settings
        self._library = library
        self._gateway: LibraryGateway | None = None
        self._model_loader = model_loader
        self._models: dict[str, ChatModel] = {}
        self._models_lock = threading.Lock()
        self.search = SearchController(
            launcher or ProcessSearch(lambda: self.settings, model_loader=search_model_loader),
            history=lambda run_id: self.gateway().library.run_events(run_id),
            record=lambda run_id, event: self.gateway().library.record(run_id, event),
        )

    # -- library -----------------------------------------------------------------------------------

    def gateway(self) -> LibraryGateway:
        if self._gateway is None:
            if self._library is None:
                from pasa_desktop.library import open_library

                self._library = open_library(self.settings.library_path())
            self._gateway = LibraryGateway(self._library, selected_join=self.settings.library.selected_join)
        return self._gateway

    def library_ready(self) -> bool:
        return self._gateway is not None

    # -- searching ---------------------------------------------------------------------------------

    def plan(self, request: SearchRequest) -> SearchPlan:
        """Check a request from the window against the current settings (InputError says what is wrong)."""
        return request.plan(self.settings)

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

    def explain(self, row: ResultRow, user_query: str) -> Explanation:
        """Why the Selector scored this paper as it did (blocking: call from a worker). A probability
        model is explained by ablation in about a second; an LLM by its own reason, never its prompt."""
        from engine.agent.explain import explain_paper
        from pasa_desktop.selector_setup import selector_for_search

        # The Selector a search uses now. None until the relevance one is prepared: a paper found meanwhile
        # was not scored, so there is nothing to explain; one an earlier run scored had the embedded model.
        profile, waiting = selector_for_search(self.settings)
        if profile is None and row.score is None:
            from engine.agent.explain import Explanation, ExplanationKind

            return Explanation(ExplanationKind.UNAVAILABLE, None, abstract=row.abstract, model="none",
                               reason=waiting.message if waiting is not None else "No Selector is ready.")
        profile = profile or "embedded"
        return explain_paper(self.model(profile), user_query, row.title, row.abstract, decision=row.selected,
                             score=row.score, abstract_chars=self.settings.agent.abstract_chars)

    def close(self) -> None:
        self.search.close(2.0)
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
        from pasa_desktop.source_keys import key_status

        return key_status()

    def update_settings(self, settings: Settings, keys: dict[str, str]) -> None:
        """Save settings (and API keys to the OS keyring); a new library location opens on next use."""
        from pasa_desktop.settings import save_settings

        if keys:
            from pasa_desktop.source_keys import store_key

            try:
                for name, key in keys.items():
                    store_key(name, key)
            except Exception as exc:  # no keyring backend on this system: say so, keep the rest
                raise PasaError(f"Could not store the API key in the system keyring ({type(exc).__name__})",
                                hint="set the key through its environment variable instead") from exc
        save_settings(settings)
        moved = settings.library_path() != self.settings.library_path()
        self.settings = settings
        if self._gateway is not None:
            self._gateway.selected_join = settings.library.selected_join
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

