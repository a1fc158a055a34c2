"""The search view: the query form, the live crawl (tree or graph), the score plots and the results.

It renders a `CrawlState` and emits commands; the main window owns the engine wiring.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.agent.presets import NO_FULLTEXT
from pasa_desktop.budget_text import preset_tooltips
from pasa_desktop.fulltext_sources import fulltext_available
from pasa_desktop.gui_controller import SearchRequest
from pasa_desktop.settings import Settings
from ui.crawl_state import Changes, CrawlState
from ui.crawl_tree import KEY_ROLE, CrawlTreeModel, CrawlTreeView
from ui.paper_table import RATING, TAGS
from ui.results_panel import ResultsPanel

SOURCE_LABELS = {
    "local": "Offline index",
    "arxiv": "arXiv",
    "semantic_scholar": "Semantic Scholar",
    "openalex": "OpenAlex",
    "serper": "Google (serper)",
}
PRESETS = ("quick", "standard", "thorough")
PLOT_EVERY_S = 0.3


class QueryBox(QPlainTextEdit):
    """Multi-line query; Ctrl+Enter runs it (plain Enter adds a line, as in any text box)."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(
            "Describe the papers you need, in as much detail as you like — e.g. “papers that use coded "
            "computation against stragglers in distributed training”.   Ctrl+Enter searches."
        )
        self.setTabChangesFocus(True)
        metrics = self.fontMetrics()
        self.setFixedHeight(metrics.lineSpacing() * 3 + 16)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Handled here rather than by a QShortcut: it then works whether or not the window is active.
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if ctrl and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class SearchPanel(QWidget):
    search_requested = Signal(object)  # SearchRequest
    cancel_requested = Signal()

    def __init__(self, state: CrawlState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.query = QueryBox()
        self.sources_button = QToolButton()
        self.sources_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sources_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.sources_button.setMinimumWidth(130)
        self.sources_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.sources_button.setToolTip("Where the agent searches (tick several to combine)")
        self._source_actions: dict[str, QAction] = {}
        self.profile = QComboBox()
        self.profile.setToolTip("Models for the Crawler and the Selector: the first entry uses each role's "
                                "profile from Settings; the others run both roles on one profile")
        self.profile.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.presets = QButtonGroup(self)
        preset_row = QHBoxLayout()
        preset_row.setSpacing(0)
        for i, name in enumerate(PRESETS):
            button = QPushButton(name.capitalize())
            button.setCheckable(True)
            button.setObjectName(f"preset-{name}")
            self.presets.addButton(button, i)
            preset_row.addWidget(button)
        self.presets.button(1).setChecked(True)
        # The budget tooltips say what each preset runs with these settings (engine/agent/presets.py's
        # table): the window passes its settings in `show_budgets`; until then, the defaults.
        self._budget_settings = Settings()
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.setToolTip("Start the search (Ctrl+Enter)")
        self.search_button.setMinimumWidth(96)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop now; everything found so far is kept (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setMinimumWidth(80)

        controls = QHBoxLayout()
        for label, widget in (("Sources", self.sources_button), ("Model", self.profile)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
            controls.addSpacing(12)
        controls.addWidget(QLabel("Budget"))
        controls.addLayout(preset_row)
        controls.addStretch(1)
        controls.addWidget(self.cancel_button)
        controls.addWidget(self.search_button)

        # Live view: crawl (tree | graph) beside the score plots.
        self.tree_model = CrawlTreeModel(state, self)
        self.tree = CrawlTreeView(self.tree_model)
        self.graph_holder = QWidget()  # pyqtgraph is loaded after the window is up (cold start)
        self.graph: object | None = None
        self.plots: object | None = None
        self.crawl_stack = QStackedWidget()
        self.crawl_stack.addWidget(self.tree)
        self.crawl_stack.addWidget(self.graph_holder)
        self.view_toggle = QPushButton("Show as graph")
        self.view_toggle.setCheckable(True)
        self.view_toggle.setToolTip("Switch the crawl between a tree and a graph (Ctrl+G)")
        self.view_toggle.toggled.connect(self._toggle_view)
        self.crawl_counts = QLabel()
        crawl_box = QGroupBox("Crawl")
        crawl_layout = QVBoxLayout(crawl_box)
        head = QHBoxLayout()
        head.addWidget(self.crawl_counts, 1)
        head.addWidget(self.view_toggle)
        crawl_layout.addLayout(head)
        crawl_layout.addWidget(self.crawl_stack, 1)
        self.plots_holder = QGroupBox("Selector scores")
        self.plots_layout = QVBoxLayout(self.plots_holder)
        self.plots_placeholder = QLabel("Loading plots…")
        self.plots_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.plots_layout.addWidget(self.plots_placeholder)
        live = QSplitter(Qt.Orientation.Horizontal)
        live.addWidget(crawl_box)
        live.addWidget(self.plots_holder)
        live.setStretchFactor(0, 5)
        live.setStretchFactor(1, 4)
        live.setSizes([780, 640])
        live.setChildrenCollapsible(False)

        self.results = ResultsPanel(
            "No results yet.\n\nType a research question above and press Search (Ctrl+Enter).\n"
            "Papers appear here as the agent finds them and stay with the search;\n"
            "those you keep or accept (and, by default, those the Selector selects) join your library.",
            hidden=(TAGS, RATING),
        )
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(live)
        self.splitter.addWidget(self.results)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([330, 470])
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.query)
        layout.addLayout(controls)
        layout.addWidget(self.splitter, 1)

        self._pending_plot = False
        self._plotted_at = 0.0
        self.query.submitted.connect(self._submit)
        self.search_button.clicked.connect(self._submit)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.tree.selectionModel().currentChanged.connect(self._tree_current)
        self._update_budget_tips()
        self._update_counts()

    # -- configuration -----------------------------------------------------------------------------

    def set_options(self, sources: list[str], enabled: list[str], profiles: list[str], crawler: str,
                    selector: str) -> None:
        menu = QMenu(self.sources_button)
        self._source_actions = {}
        for name in sources:
            action = menu.addAction(SOURCE_LABELS.get(name, name))
            action.setCheckable(True)
            action.setChecked(name in enabled)
            action.toggled.connect(self._update_sources_label)
            self._source_actions[name] = action
        self.sources_button.setMenu(menu)
        self._update_sources_label()
        # First entry: each role uses its profile from Settings (PaSa's Crawler and Selector are two models);
        # the others run both roles on one profile.
        self.profile.clear()
        same = crawler == selector
        self.profile.addItem(crawler if same else f"{crawler} + {selector}", ("", ""))
        for name in profiles:
            if not (same and name == crawler):
                self.profile.addItem(name, (name, name))
        self.profile.setCurrentIndex(0)

    def show_budgets(self, settings: Settings) -> None:
        """Budget tooltips and the crawl placeholder for these settings (call when they change)."""
        self._budget_settings = settings
        self._update_budget_tips()
        self._update_counts()

    def _update_budget_tips(self) -> None:
        sources = self.selected_sources() if self._source_actions else None
        tips = preset_tooltips(self._budget_settings, list(sources) if sources is not None else None)
        for i, name in enumerate(PRESETS):
            self.presets.button(i).setToolTip(tips[name])  # type: ignore[index]  # PRESETS lists the PresetName keys, typed str there

    def profiles(self) -> tuple[str, str]:
        """(crawler, selector) profile names; empty = as in Settings."""
        data = self.profile.currentData()
        return (str(data[0]), str(data[1])) if data else ("", "")

    def request(self, query: str, resume_run: int | None = None) -> SearchRequest:
        crawler, selector = self.profiles()
        return SearchRequest(query=query, preset=self.preset(), sources=self.selected_sources(),
                             crawler_profile=crawler, selector_profile=selector, resume_run=resume_run)

    def selected_sources(self) -> tuple[str, ...]:
        return tuple(name for name, action in self._source_actions.items() if action.isChecked())

    def preset(self) -> str:
        return PRESETS[max(0, self.presets.checkedId())]

    def set_preset(self, name: str) -> None:
        self.presets.button(PRESETS.index(name)).setChecked(True)

    def attach_plots(self) -> None:
        """Build the pyqtgraph views (called once pyqtgraph has been imported)."""
        if self.plots is not None:
            return
        from ui.crawl_graph import CrawlGraphView
        from ui.score_plots import ScorePlots

        self.plots = ScorePlots(self.state)
        self.plots_layout.removeWidget(self.plots_placeholder)
        self.plots_placeholder.hide()
        self.plots_placeholder.deleteLater()
        self.plots_layout.addWidget(self.plots)
        self.plots.show()
        graph = CrawlGraphView(self.state)
        graph.on_paper_clicked = self.results.table.select_key
        self.graph = graph
        layout = QVBoxLayout(self.graph_holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(graph)
        graph.show()

    # -- live state --------------------------------------------------------------------------------

    def reset(self, state: CrawlState) -> None:
        self.state = state
        self.tree_model.reset(state)
        if self.graph is not None:
            self.graph.reset(state)  # type: ignore[attr-defined]  # graph and plots are built lazily (pyqtgraph stays out of the cold start) and held as object
        if self.plots is not None:
            self.plots.reset(state)  # type: ignore[attr-defined]  # as above
        self.results.set_rows([])
        self._update_counts()

    def apply(self, changes: Changes, *, final: bool = False) -> None:
        """Show what changed. Plots and the graph repaint at most every PLOT_EVERY_S (they cost ~10 ms a
        repaint); the tree, counts and table follow every flush."""
        self.tree_model.apply(changes)
        self._pending_plot = self._pending_plot or bool(changes.new_scores or changes.added or changes.updated)
        now = time.monotonic()
        if self._pending_plot and (final or now - self._plotted_at >= PLOT_EVERY_S):
            self._pending_plot = False
            self._plotted_at = now
            if self.graph is not None and self.crawl_stack.currentIndex() == 1:
                self.graph.redraw()  # type: ignore[attr-defined]  # as above
            if self.plots is not None:
                self.plots.redraw()  # type: ignore[attr-defined]  # as above
        self._update_counts()

    def set_running(self, running: bool) -> None:
        self.search_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.search_button.setText("Searching…" if running else "Search")

    def _update_counts(self) -> None:
        s = self.state
        self.crawl_counts.setText(
            f"{len(s.papers)} found · {len(s.scores)} scored · {len(s.selected)} selected{self._expansion_note()}"
            if s.papers else self._crawl_placeholder()
        )

    def _expansion_note(self) -> str:
        """Why this search's crawl has no (or less) expansion, from the search's own notice: the crawl
        view says it, not only the notification list. The full message is the label's tooltip."""
        notice = next((n for n in self.state.notices if n.source == "expansion"), None)
        self.crawl_counts.setToolTip(notice.message if notice is not None else "")
        if notice is None:
            return ""
        if notice.message == NO_FULLTEXT:
            return " · no citation expansion: no full-text source (Settings → Sources)"
        return " · citation expansion: online full texts unreachable"

    def _crawl_placeholder(self) -> str:
        sources = list(self.selected_sources()) if self._source_actions else None
        if fulltext_available(self._budget_settings, sources):
            return "The crawl appears here: your question → search queries → papers → sections → cited papers."
        return "The crawl appears here: your question → search queries → papers (no full texts for expansion)."

    def _update_sources_label(self) -> None:
        chosen = [SOURCE_LABELS.get(n, n) for n in self.selected_sources()]
        self.sources_button.setText((", ".join(chosen) if chosen else "None chosen") + "  ▾")
        # An online source brings online full texts, so what a preset runs may change.
        self._update_budget_tips()
        self._update_counts()

    def _toggle_view(self, graph: bool) -> None:
        self.crawl_stack.setCurrentIndex(1 if graph else 0)
        self.view_toggle.setText("Show as tree" if graph else "Show as graph")
        if graph and self.graph is not None:
            self.graph.redraw()  # type: ignore[attr-defined]  # as above

    def _tree_current(self, current: object, _previous: object) -> None:
        key = self.tree_model.data(current, KEY_ROLE)  # type: ignore[arg-type]  # currentChanged passes a QModelIndex; the slot takes object
        if key:
            self.results.table.select_key(str(key))

    def _submit(self) -> None:
        if not self.search_button.isEnabled():
            return
        self.search_requested.emit(self.request(self.query.toPlainText().strip()))
