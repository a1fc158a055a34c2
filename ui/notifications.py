"""One non-modal place for errors and warnings from the engine, sources, library and Zotero."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

_LEVEL = {"error": ("✘", QColor(200, 50, 50)), "warning": ("⚠", QColor(190, 130, 0)), "info": ("ℹ", None)}


class NotificationArea(QWidget):
    """A collapsible list at the bottom of the window; warnings and errors open it, nothing blocks."""

    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Hide notifications")
        close.clicked.connect(self.hide)
        head = QHBoxLayout()
        title = QLabel("<b>Notifications</b>")
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(clear)
        head.addWidget(close)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.list)
        self.hide()

    def notify(self, level: str, source: str, message: str) -> None:
        icon, color = _LEVEL.get(level, _LEVEL["info"])
        stamp = time.strftime("%H:%M:%S")
        prefix = f"{source}: " if source else ""
        item = QListWidgetItem(f"{icon}  {stamp}  {prefix}{message}")
        item.setData(Qt.ItemDataRole.UserRole, (level, source, message))
        if color is not None:
            item.setForeground(color)
        self.list.addItem(item)
        self.list.scrollToBottom()
        self._fit()
        if level in ("warning", "error"):
            self.show()
        self.count_changed.emit(self.list.count())

    def messages(self) -> list[tuple[str, str, str]]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _fit(self) -> None:
        # As tall as its messages, up to four lines, then it scrolls.
        count = self.list.count()
        shown = range(max(0, count - 4), count)
        height = sum(self.list.sizeHintForRow(i) for i in shown) or 22
        self.list.setFixedHeight(height + 2 * self.list.frameWidth() + 12)

    def clear(self) -> None:
        self.list.clear()
        self._fit()
        self.count_changed.emit(0)
