"""First-run wizard: where the library lives, which sources (offline index, online keys), which model.

It shows once: when no settings file exists yet. Every page starts at the defaults, so Next (or
"Use defaults") skips it; whatever is chosen is saved with `save_settings` and stays editable in
File → Settings. API keys go to the OS keyring, never into the settings file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from engine.errors import PasaError
from engine.models.profiles import ModelProfile
from pasa_desktop.fulltext_sources import ONLINE_FULLTEXT_LABEL, fulltext_summary
from pasa_desktop.settings import Settings, data_dir, save_settings, settings_file
from pasa_desktop.source_keys import KEYED_SOURCES, ONLINE_SOURCES, store_key
from ui.background import Background, Job
from ui.settings_dialog import KNOWN_SOURCES, browse_row, default_fulltext_text, fulltext_row

KeyStore = Callable[[str, str], None]
# Model choices: (kind, label, explanation). The embedded model needs nothing and works offline.
MODEL_CHOICES = (
    # What "embedded" really runs (result_settings): SmolLM2 as the Crawler only, whose own queries are off by
    # default (AgentSettings.crawler_queries), and the relevance Selector, prepared in the background.
    ("embedded", "Embedded default", "SmolLM2-135M through llama.cpp on this CPU as the Crawler (searching your "
     "question and its spelling variants: its own queries measured no better), and the relevance Selector the app "
     "trains itself on first use: works offline, no set-up."),
    ("gguf", "A GGUF model file", "e.g. PaSa-7B converted to GGUF, run by llama.cpp on this CPU."),
    ("transformers", "A transformers checkpoint", "a local checkpoint folder (PaSa-7B Crawler/Selector), best on a GPU."),
    ("openai", "An OpenAI-compatible server", "vLLM, llama.cpp's server, or a hosted API."),
)


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _logo() -> QPixmap | None:
    try:
        from pasa_desktop.desktop_entry import resources_dir

        path = resources_dir() / "pasa-desktop.png"
    except PasaError:
        return None
    pixmap = QPixmap(str(path))
    return None if pixmap.isNull() else pixmap.scaled(48, 48, Qt.AspectRatioMode.KeepAspectRatio,
                                                      Qt.TransformationMode.SmoothTransformation)


class LibraryPage(QWizardPage):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.setTitle("Where your library lives")
        self.setSubTitle("Every search, paper, note and PDF is kept in one SQLite file on this computer.")
        self.default_path = str(settings.library_path())
        self.path = QLineEdit(self.default_path)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        form = QFormLayout(self)
        form.addRow("Library file", browse_row(self.path, lambda: QFileDialog.getSaveFileName(
            self, "Library file", self.path.text(), options=QFileDialog.Option.DontConfirmOverwrite)[0]))
        form.addRow(_note(f"The default is in your data folder ({data_dir()}); a synced folder works too. "
                          "PDFs are kept in a folder beside the file."))
        form.addRow(self.error)

    def chosen(self) -> str:
        """The library path to save: empty keeps the default (so it follows PASA_DATA_DIR)."""
        text = self.path.text().strip()
        return "" if not text or text == self.default_path else str(Path(text).expanduser())

    def validatePage(self) -> bool:
        text = self.path.text().strip()
        if text and Path(text).expanduser().is_dir():
            self.error.setText("That is a folder: name a file inside it, e.g. library.sqlite.")
            return False
        self.error.clear()
        return True


class IndexBuilder(QObject):
    """Builds the offline index in the background (ui/background.py); its signals are emitted on the GUI thread."""

    progressed = Signal(int, int, int)  # bytes read, total bytes, papers added
    finished = Signal(int, int)  # papers added, lines skipped
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.background = Background(self, workers=1, name="pasa-first-run-index")

    def start(self, source: Path, target: Path) -> Job[Any]:
        from pasa_desktop.offline_index import build_index

        def progress(done: int, total: int, added: int) -> None:
            self.background.post(lambda: self.progressed.emit(done, total, added))

        def failed(exc: BaseException) -> None:
            # A damaged file must end in a message, never a dead wizard.
            self.failed.emit(str(exc) if isinstance(exc, PasaError) else f"{type(exc).__name__}: {exc}")

        return self.background.run(lambda: build_index(source, target, progress=progress),
                                   lambda report: self.finished.emit(report.added, report.skipped), failed)


class SourcesPage(QWizardPage):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.setTitle("Where to search")
        self.setSubTitle("An offline index needs no network; online sources find newer papers.")
        self.index_path = settings.index_path()
        self.corpus = QLineEdit(settings.paths.corpus)
        self.corpus.setPlaceholderText("papers.jsonl(.gz) or arXiv's metadata snapshot (.json)")
        self.build_button = QPushButton("Build index now")
        self.build_button.clicked.connect(self.build_index)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.status = _note("Already built." if self.index_path.exists() else
                            "Optional: the index is also built on first use from the file named here.")
        # No Qt parent: the running build holds it, so it outlives a wizard closed mid-build; Qt drops
        # the connections to a deleted page by itself.
        self.builder = IndexBuilder()
        self.builder.progressed.connect(self._progressed)
        self.builder.finished.connect(self._built)
        self.builder.failed.connect(self._failed)
        self.build_job: Job[Any] | None = None
        self._building = False
        self.indexed = 0

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Offline index</b>"))
        row = QHBoxLayout()
        row.addWidget(browse_row(self.corpus, lambda: QFileDialog.getOpenFileName(
            self, "Corpus or arXiv metadata snapshot", self.corpus.text(),
            "JSON lines (*.jsonl *.jsonl.gz *.json *.json.gz);;All files (*)")[0]), 1)
        row.addWidget(self.build_button)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addSpacing(8)
        layout.addWidget(QLabel("<b>Online sources</b> — keys are stored in the system keyring."))
        form = QFormLayout()
        self.checks: dict[str, QCheckBox] = {}
        self.keys: dict[str, QLineEdit] = {}
        for name in ONLINE_SOURCES:
            box = QCheckBox(KNOWN_SOURCES[name])
            box.setChecked(name in settings.sources.enabled)
            self.checks[name] = box
            if name in KEYED_SOURCES:
                edit = QLineEdit()
                edit.setEchoMode(QLineEdit.EchoMode.Password)
                edit.setPlaceholderText("API key (optional)" if name == "semantic_scholar" else "API key")
                self.keys[name] = edit
                form.addRow(box, edit)
            else:
                form.addRow(box, _note("no key needed"))
        layout.addLayout(form)
        layout.addSpacing(8)
        # Citation expansion reads full texts: offer the sources the app supports, or it never runs.
        layout.addWidget(QLabel("<b>Full texts</b> — citation expansion reads them to follow references."))
        self.fulltext_path = QLineEdit(default_fulltext_text(settings))
        self.fulltext_path.setPlaceholderText("unarXive full texts (.tar.gz or .jsonl)")
        self.fulltext_offline = QCheckBox("Offline: unarXive full texts")
        self.fulltext_offline.setChecked(bool(self.fulltext_path.text()))
        self.fulltext_online = QCheckBox(f"Online: {ONLINE_FULLTEXT_LABEL}")
        self.fulltext_online.setChecked(settings.sources.fulltext_online)
        texts = QFormLayout()
        texts.addRow(self.fulltext_offline, fulltext_row(self.fulltext_path))
        texts.addRow(self.fulltext_online)
        layout.addLayout(texts)
        self.fulltext_status = _note("")
        self.fulltext_status.setObjectName("fulltext-status")
        layout.addWidget(self.fulltext_status)
        self._base = settings
        self.fulltext_path.textChanged.connect(lambda _t: self._update_fulltext_status())
        for box in (self.fulltext_offline, self.fulltext_online, *self.checks.values()):
            box.toggled.connect(lambda _on: self._update_fulltext_status())
        self._update_fulltext_status()
        layout.addStretch(1)

    def fulltext_choice(self, base: Settings) -> Settings:
        """`base` with this page's full-text choice (the offline path, online full texts)."""
        path = self.fulltext_path.text().strip() if self.fulltext_offline.isChecked() else ""
        paths = base.paths.model_copy(update={"fulltext": str(Path(path).expanduser()) if path else ""})
        sources = base.sources.model_copy(update={"fulltext_online": self.fulltext_online.isChecked()})
        return base.model_copy(update={"paths": paths, "sources": sources})

    def _update_fulltext_status(self) -> None:
        chosen = self.fulltext_choice(self._base)
        self.fulltext_status.setText(fulltext_summary(chosen, self.enabled_sources()))

    def build_index(self) -> None:
        source = Path(self.corpus.text().strip()).expanduser()
        if not self.corpus.text().strip() or not source.is_file():
            self.status.setText("Choose a corpus file first (JSON lines, optionally gzipped).")
            return
        self.build_button.setEnabled(False)
        self.corpus.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText(f"Indexing {source.name}…")
        self._building = True  # until the result arrives here (the build may end before that)
        self.build_job = self.builder.start(source, self.index_path)
        self.completeChanged.emit()

    def building(self) -> bool:
        return self._building

    def isComplete(self) -> bool:
        return not self.building()

    def _progressed(self, done: int, total: int, added: int) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.status.setText(f"Indexing… {added:,} papers")

    def _built(self, added: int, skipped: int) -> None:
        self.indexed = added
        self.progress.setValue(1000)
        skipped_note = f" ({skipped:,} unusable lines skipped)" if skipped else ""
        self.status.setText(f"Indexed {added:,} papers into {self.index_path}{skipped_note}.")
        self._idle()

    def _failed(self, message: str) -> None:
        self.progress.hide()
        self.status.setText(f"Could not build the index: {message}")
        self._idle()

    def _idle(self) -> None:
        self._building = False
        self.build_button.setEnabled(True)
        self.corpus.setEnabled(True)
        self.completeChanged.emit()

    def enabled_sources(self) -> list[str]:
        return ["local", *[n for n, box in self.checks.items() if box.isChecked()]]

    def api_keys(self) -> dict[str, str]:
        return {n: e.text().strip() for n, e in self.keys.items() if e.text().strip() and self.checks[n].isChecked()}


