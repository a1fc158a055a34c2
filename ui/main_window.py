"""The main window: Search and Library tabs, menus and shortcuts, status line, notifications.

It turns user actions into calls on `AppServices` and engine events into view updates. Events are read
from the search process's pipe on this thread when it has data (a QSocketNotifier: ui/engine_bridge.py),
folded into `CrawlState` (cheap) and drawn by a 100 ms timer, so a burst of events never stalls the window.
Blocking work (library reads, exports, explanations) runs through `Background` (ui/background.py).
"""

from __future__ import annotations

import gc
import importlib.util
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.agent.ranking import papers_to_score
from engine.errors import InputError, PasaError
from engine.events import Event, Notice
from pasa_desktop.gui_controller import AppServices, ResultRow, SearchOutcome, SearchRequest
from ui.background import Background
from ui.crawl_state import CrawlState
from ui.engine_bridge import QtLoop
from ui.library_panel import LibraryPanel
from ui.notifications import NotificationArea
from ui.results_panel import ResultsPanel
from ui.search_panel import SearchPanel
from ui.window_host import LIBRARY_TAB, SEARCH_TAB, WindowHost

FLUSH_MS = 100


class MainWindow(WindowHost):
    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.background = Background(self)
        services.search.loop = QtLoop(self, self.background)  # the search's pipe is read on this thread
        settings = services.settings
        self.state = CrawlState(threshold=settings.agent.select_threshold)
        self.run_id: int | None = None
        self.run_query = ""
        self._dirty = False
        self._live_keys: set[str] = set()
        self._progress_at = 0.0
        self._library_stale = True

        self.setWindowTitle("PaSa Desktop")
        self.resize(1440, 920)
        self.search_panel = SearchPanel(self.state)
        self.library_panel = LibraryPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.search_panel, "Search")
        self.tabs.addTab(self.library_panel, "Library")
        self._add_training_tab()
        self.notifications = NotificationArea()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.notifications)
        self.setCentralWidget(central)

        self.status_text = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.notify_button = QToolButton()
        self.notify_button.setText("Notifications")
        self.notify_button.setAutoRaise(True)
        self.notify_button.clicked.connect(lambda: self.notifications.setVisible(not self.notifications.isVisible()))
        self.notifications.count_changed.connect(
            lambda n: self.notify_button.setText(f"Notifications ({n})" if n else "Notifications"))
        bar = self.statusBar()
        bar.addWidget(self.status_text, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.notify_button)
        # First use: the default Selector's background preparation (pasa_desktop/selector_setup.py), until ready.
        self.selector_setup_text = QLabel("")
        self.selector_setup_text.setObjectName("selector-setup")
        bar.addPermanentWidget(self.selector_setup_text)
        self._selector_timer = QTimer(self)
        self._selector_timer.setInterval(3000)
        self._selector_timer.timeout.connect(self._show_selector_setup)
        if settings.selector_profile == "relevance":
            self._show_selector_setup()
            self._selector_timer.start()

        from ui.actions import ActionHandler  # export, Zotero, settings, clipboard

        # Not `self.actions`: that would hide QWidget.actions(), which Qt code and tests may call.
        self.action_handler = ActionHandler(self)
        self._build_menus()
        profiles = [p.name for p in settings.profiles] or ["embedded"]
        profiles += [] if "relevance" in profiles else ["relevance"]  # built in: the Selector trained on first use
        from ui.settings_dialog import KNOWN_SOURCES

        self.search_panel.set_options(list(KNOWN_SOURCES), settings.sources.enabled, profiles,
                                      settings.crawler_profile, settings.selector_profile)
        self.search_panel.show_budgets(settings)
        self.search_panel.search_requested.connect(self.start_search)
        self.search_panel.cancel_requested.connect(self.cancel_search)
        self._wire_results(self.search_panel.results, live=True)
        self._wire_results(self.library_panel.results, live=False)
        self.library_panel.refresh_requested.connect(self.refresh_library)
        self.library_panel.run_chosen.connect(self._show_run)
        self.library_panel.resume_requested.connect(self.resume_search)
        self.tabs.currentChanged.connect(self._tab_changed)

        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._flush_timer.start()

    def _show_selector_setup(self) -> None:
        """The relevance Selector's first-use preparation in the status bar; hidden once it is ready."""
        from pasa_desktop.selector_setup import preparation_blocker, setup_status

        status = setup_status()
        if status.ready:
            if self._selector_timer.isActive():  # it became ready now: the budget tooltips said nothing is scored
                self.search_panel.show_budgets(self.services.settings)
            self._selector_timer.stop()
            self.selector_setup_text.setText("")
            self.selector_setup_text.setToolTip("")
            return
        self.selector_setup_text.setText(
            f"Selector: preparing ({status.done:,}/{status.total:,})" if status.stage == "embed" and status.running
            else "Selector: preparing" if status.running else "Selector: not prepared"
        )
        blocker = "" if status.running else preparation_blocker(self.services.settings)
        if blocker:
            self.selector_setup_text.setText("Selector: cannot be prepared here")
        self.selector_setup_text.setToolTip(
            status.describe() + (f" {blocker}" if blocker else "") + " Searches meanwhile rank by retrieval "
            "alone and score or select nothing; `pasa models prepare-selector` prepares it in a terminal."
        )

    # -- start-up ----------------------------------------------------------------------------------

    def finish_startup(self) -> None:
        """Heavy parts, after the window is on screen: pyqtgraph (in a thread), then the library."""
        self.status_text.setText("Loading plots and library…")

        def load() -> None:
            import pyqtgraph  # noqa: F401 - warms the import for the GUI thread

        self.run_later(load, self._plots_loaded, "Plots")
        self.schedule_index_updates()

    def _plots_loaded(self, _none: object = None) -> None:
        self.search_panel.attach_plots()
        self.run_later(lambda: self.services.gateway(), self._library_opened, "Library")

    def _library_opened(self, _gateway: object) -> None:
        self.status_text.setText(f"Ready · library: {self.services.settings.library_path()}")
        self.refresh_library()
        _freeze_startup_objects()

    # -- searching ---------------------------------------------------------------------------------

    def start_search(self, request: SearchRequest) -> None:
        try:
            self.services.plan(request)  # the one check every front end runs (SearchRequest.plan)
        except InputError as exc:
            self.show_error("Search", str(exc), "warning")
            self.search_panel.query.setFocus()
            return
        self.state = CrawlState(threshold=self.services.settings.agent.select_threshold)
        self._library_stale = True
        self.run_id = request.resume_run
        self.run_query = request.query
        self._live_keys = set()
        self.search_panel.reset(self.state)
        self.search_panel.set_running(True)
        self.tabs.setCurrentIndex(SEARCH_TAB)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status_text.setText("Resuming search…" if request.resume_run else "Starting search…")
        state = self.state
        try:
            self.services.search.start(
                request,
                on_event=lambda run_id, event: self._on_event(state, run_id, event),
                on_done=lambda outcome: self._on_done(state, outcome),
            )
        except PasaError as exc:
            self.show_error("Search", str(exc))
            self.search_panel.set_running(False)

    def resume_search(self, run_id: int, query: str) -> None:
        panel = self.search_panel
        panel.query.setPlainText(query)
        self.start_search(panel.request(query, resume_run=run_id))

    def cancel_search(self) -> None:
        if self.services.search.running:
            self.status_text.setText("Cancelling… (everything found so far is kept)")
            self.search_panel.cancel_button.setEnabled(False)
            self.services.search.cancel()

    def _on_event(self, state: CrawlState, run_id: int, event: Event) -> None:
        if state is not self.state:  # a replaced search still winding down
            return
        if run_id:  # 0: before the run exists (index build, model loading)
            self.run_id = run_id
            state.run_id = run_id
        state.apply(event)
        if isinstance(event, Notice):
            self.notifications.notify(event.level, event.source, event.message)
        self._dirty = True

    def _on_done(self, state: CrawlState, outcome: SearchOutcome) -> None:
        if state is not self.state:
            return
        self._flush()
        self.search_panel.set_running(False)
        self.progress.hide()
        if outcome.status.value == "failed":
            self.show_error("Search", outcome.message or "The search failed.")
            if state.finished is None:
                self.status_text.setText(f"Failed: {outcome.message}")
        elif state.finished is None:
            self.status_text.setText(f"{outcome.status.value.capitalize()}: {state.summary()}")
        self._show_final(state)
        self._library_stale = True
        if outcome.run_id and self.services.library_ready():
            run_id = outcome.run_id
            self.run_later(lambda: self.services.gateway().run_rows(run_id),
                           lambda rows: self._library_fields_loaded(state, rows), "Library")
        elif self.tabs.currentIndex() == LIBRARY_TAB:
            self.refresh_library()

    def _library_fields_loaded(self, state: CrawlState, stored: list[ResultRow]) -> None:
        """What the library adds to the search's rows: ids, decisions, tags, ratings (the user's data).
        Score, selection and reason stay as the event stream said them."""
        if state is self.state:
            model = self.search_panel.results.model
            by_key = {r.key: r for r in stored}
            rows = [r.with_updates(library_id=by_key[r.key].library_id, decision=by_key[r.key].decision,
                                   tags=by_key[r.key].tags, rating=by_key[r.key].rating)
                    for r in model.all_rows() if r.key in by_key]
            self.search_panel.results.upsert(rows)
        if self.tabs.currentIndex() == LIBRARY_TAB:
            self.refresh_library()

    def _show_final(self, state: CrawlState) -> None:
        """The table after the search: the engine's final ranking (SearchFinished) as the stream said it,
        the same record the library stored. Nothing is re-read and patched: without a SearchFinished (the
        search process died) the table stays what the events so far folded to, which is also what the
        library holds."""
        finished = state.finished
        if finished is None or not finished.results:
            return
        shown = {r.key: r for r in self.search_panel.results.model.all_rows()}
        rows = []
        for ranked in finished.results:
            key = ranked.paper.key
            base = shown.get(key) or ResultRow.from_paper(ranked.paper)
            how = ranked.found_by[0] if ranked.found_by else state.found_by.get(key)
            rows.append(base.with_updates(score=ranked.selector_score, selected=ranked.selected,
                                          found_by=how.label() if how else "",
                                          reason=state.reasons.get(key, base.reason)))
        self.search_panel.results.set_rows(rows)

    def _flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        state = self.state
        changes = state.take_changes()
        self.search_panel.apply(changes, final=state.finished is not None)
        self.status_text.setText(state.status)
        self._update_progress(state)
        new_keys = [state.nodes[n].key for n in changes.added if state.nodes[n].kind == "paper"]
        updated = {state.nodes[n].key for n in changes.updated if state.nodes[n].kind == "paper"}
        # New rows reach the table in the order they were found: its rank column while the search runs.
        changed = list(dict.fromkeys([*new_keys, *updated]))
        if changed:
            self._live_keys.update(new_keys)
            self.search_panel.results.upsert([self._live_row(state, k) for k in changed])

    def _live_row(self, state: CrawlState, key: str) -> ResultRow:
        known = self.search_panel.results.model.view_row_of(key)
        base = ResultRow.from_paper(state.papers[key])
        if known is not None:
            base = self.search_panel.results.model.row_at(known)
        how = state.found_by.get(key)
        return base.with_updates(score=state.scores.get(key), selected=key in state.selected,
                                 found_by=how.label() if how else "", reason=state.reasons.get(key, base.reason))

    def _update_progress(self, state: CrawlState) -> None:
        found, scored = len(state.papers), len(state.scores)
        if state.finished is not None or found == 0:
            return
        if scored == 0:
            self.progress.setRange(0, 0)
            return
        # QProgressBar.setValue repaints synchronously: update it twice a second at most.
        now = time.monotonic()
        if now - self._progress_at < 0.5:
            return
        self._progress_at = now
        # The Selector scores the best score_top papers (again after each expansion layer), not all found.
        self.progress.setRange(0, papers_to_score(found, scored, state.score_top) or scored)
        self.progress.setValue(scored)
        self.progress.setFormat("%v / %m scored")

    # -- results actions ---------------------------------------------------------------------------

    def _wire_results(self, panel: ResultsPanel, *, live: bool) -> None:
        detail = panel.detail

        def run_id() -> int | None:
            return self.run_id if live else self.library_panel.current_run

        def apply(key: str, action: Callable[[ResultRow], ResultRow]) -> None:
            row = self._row_by_key(panel, key)
            if row is None:
                return
            if not self.services.library_ready():
                self.show_error("Library", "The library is still opening; try again in a moment.")
                return
            try:
                fresh = action(row)
            except PasaError as exc:
                self.show_error("Library", str(exc))
                return
            panel.update_row(fresh)
            other = self.library_panel.results if live else self.search_panel.results
            if other.model.view_row_of(fresh.key) is not None:
                other.update_row(fresh)

        gw = self.services.gateway
        detail.decision_requested.connect(lambda k, d: apply(k, lambda r: gw().set_decision(r, d, run_id())))
        detail.rating_requested.connect(lambda k, n: apply(k, lambda r: gw().set_rating(r, n, run_id())))

        def add_tag(key: str, tag: str) -> None:
            apply(key, lambda r: gw().add_tag(r, tag, run_id()))
            self.library_panel.reload_sidebar(gw())  # a new tag appears in the sidebar

        detail.tag_requested.connect(add_tag)
        detail.collection_requested.connect(lambda k, c: self._add_to_collection(panel, k, c, run_id()))
        detail.explain_requested.connect(lambda k: self._explain(panel, k, run_id()))
        panel.current_changed.connect(lambda row: self._load_pdf(panel, row))

    def _row_by_key(self, panel: ResultsPanel, key: str) -> ResultRow | None:
        view_row = panel.model.view_row_of(key)
        return None if view_row is None else panel.model.row_at(view_row)

    def _add_to_collection(self, panel: ResultsPanel, key: str, path: str, run_id: int | None) -> None:
        rows = panel.selected_rows() or [r for r in [self._row_by_key(panel, key)] if r is not None]
        try:
            self.services.gateway().add_to_collection(rows, path, run_id)
        except PasaError as exc:
            self.show_error("Library", str(exc))
            return
        self.status_text.setText(f"Added {len(rows)} paper{'s' * (len(rows) != 1)} to “{path}”.")
        self.refresh_library()

    def _explain(self, panel: ResultsPanel, key: str, run_id: int | None) -> None:
        row = self._row_by_key(panel, key)
        if row is None:
            return
        query = self.run_query if panel is self.search_panel.results else self.library_panel.current_query
        query = query or self.search_panel.query.toPlainText().strip()
        if not query:
            self.show_error("Selector", "No research question to explain the score against.")
            panel.detail.show_row(row)
            return

        from engine.agent.explain import Explanation, ExplanationKind

        def done(explanation: Explanation) -> None:
            self.status_text.setText(f"Selector: explained in {explanation.seconds:.1f} s.")
            panel.detail.show_explanation(key, explanation)
            if explanation.kind is ExplanationKind.UNAVAILABLE:
                return  # nothing worth storing as the paper's reason
            reason = explanation.text()
            panel.update_row(row.with_updates(reason=reason))
            if run_id is not None and self.services.library_ready():
                try:
                    self.services.gateway().set_reason(row, reason, run_id)
                except PasaError as exc:
                    self.show_error("Library", str(exc))

        self.status_text.setText(f"Selector: explaining “{row.title[:60]}”…")
        self.run_later(lambda: self.services.explain(row, query), done, "Selector",
                       on_error=lambda: panel.detail.explain_failed(key))

    def _load_pdf(self, panel: ResultsPanel, row: ResultRow | None) -> None:
        if row is None or row.library_id is None or row.pdf_path or not self.services.library_ready():
            return
        path = self.services.gateway().pdf_path(row)
        if path:
            panel.update_row(row.with_updates(pdf_path=path))

    # -- library -----------------------------------------------------------------------------------

    def refresh_library(self) -> None:
        if not self.services.library_ready():
            return
        self._library_stale = False
        try:
            gateway = self.services.gateway()
            self.library_panel.reload(gateway, running_run=self.run_id if self.services.search.running else None)
            names = [c.path for c in gateway.collections()]
            for panel in (self.search_panel.results, self.library_panel.results):
                panel.detail.set_collections(names)
        except PasaError as exc:
            self.show_error("Library", str(exc))

    def _show_run(self, run_id: int) -> None:
        self.library_panel.show_run_rows(self.services.gateway(), run_id)

    def _tab_changed(self, index: int) -> None:
        # The library view reloads when it is shown, not while a search is drawing.
        if index == LIBRARY_TAB and self._library_stale:
            self.refresh_library()
        if self.tabs.tabText(index) == "Training":
            self._build_training_panel()

    # -- helpers -----------------------------------------------------------------------------------

    def run_later(self, fn: Callable[[], Any], on_result: Callable[[Any], object], source: str,
                  on_error: Callable[[], object] | None = None) -> None:
        """Run a blocking call in the background; deliver the result (or the error, also shown) here."""

        def failed(exc: BaseException) -> None:
            self.show_error(source, str(exc) if isinstance(exc, PasaError) else f"{type(exc).__name__}: {exc}")
            if on_error is not None:
                on_error()

        self.background.run(fn, on_result, failed)

    def show_error(self, source: str, message: str, level: str = "error") -> None:
        self.notifications.notify(level, source, message)

    def current_results(self) -> ResultsPanel:
        return self.library_panel.results if self.tabs.currentIndex() == LIBRARY_TAB else self.search_panel.results

    def current_run_id(self) -> int | None:
        return self.library_panel.current_run if self.tabs.currentIndex() == LIBRARY_TAB else self.run_id

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for text, keys, slot in (
            ("&Import…", "Ctrl+I", self.action_handler.import_file),
            ("&Export selection…", "Ctrl+E", self.action_handler.export_selection),
            ("Send to &Zotero…", "Ctrl+Shift+Z", self.action_handler.send_to_zotero),
            ("Update offline &index…", "", self.update_offline_index),
            ("&Settings…", "Ctrl+,", self.action_handler.open_settings),
            ("&Quit", "Ctrl+Q", self.close),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            file_menu.addAction(action)
        edit_menu = menu.addMenu("&Edit")
        copy = QAction("Copy &BibTeX of selection", self)
        copy.setShortcut(QKeySequence("Ctrl+Shift+C"))
        copy.triggered.connect(self.action_handler.copy_bibtex)
        edit_menu.addAction(copy)
        find = QAction("&Find in table", self)  # the table's filter box, not the query box
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.action_handler.find)
        edit_menu.addAction(find)
        view_menu = menu.addMenu("&View")
        graph = QAction("Crawl as &graph", self)
        graph.setShortcut(QKeySequence("Ctrl+G"))
        graph.triggered.connect(self.search_panel.view_toggle.toggle)
        view_menu.addAction(graph)
        notes = QAction("&Notifications", self)
        notes.triggered.connect(lambda: self.notifications.setVisible(not self.notifications.isVisible()))
        view_menu.addAction(notes)
        from ui.theme import THEMES, chosen_theme

        theme_menu = view_menu.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = theme_menu.addAction("Follow the system" if name == "system" else name.capitalize())
            action.setCheckable(True)
            action.triggered.connect(lambda _c=False, n=name: self.action_handler.set_theme(n))
            self.theme_actions[name] = action
        self.sync_theme_menu(chosen_theme())
        about = QAction("&About PaSa Desktop", self)
        about.triggered.connect(self.show_about)
        menu.addMenu("&Help").addAction(about)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.activated.connect(self.cancel_search)
        self.copy_action = copy

    def sync_theme_menu(self, theme: str) -> None:
        for name, action in self.theme_actions.items():
            action.setChecked(name == theme)

    _index_updating = False  # an update is running (one at a time)

    def schedule_index_updates(self) -> None:
        """Settings → Sources → Update offline index every N days: checked now and every hour."""
        self._index_timer = QTimer(self)
        self._index_timer.setInterval(3_600_000)
        self._index_timer.timeout.connect(self.maybe_update_index)
        self._index_timer.start()
        self.maybe_update_index()

    def maybe_update_index(self, endpoint: str | None = None) -> None:
        if self._index_updating or self.services.settings.sources.index_update_days <= 0:
            return
        from pasa_desktop.offline_index import due_update

        settings = self.services.settings

        def due(since: date | None) -> None:
            if since is not None and not self._index_updating:
                self.start_index_update(since, endpoint)

        self.run_later(lambda: due_update(settings), due, "index")

    def update_offline_index(self) -> None:
        """File → Update offline index: asks from which date (the last update's, by default), then
        harvests arXiv's new, revised and withdrawn papers in the background (pasa_desktop/offline_index.py)."""
        from PySide6.QtWidgets import QInputDialog

        from pasa_desktop.offline_index import index_health

        health = index_health(self.services.settings)
        if health.papers is None:
            self.show_error("index", f"No offline index to update ({health.detail}).", "warning")
            return
        text, ok = QInputDialog.getText(
            self,
            "Update offline index",
            f"{health.papers:,} papers; last update: {health.last_update or 'never'}.\n"
            "Add arXiv's new, revised and withdrawn papers since (YYYY-MM-DD):",
            text=health.last_update or "",
        )
        if not ok:
            return
        try:
            since = date.fromisoformat(text.strip())
        except ValueError:
            self.show_error("index", f"{text.strip()!r} is not a date (YYYY-MM-DD).", "warning")
            return
        self.start_index_update(since)

    def start_index_update(self, since: date, endpoint: str | None = None) -> None:
        from pasa_desktop.offline_index import update_index_now

        settings = self.services.settings
        self._index_updating = True
        self.status_text.setText("Updating the offline index from arXiv…")

        def done(summary: str) -> None:
            self._index_updating = False
            self.status_text.setText(summary)
            self.show_error("index", summary, "info")

        def failed() -> None:
            self._index_updating = False
            self.status_text.setText("The offline index was not updated (see the notifications).")

        # Each search opens the index afresh (its own process), so the next one sees the update.
        self.run_later(lambda: update_index_now(settings, since, endpoint), done, "index", on_error=failed)

    def show_about(self) -> None:
        from ui.about_dialog import AboutDialog

        AboutDialog(self.services.settings, self).exec()

    def _add_training_tab(self) -> None:
        # The training panel is another engineer's module (it imports pyqtgraph): the tab is added now,
        # the panel is built the first time the tab is opened, so it costs nothing at start-up.
        if importlib.util.find_spec("ui.training_panel") is None:
            return
        self._training_holder = QWidget()
        self._training_layout = QVBoxLayout(self._training_holder)
        self._training_layout.setContentsMargins(0, 0, 0, 0)
        self.training_panel: QWidget | None = None
        self.tabs.addTab(self._training_holder, "Training")

    def _build_training_panel(self) -> None:
        if self.training_panel is not None:
            return
        try:
            from ui.training_panel import TrainingPanel

            panel = TrainingPanel()
            panel.profile_requested.connect(self.action_handler.add_profile)
            self.training_panel = panel
        except Exception as exc:  # a broken optional panel must not take the app down
            self.training_panel = QLabel(f"The training panel is unavailable: {type(exc).__name__}: {exc}")
            self.show_error("Training", str(self.training_panel.text()), "warning")
        self._training_layout.addWidget(self.training_panel)
        self.training_panel.show()  # added to a visible parent: shown now, not on the next event loop pass

    def closeEvent(self, event: QCloseEvent) -> None:
        self._flush_timer.stop()
        self.services.close()
        self.background.shutdown()
        super().closeEvent(event)


def clipboard_set(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def _freeze_startup_objects() -> None:
    """Once the window, its plots and the library are loaded, keep the objects alive then (Qt and pyqtgraph
    wrappers, SQLAlchemy, modules: they live for the whole session) out of the garbage collector's full
    passes. Those passes run on the GUI thread while a search's events pour in; with them
    frozen, a 20,000-event burst read by the search controller alone (after gc.freeze) kept the GUI thread
    busy at most 27 ms between timer ticks instead of 69-78 ms, and was read twice as fast. Once per process
    (a second window, as in the tests, would freeze whatever the first one left behind)."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.freeze()


_FROZEN = False
