"""The detail pane: one paper's abstract, selector reason, links, PDF page, and the review actions."""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pasa_desktop.gui_controller import ResultRow
from ui.colors import score_color
from ui.notes_editor import NotesEditor
from ui.pdf_pane import PdfPane

if TYPE_CHECKING:
    from engine.agent.explain import Explanation


class PaperDetail(QWidget):
    decision_requested = Signal(str, str)  # key, "accepted" | "rejected" | ""
    rating_requested = Signal(str, int)
    tag_requested = Signal(str, str)
    collection_requested = Signal(str, str)
    explain_requested = Signal(str)
    keep_requested = Signal(str)  # key: keep this paper (found by a search) in the library
    find_pdf_requested = Signal(str)  # key: look for its open-access PDF online and attach it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row: ResultRow | None = None
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.links = QLabel()
        self.links.setOpenExternalLinks(True)
        self.links.setTextFormat(Qt.TextFormat.RichText)
        self.score = QLabel()
        self.score.setTextFormat(Qt.TextFormat.RichText)
        self.score.setWordWrap(True)

        self.accept = QPushButton("✔ Accept")
        self.accept.setToolTip("Keep this paper (Space)")
        self.reject = QPushButton("✘ Reject")
        self.reject.setToolTip("Set this paper aside (Delete)")
        self.accept.setCheckable(True)
        self.reject.setCheckable(True)
        # Only for a paper a search found that nothing holds in the library yet (issue #17).
        self.keep = QPushButton("＋ Keep in library")
        self.keep.setToolTip("Add this paper to All papers (Ctrl+K); until then only its search lists it")
        self.library_state = QLabel()
        self.library_state.setWordWrap(True)  # never widens the pane (320 px at 1024×700)
        self.rating = QComboBox()
        self.rating.addItems(["No rating", "★", "★★", "★★★", "★★★★", "★★★★★"])
        self.rating.setToolTip("Your rating")
        self.tag_edit = QLineEdit()
        self.tag_edit.setPlaceholderText("Add a tag and press Enter…")
        self.tag_edit.setClearButtonEnabled(True)
        self.collection_button = QToolButton()
        self.collection_button.setText("Add to collection ▾")
        self.collection_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.collection_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        actions = QHBoxLayout()
        for control in (self.accept, self.reject, self.rating):
            actions.addWidget(control)
        library_line = QHBoxLayout()
        library_line.addWidget(self.library_state, 1)
        library_line.addWidget(self.keep)
        actions.addStretch(1)
        organise = QHBoxLayout()
        organise.addWidget(self.tag_edit, 1)
        organise.addWidget(self.collection_button)
        self.tags = QLabel()
        self.tags.setWordWrap(True)

        self.abstract = QTextBrowser()
        self.abstract.setOpenExternalLinks(True)
        self.reason = QTextBrowser()
        # Tall enough for an explanation's four lines without scrolling; the abstract gives way first.
        self.reason.setMinimumHeight(96)
        self.reason.setMaximumHeight(150)
        self.explain = QPushButton("Explain score")
        self.explain.setToolTip("Show which sentences and words of the paper drive the Selector's score "
                                "(a few seconds; an LLM Selector gives its own reason)")
        # Explanations of this session, by paper key: shown again while the stored reason is theirs.
        self._explanations: dict[str, Explanation] = {}
        self._explaining: set[str] = set()  # keys whose explanation is being computed
        reason_box = QWidget()
        reason_layout = QVBoxLayout(reason_box)
        reason_layout.setContentsMargins(0, 0, 0, 0)
        reason_head = QHBoxLayout()
        reason_head.addWidget(QLabel("<b>Selector's reason</b>"))
        reason_head.addStretch(1)
        reason_head.addWidget(self.explain)
        reason_layout.addLayout(reason_head)
        reason_layout.addWidget(self.reason)
        text_tab = QWidget()
        text_layout = QVBoxLayout(text_tab)
        text_layout.setContentsMargins(4, 4, 4, 4)
        text_layout.addWidget(self.abstract, 3)
        text_layout.addWidget(reason_box, 1)
        # PDF pages and notes: their own widgets (ui/pdf_pane.py, ui/notes_editor.py); the window stores
        # what they ask for (attach, open, save a note) through the library.
        self.pdf = PdfPane()
        self.pdf_view = self.pdf.view  # the rendered page
        self.notes = NotesEditor()
        self.tabs = QTabWidget()
        self.tabs.addTab(text_tab, "Abstract")
        self.tabs.addTab(self.pdf, "PDF")
        self.tabs.addTab(self.notes, "Notes")

        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.meta, self.links, self.score):
            body.addWidget(widget)
        body.addLayout(library_line)
        body.addLayout(actions)
        body.addLayout(organise)
        body.addWidget(self.tags)
        body.addWidget(self.tabs, 1)
        self.empty = QLabel(
            "Select a paper to see its abstract, the Selector's reason and links.\n\n"
            "j / k or ↑ / ↓ move · Space accepts · Delete rejects · Ctrl+Shift+C copies BibTeX"
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setEnabled(False)
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.body, 1)
        self.body.hide()

        self.keep.clicked.connect(self._keep)
        self.pdf.find_requested.connect(self._find_pdf)
        self.accept.clicked.connect(lambda: self._decide("accepted"))
        self.reject.clicked.connect(lambda: self._decide("rejected"))
        self.rating.activated.connect(self._rate)
        self.tag_edit.returnPressed.connect(self._tag)
        self.explain.clicked.connect(self._explain)
        self.set_collections([])

    @property
    def row(self) -> ResultRow | None:
        return self._row

    def set_collections(self, names: list[str]) -> None:
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self.collection_button)
        for name in names:
            menu.addAction(name, partial(self._collect, name))
        if names:
            menu.addSeparator()
        menu.addAction("New collection…", self._new_collection)
        self.collection_button.setMenu(menu)

    def show_row(self, row: ResultRow | None) -> None:
        same_paper = row is not None and self._row is not None and row.key == self._row.key
        self._row = row
        self.notes.set_paper(row.key if row is not None else None)
        if row is None:
            self.body.hide()
            self.empty.show()
            return
        self.empty.hide()
        self.body.show()
        self.title.setText(row.title)
        authors = ", ".join(row.authors[:12]) + (" et al." if len(row.authors) > 12 else "")
        self.meta.setText(" · ".join(p for p in (authors, str(row.year or ""), row.venue) if p))
        self.links.setText(self._links_html(row))
        if not row.in_search:
            # A library list is no search: "not scored" would be false for a paper a search scored and selected.
            score = "Scores belong to searches: right-click → “Show the search that found it”"
        elif row.score is None:
            score = "Not scored by the Selector"
        else:
            verdict = "selected" if row.selected else "not selected"
            score = (f"<span style='color:{score_color(row.score)}'>●</span> Selector score "
                     f"<b>{row.score:.2f}</b> ({verdict})")
        found = f" · found by {html.escape(row.found_by)}" if row.found_by else ""
        self.score.setText(score + found)
        self.accept.setChecked(row.decision == "accepted")
        self.reject.setChecked(row.decision == "rejected")
        self.keep.setVisible(row.in_library is not True)
        self.library_state.setText(
            "In your library" if row.in_library else
            "Not in your library: only its search lists it" if row.in_library is False else "")
        self.library_state.setVisible(row.in_library is not None)
        self.rating.setCurrentIndex(max(0, min(5, row.rating)))
        self.tags.setText("Tags: " + ", ".join(row.tags) if row.tags else "")
        self.tags.setVisible(bool(row.tags))
        if not same_paper:
            self.abstract.setPlainText(row.abstract or "No abstract available.")
        self._show_reason_section(row, same_paper)
        self.pdf.show_pdf(row.pdf_path, can_attach=row.library_id is not None)
        self._update_tab_titles(row)

    def show_reason(self, key: str, reason: str) -> None:
        if self._row is not None and self._row.key == key:
            self.reason.setPlainText(reason)
            self.explain.setEnabled(False)

    # -- explanation -------------------------------------------------------------------------------

    def show_explanation(self, key: str, explanation: Explanation) -> None:
        """Show an explanation that arrived from the worker (if its paper is still the one shown)."""
        from engine.agent.explain import ExplanationKind

        self._explaining.discard(key)
        if explanation.kind is not ExplanationKind.UNAVAILABLE:
            self._explanations[key] = explanation
        if self._row is not None and self._row.key == key:
            self._render_explanation(self._row, explanation, abstract=True)

    def explain_failed(self, key: str) -> None:
        """The worker raised (the error is notified elsewhere): offer the button again."""
        self._explaining.discard(key)
        if self._row is not None and self._row.key == key:
            self._show_reason_section(self._row, True)

    def _show_reason_section(self, row: ResultRow, same_paper: bool) -> None:
        from engine.agent.explain import CANNOT_EXPLAIN, has_prompt_labels

        cached = self._explanations.get(row.key)
        if cached is not None and row.reason and row.reason == cached.text():
            self._render_explanation(row, cached, abstract=not same_paper)
            return
        if row.key in self._explaining and not row.reason:
            self.reason.setPlainText("Explaining… (scoring the paper without each sentence and shared word)")
            self.explain.setEnabled(False)
            return
        if row.reason and has_prompt_labels(row.reason):
            # A reason stored by an older version that is the model's prompt echoed back: never show it.
            self.reason.setHtml(f"<i>{html.escape(CANNOT_EXPLAIN)}</i>")
            self.explain.setEnabled(True)
            return
        self.reason.setPlainText(row.reason or "No reason yet — press “Explain score” to see which sentences "
                                 "and words drive the Selector's score.")
        self.explain.setEnabled(not row.reason)

    def _render_explanation(self, row: ResultRow, explanation: Explanation, *, abstract: bool) -> None:
        from engine.agent.explain import ExplanationKind
        from ui.explanation_view import abstract_html, reason_html

        base = self.abstract.palette().color(self.abstract.backgroundRole())
        rgb = (base.red(), base.green(), base.blue())
        if abstract and explanation.kind is ExplanationKind.ABLATION and explanation.sentences:
            self.abstract.setHtml(abstract_html(explanation, row.abstract, rgb))
        self.reason.setHtml(reason_html(explanation, rgb))
        # A model that cannot explain may still be asked again (e.g. after switching the Selector).
        self.explain.setEnabled(explanation.kind is ExplanationKind.UNAVAILABLE)

    def _links_html(self, row: ResultRow) -> str:
        links = []
        if row.arxiv_id:
            links.append(f"<a href='https://arxiv.org/abs/{html.escape(row.arxiv_id)}'>arXiv:{html.escape(row.arxiv_id)}</a>")
            links.append(f"<a href='https://arxiv.org/pdf/{html.escape(row.arxiv_id)}'>PDF</a>")
        if row.doi:
            links.append(f"<a href='https://doi.org/{html.escape(row.doi)}'>doi:{html.escape(row.doi)}</a>")
        if row.url and not row.arxiv_id:
            links.append(f"<a href='{html.escape(row.url)}'>Web page</a>")
        if row.pdf_path:
            links.append(f"<a href='{Path(row.pdf_path).as_uri()}'>Attached PDF</a>")
        return " &nbsp;·&nbsp; ".join(links) if links else "<i>No links known</i>"

    def _update_tab_titles(self, row: ResultRow) -> None:
        index = self.tabs.indexOf(self.pdf)
        self.tabs.setTabText(index, "PDF ✓" if row.pdf_path else "PDF")
        self.tabs.setTabToolTip(index, row.pdf_path or "Attach a PDF (button or drop a file) to read it here")

    def show_note(self, key: str, text: str, others: list[str] | None = None, *, editable: bool = True,
                  why: str = "") -> None:
        self.notes.show_notes(key, text, others, editable=editable, why=why)
        index = self.tabs.indexOf(self.notes)
        self.tabs.setTabText(index, "Notes ✎" if key == (self._row.key if self._row else None) and text else "Notes")

    def _decide(self, decision: str) -> None:
        if self._row is None:
            return
        self.decision_requested.emit(self._row.key, "" if self._row.decision == decision else decision)

    def _keep(self) -> None:
        if self._row is not None:
            self.keep_requested.emit(self._row.key)

    def _find_pdf(self) -> None:
        if self._row is not None:
            self.find_pdf_requested.emit(self._row.key)

    def _rate(self, index: int) -> None:
        if self._row is not None:
            self.rating_requested.emit(self._row.key, index)

    def _tag(self) -> None:
        tag = self.tag_edit.text().strip()
        if self._row is not None and tag:
            self.tag_requested.emit(self._row.key, tag)
            self.tag_edit.clear()

    def _collect(self, name: str) -> None:
        if self._row is not None:
            self.collection_requested.emit(self._row.key, name)

    def _new_collection(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "New collection", "Collection name:")
        if ok and name.strip():
            self._collect(name.strip())

    def _explain(self) -> None:
        if self._row is not None:
            self._explaining.add(self._row.key)
            self._show_reason_section(self._row, True)
            self.explain_requested.emit(self._row.key)