class ModelPage(QWizardPage):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.setTitle("Which model")
        self.setSubTitle("The Crawler writes queries and picks citations; the Selector scores the best papers a search finds.")
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        layout = QVBoxLayout(self)
        for i, (kind, label, explanation) in enumerate(MODEL_CHOICES):
            radio = QRadioButton(label)
            self.group.addButton(radio, i)
            self.radios[kind] = radio
            layout.addWidget(radio)
            hint = _note(explanation)
            hint.setContentsMargins(24, 0, 0, 4)
            layout.addWidget(hint)
        current = settings.profile(settings.selector_profile).kind
        self.radios.get(current, self.radios["embedded"]).setChecked(True)
        self.path = QLineEdit()
        self.path.setPlaceholderText("GGUF file or checkpoint folder")
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://127.0.0.1:8000/v1")
        self.model = QLineEdit()
        self.model.setPlaceholderText("model name on the server")
        form = QFormLayout()
        form.addRow("Model path", browse_row(self.path, self._pick_path))
        form.addRow("Server URL", self.url)
        form.addRow("Server model", self.model)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.group.idToggled.connect(lambda _i, _on: self._kind_changed())
        self._kind_changed()

    def kind(self) -> str:
        return MODEL_CHOICES[max(self.group.checkedId(), 0)][0]

    def _pick_path(self) -> str:
        if self.kind() == "transformers":
            return QFileDialog.getExistingDirectory(self, "Checkpoint folder", self.path.text())
        return QFileDialog.getOpenFileName(self, "GGUF model", self.path.text(), "GGUF (*.gguf)")[0]

    def _kind_changed(self) -> None:
        kind = self.kind()
        holder = self.path.parentWidget()  # the path field with its Browse button
        if holder is not None:
            holder.setEnabled(kind in ("gguf", "transformers"))
        self.url.setEnabled(kind == "openai")
        self.model.setEnabled(kind == "openai")
        self.error.clear()

    def profile(self) -> ModelProfile:
        kind = self.kind()
        path = str(Path(self.path.text().strip()).expanduser()) if self.path.text().strip() else ""
        if kind == "gguf":
            return ModelProfile(name="gguf", kind="gguf", path=path)
        if kind == "transformers":
            return ModelProfile(name="transformers", kind="transformers", path=path)
        if kind == "openai":
            return ModelProfile(name="server", kind="openai", base_url=self.url.text().strip(),
                                model=self.model.text().strip())
        return ModelProfile()

    def problem(self) -> str:
        kind, text = self.kind(), self.path.text().strip()
        if kind == "gguf" and not (text and Path(text).expanduser().is_file()):
            return "Choose an existing .gguf file, or pick the embedded default."
        if kind == "transformers" and not (text and Path(text).expanduser().is_dir()):
            return "Choose a checkpoint folder (with config.json), or pick the embedded default."
        if kind == "openai" and not self.url.text().strip().startswith(("http://", "https://")):
            return "Give the server's URL, e.g. http://127.0.0.1:8000/v1."
        return ""

    def validatePage(self) -> bool:
        problem = self.problem()
        self.error.setText(problem)
        return not problem


