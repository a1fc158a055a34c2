"""The training panel: SFT data preview, a job form, launch/pause/cancel, live metric plots, checkpoints.

Self-contained: the main window embeds it and listens to `profile_requested(ModelProfile)`. Every
training question (what a job needs, starting it, its metrics and status, cancelling, checkpoints) goes
to the app layer's training service, the same code `pasa train` runs, so the two never disagree; this
module only renders the answers in the panel's words (ui/training_needs.py). Nothing slow runs on the
GUI thread: building data, launching (an SSH upload) and polling a job (an SSH round trip) run through
the window's background helper (ui/background.py), whose outcomes arrive on the GUI thread; a timer
only paces the polls and reads the metrics stream incrementally (a few new lines per tick) from the
job's local mirror. The plots take the application palette (light or dark).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pasa_desktop import training_service as training
from pasa_desktop.training_service import JobConfig
from ui.background import Background, Job
from ui.training_needs import in_panel_terms
from ui.training_plots import TrainingPlots


def _optional_path(edit: QLineEdit) -> Path | None:
    text = edit.text().strip()
    return Path(text) if text else None


def _path_row(edit: QLineEdit, pick_dir: bool = False) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    browse = QPushButton("…")
    browse.setFixedWidth(28)

    def pick() -> None:
        chosen = (
            QFileDialog.getExistingDirectory(row, "Choose a directory")
            if pick_dir
            else QFileDialog.getOpenFileName(row, "Choose a file")[0]
        )
        if chosen:
            edit.setText(chosen)

    browse.clicked.connect(pick)
    layout.addWidget(browse)
    return row


class TrainingPanel(QWidget):
    """Prepare data, configure and launch a job, and watch it live."""

    profile_requested = Signal(object)  # ModelProfile for a finished checkpoint
    job_started = Signal(str)  # job directory

    def __init__(self, parent: QWidget | None = None, *, poll_ms: int = 500) -> None:
        super().__init__(parent)
        # The window's one way to run blocking work (ui/background.py): outcomes arrive on the GUI thread.
        # Job work (data, launch, status polls, pause/cancel) one call at a time, in order; a GGUF
        # conversion (minutes) on its own worker so it never holds up the job's status.
        self._background = Background(self, workers=1, name="training-panel")
        self._convert_background = Background(self, workers=1, name="gguf-convert")
        self._pending: set[Job[Any]] = set()  # cancelled on shutdown: nothing queued starts after closing
        self._converting = False
        self._poll_job: Job[training.JobStatus] | None = None
        self.job_dir: Path | None = None
        self._watch: training.JobWatch | None = None
        self._paused = False
        self.state = "idle"
        self._shut_down = False
        self._watched_window: QWidget | None = None
        self._quit_hooked = False

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        tabs = QTabWidget()
        tabs.addTab(self._build_data_tab(), "Data")
        tabs.addTab(self._build_job_tab(), "Job")
        splitter.addWidget(tabs)
        splitter.addWidget(self._build_run_area())
        splitter.setSizes([420, 680])
        outer = QVBoxLayout(self)
        outer.addWidget(splitter)

        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    # ---------------------------------------------------------------- data tab
    def _build_data_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self.data_file = QLineEdit()
        self.data_file.setPlaceholderText("SFT rows (JSONL of {\"messages\": …})")
        form.addRow("SFT file", _path_row(self.data_file))
        self.data_queries = QLineEdit()
        self.data_queries.setPlaceholderText("AutoScholarQuery-format queries with gold papers")
        form.addRow("Queries", _path_row(self.data_queries))
        self.data_index = QLineEdit()
        form.addRow("Paper index", _path_row(self.data_index))
        self.data_decisions = QLineEdit()
        self.data_decisions.setPlaceholderText('optional: your JSONL of {"query", "title", "abstract", "decision"} (no app export)')
        form.addRow("Library decisions", _path_row(self.data_decisions))
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.build_selector_button = QPushButton("Build Selector data")
        self.build_selector_button.clicked.connect(lambda: self._build_data("selector"))
        self.build_crawler_button = QPushButton("Build Crawler data")
        self.build_crawler_button.clicked.connect(lambda: self._build_data("crawler"))
        self.preview_button = QPushButton("Preview")
        self.preview_button.clicked.connect(self.load_preview)
        for b in (self.build_selector_button, self.build_crawler_button, self.preview_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.counts_label = QLabel("No data loaded.")
        self.counts_label.setWordWrap(True)
        layout.addWidget(self.counts_label)
        self.preview_table = QTableWidget(0, 3)
        self.preview_table.setHorizontalHeaderLabels(["kind", "prompt", "reply"])
        self.preview_table.horizontalHeader().setStretchLastSection(True)
        self.preview_table.setColumnWidth(0, 100)
        self.preview_table.setColumnWidth(1, 220)
        layout.addWidget(self.preview_table, 1)
        return page

    def load_preview(self) -> None:
        path = Path(self.data_file.text().strip())
        if not path.is_file():
            self.counts_label.setText(f"File not found: {path}")
            return
        self._submit(lambda: training.preview_data(path, 200), self._show_preview)

    def _show_preview(self, result: Any) -> None:
        if isinstance(result, Exception):
            self.counts_label.setText(f"Cannot read the data: {in_panel_terms(str(result))}")
            return
        assert isinstance(result, training.DataPreview)
        self.counts_label.setText(result.summary + "".join(f"\n  skipped: {s}" for s in result.skipped[:5]))
        self.preview_table.setRowCount(len(result.rows))
        for i, row in enumerate(result.rows):
            for j, key in enumerate(("kind", "prompt", "reply")):
                item = QTableWidgetItem(row[key].replace("\n", " ⏎ ")[:300])
                item.setToolTip(row[key][:2000])
                self.preview_table.setItem(i, j, item)

    def _build_data(self, role: Literal["selector", "crawler"]) -> None:
        queries = _optional_path(self.data_queries)
        decisions = _optional_path(self.data_decisions)
        index = _optional_path(self.data_index)  # empty: the app's index
        out = Path(self.data_file.text().strip() or f"{role}_sft.jsonl")
        self.data_file.setText(str(out))
        self.counts_label.setText(f"Building {role} data…")

        def work() -> Any:
            return training.build_data(role, out, queries=queries, index=index, decisions=decisions)

        self._submit(work, lambda r: self.load_preview() if not isinstance(r, Exception) else self._show_preview(r))

    # ----------------------------------------------------------------- job tab
    def _build_job_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.addItems(["sft", "ppo", "local-selector"])
        self.role = QComboBox()
        self.role.addItems(["selector", "crawler"])
        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("transformers checkpoint directory")
        self.train_file = QLineEdit()
        self.queries_file = QLineEdit()
        self.index_file = QLineEdit()
        self.fulltext_file = QLineEdit()
        self.fulltext_file.setPlaceholderText("optional: unarXive JSONL / .tar.gz for expand sessions")
        self.output_dir = QLineEdit()
        # Empty: where `pasa train local-selector` puts its job too (the app's data folder), not a
        # folder relative to wherever the app happened to be started.
        self.output_dir.setPlaceholderText(f"empty: {training.default_job_dir('<job kind>')}")
        self.lora = QCheckBox("LoRA (peft)")
        self.smoke = QCheckBox("Smoke run (2 steps on CPU)")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(8)
        self.lr.setRange(1e-8, 1.0)
        self.lr.setSingleStep(1e-6)
        self.lr.setValue(1e-5)
        self.max_length = QSpinBox()
        self.max_length.setRange(16, 32768)
        self.max_length.setValue(1024)
        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.batch.setValue(4)
        self.ppo_steps = QSpinBox()
        self.ppo_steps.setRange(1, 100000)
        self.ppo_steps.setValue(250)
        self.launch_mode = QComboBox()
        self.launch_mode.addItems(["local", "ssh", "accelerate"])
        self.host = QLineEdit()
        self.host.setPlaceholderText("user@gpu-box (ssh)")
        self.gpus = QSpinBox()
        self.gpus.setRange(1, 1024)
        form.addRow("Job", self.kind)
        form.addRow("Role", self.role)
        form.addRow("Model", _path_row(self.model_path, pick_dir=True))
        form.addRow("SFT rows", _path_row(self.train_file))
        # Named as the errors name them (ui/training_needs.py); PPO and the local Selector both read them.
        self.queries_file.setToolTip("PPO and the local Selector: AutoScholarQuery-format questions with gold papers")
        self.index_file.setToolTip("PPO and the local Selector: the offline paper index (SQLite)")
        form.addRow("Queries", _path_row(self.queries_file))
        form.addRow("Index", _path_row(self.index_file))
        form.addRow("Full texts (PPO)", _path_row(self.fulltext_file))
        form.addRow("Output", _path_row(self.output_dir, pick_dir=True))
        form.addRow("Learning rate", self.lr)
        form.addRow("Max length", self.max_length)
        form.addRow("Batch size", self.batch)
        form.addRow("PPO steps", self.ppo_steps)
        form.addRow("", self.lora)
        form.addRow("Launch on", self.launch_mode)
        form.addRow("SSH host", self.host)
        form.addRow("GPUs (accelerate)", self.gpus)
        form.addRow("", self.smoke)
        layout.addLayout(form)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.save_button = QPushButton("Save job.toml…")
        self.save_button.clicked.connect(self._save_toml)
        layout.addWidget(self.save_button)
        layout.addStretch(1)
        return page

    def _kind_changed(self, kind: str) -> None:
        if kind == "ppo":
            self.role.setCurrentText("crawler")
            self.lr.setValue(1e-6)
        elif kind == "sft":
            self.lr.setValue(1e-5)

    def job_config(self) -> JobConfig:
        """The form as a validated JobConfig (InputError names a bad field)."""
        raw: dict[str, dict[str, Any]] = {
            "job": {"kind": self.kind.currentText(), "role": self.role.currentText(),
                    "output_dir": str(self._output(self.kind.currentText())), "smoke": self.smoke.isChecked()},
            "model": {"path": self.model_path.text().strip(), "lora": self.lora.isChecked()},
            "data": {"train": self.train_file.text().strip(), "queries": self.queries_file.text().strip(),
                     "index": self.index_file.text().strip(), "fulltext": self.fulltext_file.text().strip()},
            "sft": {"learning_rate": self.lr.value(), "max_length": self.max_length.value(),
                    "batch_size": self.batch.value()},
            "ppo": {"learning_rate": self.lr.value(), "steps": self.ppo_steps.value()},
            "launch": {"mode": self.launch_mode.currentText(), "host": self.host.text().strip(),
                       "num_processes": self.gpus.value()},
        }
        return training.job_from_form(raw)

    def _output(self, kind: str) -> Path:
        return _optional_path(self.output_dir) or training.default_job_dir(kind)

    def _save_toml(self) -> None:
        try:
            text = self.job_config().to_toml()
        except Exception as exc:
            self._log(f"Cannot save: {in_panel_terms(str(exc))}")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save job file", "job.toml", "TOML (*.toml)")
        if path:
            Path(path).write_text(text, encoding="utf-8")
            self._log(f"Saved {path}")

    # ---------------------------------------------------------------- run area
    def _build_run_area(self) -> QWidget:
        area = QWidget()
        layout = QVBoxLayout(area)
        self.status_label = QLabel("No job.")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        buttons = QHBoxLayout()
        self.launch_button = QPushButton("Launch")
        self.launch_button.clicked.connect(self.launch)
        self.local_selector_button = QPushButton("Train a local Selector (CPU)")
        self.local_selector_button.clicked.connect(self.launch_local_selector)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self._control("cancel"))
        self.attach_button = QPushButton("Attach…")
        self.attach_button.clicked.connect(self._attach_dialog)
        for b in (self.launch_button, self.local_selector_button, self.pause_button, self.cancel_button,
                  self.attach_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.plots = TrainingPlots()  # in the app's theme (#17)
        self.curves = self.plots.curves
        self.plot_widgets = self.plots.plot_widgets
        layout.addWidget(self.plots, 3)
        lower = QHBoxLayout()
        box = QGroupBox("Checkpoints")
        box_layout = QVBoxLayout(box)
        self.checkpoint_list = QListWidget()
        box_layout.addWidget(self.checkpoint_list)
        self.register_button = QPushButton("Register as model profile")
        self.register_button.clicked.connect(self.register_selected)
        box_layout.addWidget(self.register_button)
        gguf_row = QHBoxLayout()
        self.gguf_quant = QComboBox()
        self.gguf_quant.addItems(["q8_0", "q4_k_m", "f16"])
        self.gguf_quant.setToolTip("Precision of the GGUF file (llama.cpp quantization)")
        self.gguf_button = QPushButton("Convert to GGUF and register")
        self.gguf_button.setToolTip("Writes <checkpoint>.<quant>.gguf beside the checkpoint; runs llama.cpp on CPU")
        self.gguf_button.clicked.connect(self.convert_selected)
        gguf_row.addWidget(self.gguf_quant)
        gguf_row.addWidget(self.gguf_button, 1)
        box_layout.addLayout(gguf_row)
        lower.addWidget(box, 1)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        lower.addWidget(self.log_view, 2)
        layout.addLayout(lower, 2)
        self._update_buttons()
        return area

    def _log(self, text: str) -> None:
        self.log_view.appendPlainText(text)

    def _update_buttons(self) -> None:
        running = self.state in ("running", "paused", "queued") and self.job_dir is not None
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("Resume" if self.state == "paused" else "Pause")
        self.launch_button.setEnabled(not running)
        self.local_selector_button.setEnabled(not running)
        self.register_button.setEnabled(self.checkpoint_list.count() > 0)
        self.gguf_button.setEnabled(self.checkpoint_list.count() > 0 and not self._converting)

    def launch(self) -> None:
        try:
            config = self.job_config()
        except Exception as exc:
            self._refuse(str(exc))
            return
        self.launch_config(config)

    def launch_local_selector(self) -> None:
        queries = _optional_path(self.queries_file) or _optional_path(self.data_queries)
        index = _optional_path(self.index_file) or _optional_path(self.data_index)  # none: the app's index
        out = self._output("local-selector")
        try:
            config = training.local_selector_job(queries=queries, index=index, out=out, smoke=self.smoke.isChecked())
        except Exception as exc:
            self._refuse(str(exc))
            return
        self.launch_config(config)

    def _refuse(self, why: str) -> None:
        """Say why nothing was started, in the panel's words (its fields and buttons, not job-file keys)."""
        text = f"Cannot launch: {in_panel_terms(why)}"
        self.status_label.setText(text)
        self._log(text)

    def launch_config(self, config: JobConfig) -> None:
        # The service's checks, before a process is started (the ones `pasa train` makes): settings,
        # data files, packages. A job that dies on `No module named 'torch'` says nothing about what
        # to do, and this costs no import (find_spec only).
        check = training.check_job(config)
        if not check.ok:
            self.state = "idle"
            self._refuse(check.text())
            self._update_buttons()
            return
        self.state = "queued"
        self.status_label.setText(f"Starting {config.job.kind} job…")
        self._update_buttons()
        probe_gpu = training.needs_gpu_probe(config)

        def work() -> tuple[Path, str]:
            note = training.gpu_need(config, training.cuda_available()) if probe_gpu else None  # imports torch
            return training.start(config), note.message if note else ""

        self._submit(work, self._started)

    def _started(self, result: Any) -> None:
        if isinstance(result, Exception):
            self.state = "failed"
            text = f"Launch failed: {in_panel_terms(str(result))}"
            self.status_label.setText(text)
            self._log(text)
            self._update_buttons()
            return
        job_dir, note = result
        self.attach(Path(job_dir))
        if note:
            self._log(in_panel_terms(note))
        self.job_started.emit(str(job_dir))

    def attach(self, job_dir: Path) -> None:
        """Watch a job directory (started here, by the CLI, or on a remote machine earlier)."""
        self.job_dir = job_dir
        self._watch = training.JobWatch(job_dir)
        if self._poll_job is not None:  # a poll of the previous job answers for that job: dropped
            self._poll_job.cancel()
            self._poll_job = None
        self.plots.reset()
        status = self._watch.status()  # the file as it is: a finished job is polled no more, so said now
        self.state = status.state
        self.status_label.setText(in_panel_terms(status.line()))
        self._log(f"Watching {job_dir}")
        self._read_metrics()
        self._refresh_checkpoints()
        self._update_buttons()

    def _attach_dialog(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose a job directory")
        if chosen:
            self.attach(Path(chosen))

    def toggle_pause(self) -> None:
        self._control("resume" if self.state == "paused" else "pause")

    def _control(self, action: str) -> None:
        job_dir = self.job_dir
        if job_dir is None:
            return
        if action == "cancel":
            self.status_label.setText("Cancelling…")
        self._submit(lambda: training.control(job_dir, action),
                     lambda r: self._log(f"{action}: {r}" if isinstance(r, Exception) else f"{action} sent"))

    # ------------------------------------------------------------- live updates
    def _submit(self, fn: Callable[[], Any], done: Callable[[Any], None], *, background: Background | None = None) -> None:
        """`fn()` off the GUI thread; `done(result or exception)` back on it."""
        holder: list[Job[Any]] = []

        def settle(outcome: Any) -> None:
            self._pending.discard(holder[0])
            done(outcome)

        job = (background or self._background).run(fn, settle, settle)
        holder.append(job)
        self._pending.add(job)

    def _tick(self) -> None:
        """New metric lines (a local read), and one status poll at a time (an SSH round trip remotely)."""
        watch = self._watch
        if watch is None:
            return
        self._read_metrics()
        if self._poll_job is None and not training.is_final(self.state):
            self._poll_job = self._background.run(watch.poll, self._polled, self._poll_failed)

    def _polled(self, result: training.JobStatus) -> None:
        self._poll_job = None
        changed = result.state != self.state
        self.state = result.state
        self.status_label.setText(in_panel_terms(result.line()))
        if changed:
            self._refresh_checkpoints()
            self._update_buttons()

    def _poll_failed(self, exc: BaseException) -> None:
        self._poll_job = None
        self.status_label.setText(f"Cannot read the job: {in_panel_terms(str(exc))}")

    def _read_metrics(self) -> None:
        if self._watch is None:
            return
        points, events = self._watch.read_new()
        for event in events:
            self._log(f"[{event.name}] {event.message}")
            if event.name == "checkpoint":
                self._refresh_checkpoints()
        self.plots.add(points)

    def _refresh_checkpoints(self) -> None:
        if self.job_dir is None:
            return
        current = [self.checkpoint_list.item(i).toolTip() for i in range(self.checkpoint_list.count())]
        found = [str(p) for p in training.checkpoints(self.job_dir)]
        if found != current:
            self.checkpoint_list.clear()
            for path in found:
                item = QListWidgetItem(Path(path).name)
                item.setToolTip(path)  # the full path; the list shows names
                self.checkpoint_list.addItem(item)
            if found:
                self.checkpoint_list.setCurrentRow(len(found) - 1)
        self._update_buttons()

    def register_selected(self) -> None:
        item = self.checkpoint_list.currentItem()
        if item is None:
            return
        path = Path(item.toolTip())
        profile = training.checkpoint_profile(path, self._profile_name(path))
        self._log(f"Registered profile {profile.name!r} ({profile.kind})")
        self.profile_requested.emit(profile)

    def _profile_name(self, checkpoint: Path) -> str:
        return f"{self.job_dir.name if self.job_dir else 'trained'}-{checkpoint.name}"

    def convert_selected(self) -> None:
        """The selected checkpoint as a GGUF file (in a worker thread), then a `gguf` model profile."""
        item = self.checkpoint_list.currentItem()
        if item is None or self._converting:
            return
        path = Path(item.toolTip())
        quant = self.gguf_quant.currentText()
        name = f"{self._profile_name(path)}-{quant}"
        self._converting = True
        self._update_buttons()
        self._log(f"Converting {path.name} to GGUF ({quant})…")

        def work() -> Any:
            return training.convert_checkpoint(path, quant, name)

        def done(result: Any) -> None:
            self._converting = False
            self._update_buttons()
            if isinstance(result, Exception):
                hint = getattr(result, "hint", "")
                self._log(f"GGUF conversion failed: {result}" + (f" ({hint})" if hint else ""))
                return
            self._log(f"Wrote {result.path}; registered profile {name!r} (gguf)")
            self.profile_requested.emit(result)

        # Its own worker: a conversion takes minutes and must not hold up the job's status polling.
        self._submit(work, done, background=self._convert_background)

    def shutdown(self) -> None:
        """Stop polling, and stop the jobs this app started: their process groups get SIGTERM, then
        SIGKILL after a grace, so closing never leaves a training process behind. A job started by
        `pasa train run` and only attached here is not this app's child and keeps running."""
        if self._shut_down:
            return
        self._shut_down = True
        self._timer.stop()
        for job in [*self._pending, *([self._poll_job] if self._poll_job else [])]:
            job.cancel()  # not started: skipped; running: its outcome is dropped
        self._background.shutdown()
        self._convert_background.shutdown()
        training.stop_own_jobs(grace_s=3.0)

    def showEvent(self, event: Any) -> None:
        # The main window closes without closing its tabs: watch the top-level window and the app.
        window = self.window()
        if window is not self and window is not self._watched_window:
            window.installEventFilter(self)
            self._watched_window = window
        app = QCoreApplication.instance()
        if app is not None and not self._quit_hooked:
            app.aboutToQuit.connect(self.shutdown)
            self._quit_hooked = True
        super().showEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._watched_window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)
