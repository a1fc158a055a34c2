"""Settings → Test model: the `pasa models check` self-check of a profile, run in the background.

It calls the same function as the command line (`run_check`), so the window and `pasa models check
--pairs N` report the same numbers: load time, one Crawler and one Selector call on a built-in example,
and, when the offline index and a file of questions with known answers are there, the AUC and speed on
N labelled pairs. The check runs in a worker thread; the window never waits for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.models.profiles import ModelProfile
from engine.models.score_meaning import CALIBRATED_AXIS
from pasa_desktop.settings import RELEVANCE_PROFILE, Settings, relevance_profile
from ui.background import Background

# (settings, profile, pairs, queries) -> (report, ok): `pasa_desktop.cli.models.run_check` in the app.
CheckRunner = Callable[[Settings, ModelProfile, int, Path | None], tuple[dict[str, Any], bool]]
DEFAULT_PAIRS = 100


class CheckFailed(Exception):
    """A PasaError from the child process, its hint kept across the pipe."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.message, self.hint = message, hint


def _check_in_child(conn: Connection, settings: Settings, profile: ModelProfile, pairs: int, queries: Path | None) -> None:
    from engine.errors import PasaError
    from pasa_desktop.cli.models import run_check

    try:
        conn.send(("done", run_check(settings, profile, pairs=pairs, queries=queries)))
    except PasaError as exc:
        conn.send(("error", CheckFailed(exc.message, exc.hint)))
    except Exception as exc:  # anything else still reaches the window, by name
        conn.send(("error", CheckFailed(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def run_model_check(settings: Settings, profile: ModelProfile, pairs: int, queries: Path | None) -> tuple[dict[str, Any], bool]:
    """`run_check` in a spawned child process, waited for by the calling (worker) thread. Not a thread of
    its own: loading a model and building the pairs hold the GIL for long stretches, which stalled the
    window's event loop by up to 0.4 s when the check ran in a thread. A daemon: it ends with the app."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_check_in_child, args=(theirs, settings, profile, pairs, queries),
                          name="pasa-model-check", daemon=True)
    process.start()
    theirs.close()
    try:
        kind, payload = ours.recv()
    except EOFError:
        process.join(5)
        raise CheckFailed(f"the model check ended without a result (exit code {process.exitcode}): the model may "
                          "have crashed or run out of memory") from None
    finally:
        ours.close()
    process.join(5)
    if kind == "error":
        raise payload
    report, ok = payload
    return report, ok


def labelled_questions(settings: Settings) -> Path | None:
    """Questions with known answers for the pairs: PASA_QUERIES, else dev.jsonl beside the training
    questions (held out from what the relevance Selector was trained on), else the training questions."""
    value = os.environ.get("PASA_QUERIES")
    if value:
        return Path(value)
    from pasa_desktop.cli.models import default_queries_file
    from pasa_desktop.selector_setup import training_queries_path

    train = training_queries_path(settings) or default_queries_file()
    if train is None:
        return None
    dev = train.parent / "dev.jsonl"
    return dev if dev.is_file() else train


def describe_report(report: dict[str, Any], ok: bool) -> str:
    """The check's report as a few plain lines (HTML: bold headings)."""
    lines = [f"<b>{_esc(report['profile'])}</b> ({_esc(report['kind'])}: {_esc(report['where'])}) loaded in "
             f"{report.get('load_seconds', '?')} s."]
    crawler = report.get("crawler", {})
    if "skipped" in crawler:
        lines.append(f"<b>Crawler</b>: not checked — {_esc(crawler['skipped'])}.")
    elif "error" in crawler:
        lines.append(f"<b>Crawler</b>: <span style='color:#c0392b'>failed</span> — {_esc(crawler['error'])}")
    elif crawler:
        n = len(crawler["queries"])
        parsed = f"{n} search quer{'y' if n == 1 else 'ies'} parsed" if crawler["parsed"] else "no search query parsed"
        lines.append(f"<b>Crawler</b>: {parsed}; {crawler['output_tokens']} tokens in {crawler['seconds']} s "
                     f"({crawler['tokens_per_s']} tokens/s).")
    selector = report.get("selector", {})
    if "error" in selector:
        lines.append(f"<b>Selector</b>: <span style='color:#c0392b'>failed</span> — {_esc(selector['error'])}")
    elif selector:
        relevant, irrelevant = selector["scores"]
        # Only the relevance Selector's score is a calibrated probability (P(cited)); an LLM's is its P(True)
        # (as `pasa models check` prints it).
        what = f"{CALIBRATED_AXIS}," if report.get("kind") == "relevance" else "P(True)"
        lines.append(f"<b>Selector</b>: {what} {relevant:.3f} for the example that fits, {irrelevant:.3f} for the "
                     f"one that does not ({selector['decisions_right']}/2 decisions right at P > 0.5) in "
                     f"{selector['seconds']} s.")
    pairs = report.get("pairs")
    if pairs:
        speed = f"{pairs['papers_per_s']} papers/s" if pairs.get("papers_per_s") else f"{pairs['seconds']} s"
        source = Path(str(pairs.get("queries_file", ""))).name
        lines.append(f"<b>AUC {pairs['auc']:.3f}</b> on {pairs['pairs']} labelled pairs ({pairs['positives']} relevant; "
                     f"questions from {_esc(source)}, other papers from the offline index's BM25 top 30) — "
                     f"<b>{speed}</b>.")
        if "select_threshold" in pairs:
            lines.append(f"At the model's own threshold (P > {pairs['select_threshold']:.3f}): F1 "
                         f"{pairs['f1_recorded']:.3f} (precision {pairs['precision_recorded']:.3f}, recall "
                         f"{pairs['recall_recorded']:.3f}).")
        if source == "train.jsonl":
            lines.append("These are training questions: a Selector trained on them scores higher here than on new ones.")
    if not ok:
        lines.append("<span style='color:#c0392b'>The model did not pass the check.</span>")
    return "<br>".join(lines)


def _esc(value: object) -> str:
    from html import escape

    return escape(str(value))


class ModelTestWidget(QWidget):
    """Pick a profile, press Test model: the self-check runs in a thread and its figures appear below."""

    finished = Signal(object, bool)  # report (dict), ok — or an Exception and False

    def __init__(
        self,
        settings: Callable[[], Settings],
        profiles: Callable[[], list[ModelProfile]],
        *,
        default: str = "",
        runner: CheckRunner = run_model_check,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._profiles = profiles
        self._runner = runner
        self.running = False
        self._skipped = ""
        self.profile = QComboBox()
        self.refresh_profiles(default)
        self.pairs = QSpinBox()
        self.pairs.setRange(0, 5000)
        self.pairs.setValue(DEFAULT_PAIRS)
        self.pairs.setSpecialValueText("none (example calls only)")
        self.pairs.setToolTip("Labelled (question, paper) pairs scored for the AUC: more pairs, a steadier figure, "
                              "a longer test (a 135M-parameter model on a CPU scores about one paper a second)")
        start = settings()
        found = labelled_questions(start)
        self.questions = QLineEdit(str(found) if found else "")
        self.questions.setPlaceholderText("questions with known answers (AutoScholarQuery .jsonl)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        questions_row = QHBoxLayout()
        questions_row.setContentsMargins(0, 0, 0, 0)
        questions_row.addWidget(self.questions, 1)
        questions_row.addWidget(browse)
        row_widget = QWidget()
        row_widget.setLayout(questions_row)
        self.button = QPushButton("Test model")
        self.button.clicked.connect(self.start)
        form = QFormLayout()
        form.addRow("Profile", self.profile)
        form.addRow("Labelled pairs", self.pairs)
        form.addRow("Questions", row_widget)
        note = QLabel("Loads the model, asks it one Crawler and one Selector question, then scores the labelled "
                      "pairs: the AUC says how well its scores put relevant papers above the rest (0.5 = chance, "
                      "1 = perfect). The same check as <code>pasa models check PROFILE --pairs N</code>.")
        note.setWordWrap(True)
        self.result = QLabel("Not tested yet.")
        self.result.setObjectName("model-test-result")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        button_row = QHBoxLayout()
        button_row.addWidget(self.button)
        button_row.addStretch(1)
        layout.addLayout(button_row)
        layout.addWidget(self.result, 1)
        self.background = Background(self, workers=1, name="model-test")

    def refresh_profiles(self, wanted: str = "") -> None:
        current = wanted or self.profile.currentText()
        names = [p.name for p in self._all_profiles()]
        self.profile.clear()
        self.profile.addItems(names)
        if current in names:
            self.profile.setCurrentText(current)

    def _all_profiles(self) -> list[ModelProfile]:
        listed = list(self._profiles())
        if not any(p.name == RELEVANCE_PROFILE for p in listed):
            listed.append(relevance_profile())  # built in: the default Selector once prepared
        if not any(p.name == "embedded" for p in listed):
            listed.insert(0, ModelProfile())
        return listed

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Questions with known answers", self.questions.text(),
                                                "JSON lines (*.jsonl);;All files (*)")
        if chosen:
            self.questions.setText(chosen)

    def start(self) -> None:
        """Run the check of the chosen profile in a worker thread (one at a time)."""
        if self.running:
            return
        self.refresh_profiles()
        profile = next((p for p in self._all_profiles() if p.name == self.profile.currentText()), None)
        if profile is None:
            return
        settings = self._settings()
        pairs = self.pairs.value()
        queries = Path(self.questions.text().strip()).expanduser() if self.questions.text().strip() else None
        skipped = ""
        if pairs > 0 and not settings.index_path().exists():
            skipped = (f"No AUC: the labelled pairs come from the offline paper index, and there is none at "
                       f"{settings.index_path()} yet. Build it with <code>pasa index build</code> (or run a first "
                       "offline search, which builds it from the corpus set on the Library tab).")
            pairs = 0
        elif pairs > 0 and (queries is None or not queries.is_file()):
            skipped = ("No AUC: the labelled pairs need a file of questions with known answers "
                       f"({'none chosen' if queries is None else f'{queries} does not exist'}); choose one above.")
            pairs = 0
        self.running = True
        self.button.setEnabled(False)
        self.button.setText("Testing…")
        self.result.setText(f"Loading {profile.name} and asking it the example questions"
                            + (f", then scoring {pairs} labelled pairs…" if pairs else "…"))
        self._skipped = skipped

        # Off the GUI thread; the outcome comes back here, or nowhere if the dialog was closed meanwhile.
        self.background.run(lambda: self._runner(settings, profile, pairs, queries if pairs else None),
                            lambda outcome: self._show(*outcome), lambda exc: self._show(exc, False))

    def _show(self, result: object, ok: bool) -> None:
        self.running = False
        self.button.setEnabled(True)
        self.button.setText("Test model")
        if isinstance(result, BaseException):
            hint = getattr(result, "hint", "")
            message = str(getattr(result, "message", "")) or f"{type(result).__name__}: {result}"
            self.result.setText(f"<span style='color:#c0392b'>The test failed:</span> {_esc(message)}"
                                + (f"<br>{_esc(hint)}" if hint else ""))
        else:
            assert isinstance(result, dict)
            text = describe_report(result, ok)
            if self._skipped:
                text += "<br>" + self._skipped
            self.result.setText(text)
        self.finished.emit(result, ok)
