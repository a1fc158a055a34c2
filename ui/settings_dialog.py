"""Settings: model profiles, sources and API keys (OS keyring), budgets, library location, appearance."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.agent.crawler import crawler_writes_queries_for
from engine.models.profiles import ModelProfile
from pasa_desktop.fulltext_sources import ONLINE_FULLTEXT_LABEL, fulltext_summary, sample_fulltext_path
from pasa_desktop.settings import RELEVANCE_PROFILE, Settings
from pasa_desktop.source_keys import KEYED_SOURCES

KNOWN_SOURCES = {
    "local": "Offline index (no network)",
    "arxiv": "arXiv API",
    "semantic_scholar": "Semantic Scholar",
    "openalex": "OpenAlex",
    "serper": "Google via serper.dev",
}
KINDS = ("embedded", "gguf", "transformers", "openai")
CRAWLER_QUERIES = (
    ("auto", "Automatic (not for the embedded model)"),
    ("on", "Always, up to the budget's number"),
    ("off", "Never (your question and its spelling variants only)"),
)
EMBEDDED_CRAWLER_NOTE = (
    "The embedded model (SmolLM2-135M) writes no search queries by default: on 100 training questions its "
    "queries left recall at 50 and 100 unchanged and lowered recall at 20 (0.313 to 0.293; benchmarks/RESULTS.md "
    "§1.10), so searches skip them and finish sooner. A stronger Crawler (for example pasa-7b-crawler) writes "
    "queries."
)


def fulltext_row(edit: QLineEdit) -> QWidget:
    """The offline full-text path with a Browse… button (unarXive .tar.gz/.jsonl or a folder of them)."""

    def pick() -> str:
        chosen, _ = QFileDialog.getOpenFileName(
            edit, "unarXive full texts", edit.text(), "unarXive data (*.tar.gz *.tgz *.jsonl *.jsonl.gz);;All files (*)"
        )
        return chosen

    return browse_row(edit, pick)


def default_fulltext_text(settings: Settings) -> str:
    """What the offline full-text field shows: the saved path, else the unarXive sample when present."""
    if settings.paths.fulltext:
        return settings.paths.fulltext
    sample = sample_fulltext_path()
    return str(sample) if sample is not None else ""


def browse_row(edit: QLineEdit, pick: Callable[[], str]) -> QWidget:
    """`edit` with a Browse… button beside it; `pick` asks for a path ("" when the user cancels)."""
    button = QPushButton("Browse…")

    def browse() -> None:
        chosen = pick()
        if chosen:
            edit.setText(chosen)

    button.clicked.connect(browse)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(button)
    return row


def _path_row(edit: QLineEdit, caption: str, directory: bool = False) -> QWidget:
    def pick() -> str:
        if directory:
            return QFileDialog.getExistingDirectory(edit, caption, edit.text())
        chosen, _ = QFileDialog.getSaveFileName(
            edit, caption, edit.text(), options=QFileDialog.Option.DontConfirmOverwrite
        )
        return chosen

    return browse_row(edit, pick)


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None, key_status: dict[str, bool] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(720, 520)
        self._settings = settings
        self._profiles = [p.model_copy() for p in settings.profiles] or [ModelProfile()]
        self._current = -1
        self.tabs = QTabWidget()
        self.tabs.addTab(self._models_tab(), "Models")
        self.tabs.addTab(self._sources_tab(key_status or {}), "Sources && keys")
        self.tabs.addTab(self._budgets_tab(), "Budgets")
        self.tabs.addTab(self._library_tab(), "Library && appearance")
        from ui.model_test import ModelTestWidget
        from ui.zotero_settings import ZoteroSettings

        self.zotero = ZoteroSettings()
        self.tabs.addTab(self.zotero, "Zotero")
        self.model_test = ModelTestWidget(self._test_settings, self._test_profiles, default=settings.selector_profile)
        self.tabs.addTab(self.model_test, "Test model")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.profile_list.setCurrentRow(0)
        self._update_crawler_note()

    # -- tabs --------------------------------------------------------------------------------------

    def _models_tab(self) -> QWidget:
        self.profile_list = QListWidget()
        self.profile_list.addItems([p.name for p in self._profiles])
        self.profile_list.setMaximumWidth(180)
        add, remove = QPushButton("Add"), QPushButton("Remove")
        add.clicked.connect(self._add_profile)
        remove.clicked.connect(self._remove_profile)
        self.p_name = QLineEdit()
        self.p_kind = QComboBox()
        self.p_kind.addItems(KINDS)
        self.p_path = QLineEdit()
        self.p_path.setPlaceholderText("GGUF file or checkpoint folder")
        self.p_threads = QSpinBox()
        self.p_threads.setRange(0, 256)
        self.p_threads.setSpecialValueText("all cores")
        self.p_device = QLineEdit()
        self.p_device.setPlaceholderText("auto, cpu, cuda, cuda:1 …")
        self.p_url = QLineEdit()
        self.p_url.setPlaceholderText("http://127.0.0.1:8000/v1")
        self.p_model = QLineEdit()
        self.p_key_env = QLineEdit()
        self.p_key_env.setPlaceholderText("environment variable holding the server's API key")
        form = QFormLayout()
        form.addRow("Name", self.p_name)
        form.addRow("Backend", self.p_kind)
        form.addRow("Model path", _path_row(self.p_path, "Model file"))
        form.addRow("CPU threads", self.p_threads)
        form.addRow("Device", self.p_device)
        form.addRow("Server URL", self.p_url)
        form.addRow("Server model", self.p_model)
        form.addRow("API key variable", self.p_key_env)
        self.crawler = QComboBox()
        self.selector = QComboBox()
        form.addRow(QLabel(""))
        form.addRow("Crawler uses", self.crawler)
        self.crawler_queries = QComboBox()
        for value, label in CRAWLER_QUERIES:
            self.crawler_queries.addItem(label, value)
        self.crawler_queries.setCurrentIndex(max(0, self.crawler_queries.findData(self._settings.agent.crawler_queries)))
        form.addRow("Crawler writes queries", self.crawler_queries)
        self.crawler_note = QLabel()
        self.crawler_note.setWordWrap(True)
        self.crawler_note.setObjectName("crawler-note")
        # A wrapped label in a crowded form is squeezed to one line unless it asks for its lines.
        self.crawler_note.setMinimumHeight(self.crawler_note.fontMetrics().lineSpacing() * 4 + 4)
        form.addRow(self.crawler_note)
        form.addRow("Selector uses", self.selector)
        self._refresh_role_pickers()
        left = QVBoxLayout()
        left.addWidget(self.profile_list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        left.addLayout(buttons)
        tab = QWidget()
        layout = QHBoxLayout(tab)
        layout.addLayout(left)
        layout.addLayout(form, 1)
        self.profile_list.currentRowChanged.connect(self._profile_changed)
        self.p_kind.currentTextChanged.connect(self._kind_changed)
        self.crawler.currentTextChanged.connect(lambda _name: self._update_crawler_note())
        self.crawler_queries.currentIndexChanged.connect(lambda _i: self._update_crawler_note())
        return tab

    def _update_crawler_note(self) -> None:
        """Say in plain words whether the chosen Crawler writes queries, and why not when it does not."""
        profile = next((p for p in self._profiles if p.name == self.crawler.currentText()), None)
        agent = self._settings.agent.model_copy(update={"crawler_queries": self.crawler_queries.currentData()})
        kind, name = (profile.kind, profile.path or profile.model) if profile is not None else ("embedded", "")
        if crawler_writes_queries_for(agent, kind, name):
            self.crawler_note.setText(f"The Crawler writes up to {agent.max_queries} search queries per search "
                                      "(Budgets), beside your question and its spelling variants.")
        elif agent.crawler_queries == "off" or agent.max_queries == 0:
            self.crawler_note.setText("The Crawler writes no search queries: searches run your question and its "
                                      "spelling variants only.")
        else:
            self.crawler_note.setText(EMBEDDED_CRAWLER_NOTE)

    def _sources_tab(self, key_status: dict[str, bool]) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.source_checks: dict[str, QCheckBox] = {}
        for name, label in KNOWN_SOURCES.items():
            box = QCheckBox(label)
            box.setChecked(name in self._settings.sources.enabled)
            self.source_checks[name] = box
            form.addRow(box)
        form.addRow(QLabel("<b>API keys</b> — stored in the system keyring, never in the settings file."))
        self.key_edits: dict[str, QLineEdit] = {}
        for name in KEYED_SOURCES:
            edit = QLineEdit()
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("key is set — type to replace" if key_status.get(name) else "not set")
            self.key_edits[name] = edit
            form.addRow(KNOWN_SOURCES[name], edit)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1, 600)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(self._settings.sources.timeout_s)
        form.addRow("Request timeout", self.timeout)
        self.index_update_days = QSpinBox()
        self.index_update_days.setRange(0, 365)
        self.index_update_days.setSuffix(" days")
        self.index_update_days.setSpecialValueText("only when asked (File menu)")
        self.index_update_days.setValue(self._settings.sources.index_update_days)
        form.addRow("Update offline index every", self.index_update_days)
        # Citation expansion reads full texts; without a source for them it cannot run (issue #15).
        form.addRow(QLabel("<b>Full texts</b> — citation expansion reads them to follow a paper's references."))
        self.fulltext_path = QLineEdit(default_fulltext_text(self._settings))
        self.fulltext_path.setPlaceholderText("unarXive full texts (.tar.gz or .jsonl): works offline")
        form.addRow("Offline (unarXive)", fulltext_row(self.fulltext_path))
        self.fulltext_online = QCheckBox(f"Fetch {ONLINE_FULLTEXT_LABEL} (also on whenever an online source is ticked)")
        self.fulltext_online.setChecked(self._settings.sources.fulltext_online)
        form.addRow("Online", self.fulltext_online)
        self.fulltext_status = QLabel()
        self.fulltext_status.setWordWrap(True)
        self.fulltext_status.setObjectName("fulltext-status")
        form.addRow(self.fulltext_status)
        self.fulltext_path.textChanged.connect(lambda _t: self._update_fulltext_status())
        self.fulltext_online.toggled.connect(lambda _on: self._update_fulltext_status())
        for box in self.source_checks.values():
            box.toggled.connect(lambda _on: self._update_fulltext_status())
        self._update_fulltext_status()
        return tab

    def _update_fulltext_status(self) -> None:
        chosen = self._chosen_sources_and_fulltext()
        self.fulltext_status.setText(fulltext_summary(chosen))

    def _chosen_sources_and_fulltext(self) -> Settings:
        """The settings as this dialog would save their sources and full-text parts."""
        sources = self._settings.sources.model_copy(update={
            "enabled": [n for n, box in self.source_checks.items() if box.isChecked()] or ["local"],
            "fulltext_online": self.fulltext_online.isChecked(),
        })
        paths = self._settings.paths.model_copy(update={"fulltext": self.fulltext_path.text().strip()})
        return self._settings.model_copy(update={"sources": sources, "paths": paths})

    def _budgets_tab(self) -> QWidget:
        agent = self._settings.agent
        tab = QWidget()
        form = QFormLayout(tab)
        self.budget: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for field, label, lo, hi in (
            ("max_queries", "Search queries per search", 0, 50),
            ("results_per_query", "Results per query", 1, 200),
            ("expand_layers", "Citation-expansion layers", 0, 5),
            ("expand_per_layer", "Papers expanded per layer", 0, 200),
            ("max_papers", "Most papers per search", 1, 10000),
            ("score_top", "Papers sent to the Selector", 0, 10000),
        ):
            box = QSpinBox()
            box.setRange(lo, hi)
            box.setValue(int(getattr(agent, field)))
            self.budget[field] = box
            form.addRow(label, box)
        # engine/agent/ranking.resolve_select_rule raises score_top for the fast Selectors: say so where it is set.
        self.budget["score_top"].setToolTip(
            "The best this-many papers by retrieval are scored. The relevance Selector (the default) is sent at "
            "least the papers it was calibrated on, a trained cross-encoder at least 200.")
        seconds = QDoubleSpinBox()
        seconds.setRange(1, 86400)
        seconds.setSuffix(" s")
        seconds.setValue(agent.max_seconds)
        self.budget["max_seconds"] = seconds
        form.addRow("Time budget", seconds)
        threshold = QDoubleSpinBox()
        threshold.setRange(0, 1)
        threshold.setSingleStep(0.05)
        threshold.setValue(agent.select_threshold)
        self.budget["select_threshold"] = threshold
        form.addRow("Selection threshold", threshold)
        # Under select_rule "auto" (engine/agent/ranking.resolve_select_rule) this threshold is PaSa's rule for
        # an LLM Selector only: the default Selector brings its own, and the others select by rank.
        self.threshold_note = QLabel(
            "The selection threshold (selected when P(True) is above it) applies to an LLM Selector such as "
            "pasa-7b-selector. The relevance Selector (the default) selects by the threshold its training chose, "
            "and the embedded model and a trained cross-encoder select the best papers by rank.")
        self.threshold_note.setWordWrap(True)
        threshold.setToolTip(self.threshold_note.text())
        form.addRow(self.threshold_note)
        note = QLabel("These are the “Standard” budget. Quick and Thorough replace the budgets above (and only "
                      "them) with their own: hover over the budget buttons to see what each runs.")
        note.setWordWrap(True)
        form.addRow(note)
        return tab

    def _library_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.library_path = QLineEdit(str(self._settings.library_path()))
        self.index_path = QLineEdit(str(self._settings.index_path()))
        self.corpus_path = QLineEdit(self._settings.paths.corpus)
        self.corpus_path.setPlaceholderText("JSON-lines corpus the offline index is built from")
        form.addRow("Library file", _path_row(self.library_path, "Library file"))
        form.addRow("Offline index", _path_row(self.index_path, "Index file"))
        form.addRow("Corpus", _path_row(self.corpus_path, "Corpus file"))
        self.selected_join = QCheckBox("Papers the Selector selects join the library by themselves")
        self.selected_join.setChecked(self._settings.library.selected_join)
        self.selected_join.setToolTip(
            "Off: All papers holds only what you keep, accept, tag, rate, collect, annotate or import; "
            "everything a search found stays with its search, one Keep away."
        )
        form.addRow("Library", self.selected_join)
        self.theme = QComboBox()
        for name, label in (("system", "Follow the system (light or dark)"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(label, name)
        self.theme.setCurrentIndex(max(0, self.theme.findData(self._settings.appearance.theme)))
        self.theme.setToolTip("Also in View → Theme")
        form.addRow("Theme", self.theme)
        return tab

    # -- profile editing ---------------------------------------------------------------------------

    def _profile_changed(self, row: int) -> None:
        self._store_profile()
        self._current = row
        if row < 0:
            return
        p = self._profiles[row]
        self.p_name.setText(p.name)
        self.p_kind.setCurrentText(p.kind)
        self.p_path.setText(p.path)
        self.p_threads.setValue(p.threads)
        self.p_device.setText(p.device)
        self.p_url.setText(p.base_url)
        self.p_model.setText(p.model)
        self.p_key_env.setText(p.api_key_env)
        self._kind_changed(p.kind)

    def _kind_changed(self, kind: str) -> None:
        holder = self.p_path.parentWidget()  # the path field with its Browse button
        if holder is not None:
            holder.setEnabled(kind in ("gguf", "transformers"))
        self.p_threads.setEnabled(kind in ("embedded", "gguf"))
        self.p_device.setEnabled(kind == "transformers")
        for w in (self.p_url, self.p_model, self.p_key_env):
            w.setEnabled(kind == "openai")

    def _store_profile(self) -> None:
        if not 0 <= self._current < len(self._profiles):
            return
        name = self.p_name.text().strip() or f"profile-{self._current + 1}"
        self._profiles[self._current] = ModelProfile(
            name=name, kind=self.p_kind.currentText(), path=self.p_path.text().strip(),
            threads=self.p_threads.value(), device=self.p_device.text().strip() or "auto",
            base_url=self.p_url.text().strip(), model=self.p_model.text().strip(),
            api_key_env=self.p_key_env.text().strip(),
        )
        item = self.profile_list.item(self._current)
        if item is not None:
            item.setText(name)
        self._refresh_role_pickers()

    def _add_profile(self) -> None:
        self._store_profile()
        self._profiles.append(ModelProfile(name=f"profile-{len(self._profiles) + 1}", kind="gguf"))
        self.profile_list.addItem(self._profiles[-1].name)
        self.profile_list.setCurrentRow(len(self._profiles) - 1)

    def _remove_profile(self) -> None:
        row = self.profile_list.currentRow()
        if row < 0 or len(self._profiles) == 1:
            return
        self._current = -1
        del self._profiles[row]
        self.profile_list.takeItem(row)
        self._refresh_role_pickers()

    def _refresh_role_pickers(self) -> None:
        listed = [p.name for p in self._profiles]
        # Built-in profiles exist without being listed (Settings.profile knows them): offer them, or saving
        # the dialog would silently switch the Selector away from the default relevance model. The
        # relevance model only scores papers, so it is offered to the Selector alone.
        crawler_names = listed + [n for n in ("embedded",) if n not in listed]
        selector_names = crawler_names + [n for n in (RELEVANCE_PROFILE,) if n not in crawler_names]
        for combo, wanted, names in ((self.crawler, self._settings.crawler_profile, crawler_names),
                                     (self.selector, self._settings.selector_profile, selector_names)):
            current = combo.currentText() or wanted
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            combo.setCurrentText(current if current in names else names[0])
            combo.blockSignals(False)

    # -- result ------------------------------------------------------------------------------------

    def result_settings(self) -> Settings:
        self._store_profile()
        agent = self._settings.agent.model_copy(update={k: w.value() for k, w in self.budget.items()})
        agent = agent.model_copy(update={"crawler_queries": self.crawler_queries.currentData()})
        sources = self._settings.sources.model_copy(update={
            "enabled": [n for n, box in self.source_checks.items() if box.isChecked()] or ["local"],
            "timeout_s": self.timeout.value(),
            "fulltext_online": self.fulltext_online.isChecked(),
            "index_update_days": self.index_update_days.value(),
        })
        paths = self._settings.paths.model_copy(update={
            "fulltext": self.fulltext_path.text().strip(),
            "library": self.library_path.text().strip(),
            "index": self.index_path.text().strip(),
            "corpus": self.corpus_path.text().strip(),
        })
        return self._settings.model_copy(update={
            "agent": agent, "sources": sources, "paths": paths, "profiles": list(self._profiles),
            "appearance": self._settings.appearance.model_copy(update={"theme": self.theme.currentData()}),
            "library": self._settings.library.model_copy(update={"selected_join": self.selected_join.isChecked()}),
            "crawler_profile": self.crawler.currentText(), "selector_profile": self.selector.currentText(),
        })

    def api_keys(self) -> dict[str, str]:
        keys = {name: edit.text().strip() for name, edit in self.key_edits.items() if edit.text().strip()}
        return keys | self.zotero.keyring_entries()  # the Zotero key and library: same keyring, same save

    def _test_settings(self) -> Settings:
        """The settings as typed so far, for Test model (the index path may have just been changed)."""
        paths = self._settings.paths.model_copy(update={
            "index": self.index_path.text().strip(), "corpus": self.corpus_path.text().strip()})
        return self._settings.model_copy(update={"paths": paths})

    def _test_profiles(self) -> list[ModelProfile]:
        self._store_profile()  # the profile being edited, as it stands
        return list(self._profiles)

