"""The detail pane's Notes tab: Markdown you type, saved as you type (debounced), with a rendered preview.

The editor knows nothing of the library: it emits `edited(key, text)` once typing pauses (and at once
when the paper changes or the pane hides), and the window stores the text as the paper's note, which
the library indexes for full-text search.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QFont, QHideEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

SAVE_AFTER_MS = 700  # a pause in typing this long saves; every keystroke would be a write transaction


class _Editor(QPlainTextEdit):
    focus_lost = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.focus_lost.emit()


class NotesEditor(QWidget):
    edited = Signal(str, str)  # paper key, Markdown text

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._key: str | None = None
        self._saved_text = ""
        self.editor = _Editor()
        self.editor.setPlaceholderText(
            "Your notes on this paper, in Markdown (# heading, **bold**, - list, [link](url)).\n"
            "Saved as you type; the library's search box finds them."
        )
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(mono)
        self.editor.setTabChangesFocus(True)
        self.preview = QTextBrowser()
        self.preview.setOpenExternalLinks(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.editor)
        self.stack.addWidget(self.preview)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setCheckable(True)
        self.preview_button.setToolTip("Show the note rendered (Markdown)")
        self.state = QLabel()
        self.state.setEnabled(False)
        self.extra = QLabel()  # notes that came with an import, shown read-only
        self.extra.setWordWrap(True)
        self.extra.setTextFormat(Qt.TextFormat.PlainText)
        self.extra.setEnabled(False)
        self.extra.hide()
        head = QHBoxLayout()
        head.addWidget(self.state, 1)
        head.addWidget(self.preview_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.extra)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_AFTER_MS)
        self._timer.timeout.connect(self.flush)
        self.editor.textChanged.connect(self._typed)
        self.editor.focus_lost.connect(self.flush)
        self.preview_button.toggled.connect(self._toggle_preview)
        self.set_paper(None)

    # -- loading -----------------------------------------------------------------------------------

    def set_paper(self, key: str | None) -> None:
        """Switch to another paper: what was typed for the previous one is saved first."""
        if key == self._key:
            return
        self.flush()
        self._key = key
        self._load("", [])
        self.editor.setEnabled(False)
        self.state.setText("Loading the note…" if key else "")

    def show_notes(self, key: str, text: str, others: list[str] | None = None, *, editable: bool = True,
                   why: str = "") -> None:
        """The stored note for `key` (ignored when another paper is shown by now)."""
        if key != self._key:
            return
        if self.editor.isEnabled() and self.text() != self._saved_text:
            return  # the same paper shown again (a table refresh) while typing: keep the typing, it saves
        self._load(text, others or [])
        self.editor.setEnabled(editable)
        self.state.setText(("Saved in the library" if text else "No note yet") if editable else why)

    def _load(self, text: str, others: list[str]) -> None:
        self._timer.stop()
        self.editor.blockSignals(True)
        self.editor.setPlainText(text)
        self.editor.blockSignals(False)
        self._saved_text = text
        if self.preview_button.isChecked():
            self.preview.setMarkdown(text)
        self.extra.setText("Imported notes (read-only):\n" + "\n—\n".join(others) if others else "")
        self.extra.setVisible(bool(others))

    # -- saving ------------------------------------------------------------------------------------

    def text(self) -> str:
        return self.editor.toPlainText()

    def _typed(self) -> None:
        self.state.setText("Editing…")
        self._timer.start()

    def flush(self) -> None:
        """Emit the text now if it changed since the last save (typing paused, paper switched, focus left)."""
        self._timer.stop()
        text = self.text()
        if self._key is None or text == self._saved_text or not self.editor.isEnabled():
            return
        self._saved_text = text
        self.edited.emit(self._key, text)

    def mark_saved(self, key: str, ok: bool, message: str = "") -> None:
        if key == self._key:
            self.state.setText("Saved in the library" if ok else f"Not saved: {message}")

    def hideEvent(self, event: QHideEvent) -> None:  # the window closing or the tab switching saves too
        self.flush()
        super().hideEvent(event)

    def _toggle_preview(self, on: bool) -> None:
        if on:
            self.flush()
            self.preview.setMarkdown(self.text() or "*No note yet.*")
        self.stack.setCurrentIndex(1 if on else 0)
        self.preview_button.setText("Edit" if on else "Preview")
