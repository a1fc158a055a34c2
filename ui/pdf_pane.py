"""The detail pane's PDF tab: the attached PDF's pages rendered with PyMuPDF, attach and open buttons.

A PDF is attached with the button or by dropping the file on the tab (or anywhere on the window); the
window copies it into the library, which extracts its text for full-text search. "Open" hands the
file to the system's PDF viewer and says so plainly when there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

ZOOM = 2.0  # rendered at twice 72 dpi, then scaled to the pane's width: sharp on high-dpi screens too


def render_pdf_page(path: str, page: int = 0, zoom: float = 1.3) -> tuple[QImage, int]:
    """One page of a PDF as an image, and the PDF's page count (pymupdf loads only when a PDF is shown)."""
    import pymupdf

    with pymupdf.open(path) as doc:  # type: ignore[no-untyped-call]  # pymupdf ships no annotations here
        if doc.needs_pass:
            raise ValueError("the PDF is password-protected")
        if doc.page_count == 0:
            raise ValueError("the PDF has no pages")
        matrix = pymupdf.Matrix(zoom, zoom)  # type: ignore[no-untyped-call]  # pymupdf ships no annotations for Matrix()
        pix = doc[min(max(page, 0), doc.page_count - 1)].get_pixmap(matrix=matrix, alpha=False)
        image = QImage(pix.samples, pix.width, pix.height, pix.stride, QImage.Format.Format_RGB888)
        return image.copy(), doc.page_count  # copy: detach from pymupdf's buffer before it is freed


def pdf_paths(urls: Sequence[QUrl]) -> list[str]:
    """Local .pdf files among dropped URLs."""
    out = []
    for url in urls:
        local = url.toLocalFile()
        if local and local.lower().endswith(".pdf") and Path(local).is_file():
            out.append(local)
    return out


def _tool(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    return button


class _Scroll(QScrollArea):
    def __init__(self, on_resize: Callable[[], None]) -> None:
        super().__init__()
        self._on_resize = on_resize

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._on_resize()


class PdfPane(QWidget):
    attach_requested = Signal(str)  # a file path ("" = ask with a file dialog)
    open_requested = Signal(str)  # the attached PDF's path
    find_requested = Signal()  # look for the paper's open-access PDF online (arXiv, Semantic Scholar, OpenAlex)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = ""
        self.page = 0
        self.page_count = 0
        self._image: QImage | None = None
        # Tool buttons (no push-button padding): the bar must fit a 320 px pane at 1024×700.
        self.prev_button = _tool("◀", "Previous page (PgUp)")
        self.next_button = _tool("▶", "Next page (PgDown)")
        self.page_label = QLabel()
        self.attach_button = _tool("Attach…", "Copy a PDF into the library for this paper (or drop the file here)")
        self.find_button = _tool("Find", "Find the open-access PDF online (arXiv, Semantic Scholar, OpenAlex), "
                                 "download and attach it")
        self.open_button = _tool("Open ↗", "Open the attached PDF in the system's PDF viewer")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for widget in (self.prev_button, self.page_label, self.next_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.find_button)
        bar.addWidget(self.attach_button)
        bar.addWidget(self.open_button)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.view = QLabel()  # the page
        self.view.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.scroller = _Scroll(self._fit)
        self.scroller.setWidgetResizable(True)
        self.scroller.setWidget(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.scroller, 1)
        self.setAcceptDrops(True)

        self.prev_button.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.show_page(self.page + 1))
        self.attach_button.clicked.connect(lambda: self.attach_requested.emit(""))
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self.path))
        self.find_button.clicked.connect(self.find_requested.emit)
        self.show_pdf("", can_attach=False)

    def show_pdf(self, path: str, *, can_attach: bool = True) -> None:
        """Show `path`'s first page ("" = none attached). Same path again: nothing to do."""
        self.attach_button.setEnabled(can_attach)
        self.find_button.setEnabled(can_attach)
        if path and path == self.path and self._image is not None:
            return
        self.path = path
        self.page, self.page_count, self._image = 0, 0, None
        self.view.setPixmap(QPixmap())
        self.open_button.setEnabled(bool(path))
        if not path:
            self.message.setText("No PDF attached. “Find” fetches the open-access one; “Attach…” or a "
                                 "dropped file adds your own."
                                 if can_attach else "PDFs can be attached once the paper is in the library.")
            self.message.show()
            self._update_nav()
            return
        self.show_page(0)

    def show_page(self, page: int) -> None:
        if not self.path or (self.page_count and not 0 <= page < self.page_count):
            return
        try:
            self._image, self.page_count = render_pdf_page(self.path, page, zoom=ZOOM)
        except Exception as exc:  # a corrupt, encrypted or missing file is shown, not raised
            self._image = None
            self.view.setPixmap(QPixmap())
            self.message.setText(f"Cannot show the PDF: {exc}")
            self.message.show()
            self._update_nav()
            return
        self.page = min(page, self.page_count - 1)
        self.message.hide()
        self._update_nav()
        self._fit()
        self.scroller.verticalScrollBar().setValue(0)

    def _update_nav(self) -> None:
        has = self._image is not None
        self.page_label.setText(f"{self.page + 1} / {self.page_count}" if has else "")
        self.page_label.setToolTip(f"Page {self.page + 1} of {self.page_count}" if has else "")
        self.prev_button.setEnabled(has and self.page > 0)
        self.next_button.setEnabled(has and self.page + 1 < self.page_count)

    def _fit(self) -> None:
        """The page scaled to the pane's width (the whole page readable by scrolling)."""
        if self._image is None:
            return
        width = max(200, self.scroller.viewport().width() - 8)
        scaled = self._image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        self.view.setPixmap(QPixmap.fromImage(scaled))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_PageDown:
            self.show_page(self.page + 1)
        elif key == Qt.Key.Key_PageUp:
            self.show_page(self.page - 1)
        else:
            super().keyPressEvent(event)

    # -- drag and drop -------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.attach_button.isEnabled() and pdf_paths(list(event.mimeData().urls())):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = pdf_paths(list(event.mimeData().urls()))
        if paths and self.attach_button.isEnabled():
            event.acceptProposedAction()
            self.attach_requested.emit(paths[0])