class FirstRunWizard(QWizard):
    """Three skippable pages; `result_settings()` and `api_keys()` give what was chosen."""

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.base = settings or Settings()
        self.setWindowTitle("Welcome to PaSa Desktop")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.HaveCustomButton1, True)
        self.setButtonText(QWizard.WizardButton.CustomButton1, "Use defaults")
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start")
        self.customButtonClicked.connect(self._use_defaults)
        logo = _logo()
        if logo is not None:
            self.setPixmap(QWizard.WizardPixmap.LogoPixmap, logo)
        self.library_page = LibraryPage(self.base)
        self.sources_page = SourcesPage(self.base)
        self.model_page = ModelPage(self.base)
        for page in (self.library_page, self.sources_page, self.model_page):
            self.addPage(page)
        self.used_defaults = False
        self.resize(680, 520)

    def _use_defaults(self, which: int) -> None:
        if which == int(QWizard.WizardButton.CustomButton1.value):
            self.used_defaults = True
            self.accept()

    def result_settings(self) -> Settings:
        """The defaults with this wizard's choices applied (only the defaults after "Use defaults")."""
        if self.used_defaults:
            # The defaults are what the pages show untouched: that includes the unarXive sample when present.
            return self.base.model_copy(update={
                "paths": self.base.paths.model_copy(update={"fulltext": default_fulltext_text(self.base)})
            })
        profile = self.model_page.profile()
        profiles = [p for p in self.base.profiles if p.name != profile.name]
        if profile.kind == "embedded" and not any(p.kind == "embedded" for p in profiles):
            profiles.insert(0, profile)
        elif profile.kind != "embedded":
            profiles.append(profile)
        corpus = self.sources_page.corpus.text().strip()
        paths = self.base.paths.model_copy(update={
            "library": self.library_page.chosen(),
            "corpus": str(Path(corpus).expanduser()) if corpus else self.base.paths.corpus,
        })
        chosen = self.sources_page.fulltext_choice(self.base)
        paths = paths.model_copy(update={"fulltext": chosen.paths.fulltext})
        sources = chosen.sources.model_copy(update={"enabled": self.sources_page.enabled_sources()})
        return self.base.model_copy(update={
            "paths": paths, "sources": sources, "profiles": profiles,
            "crawler_profile": profile.name,
            # The embedded choice keeps the default Selector: the relevance model trained on first use.
            "selector_profile": self.base.selector_profile if profile.kind == "embedded" else profile.name,
        })

    def api_keys(self) -> dict[str, str]:
        return {} if self.used_defaults else self.sources_page.api_keys()


def save_choices(wizard: FirstRunWizard, accepted: bool, store_key: KeyStore = store_key,
                 path: Path | None = None) -> tuple[Settings, list[str]]:
    """Save what the wizard chose (its defaults when cancelled: that marks the first run as done).

    Returns the settings and the problems to tell the user (a key the keyring refused).
    """
    settings = wizard.result_settings() if accepted else wizard.base
    problems = []
    for name, key in (wizard.api_keys() if accepted else {}).items():
        try:
            store_key(name, key)
        except Exception as exc:  # no keyring backend: the key is not stored anywhere else
            problems.append(f"The {KNOWN_SOURCES[name]} key was not stored ({type(exc).__name__}): "
                            "set it in File → Settings or through its environment variable.")
    save_settings(settings, path)
    return settings, problems


def first_run_if_needed(settings: Settings, path: Path | None = None) -> tuple[Settings, list[str]]:
    """Show the wizard when no settings file exists (the first start); otherwise return `settings`."""
    if (path or settings_file()).exists():
        return settings, []
    wizard = FirstRunWizard(settings)
    accepted = bool(wizard.exec())
    return save_choices(wizard, accepted, path=path)
