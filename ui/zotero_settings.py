"""Settings → Zotero: the Zotero Web API key and the library papers are written to.

Both go to the OS keyring (service "pasa-desktop", names `zotero` and `zotero_library`), through the
same save path as the sources' API keys, never to the settings file. `pasa zotero push --web` reads
them from there (pasa_desktop/zotero/webapi.py: `saved_credentials`); ZOTERO_API_KEY and
ZOTERO_USER_ID / ZOTERO_GROUP_ID in the environment take precedence, as they always did.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QWidget

from pasa_desktop.zotero.webapi import KEY_NAME, LIBRARY_NAME, library_text, parse_library, saved_credentials


class ZoteroSettings(QWidget):
    """The key (write-only: it shows whether one is set, never its characters) and the target library."""

    def __init__(self, lookup: Callable[[str], str | None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        key, user_id, group_id = saved_credentials(lookup)
        self._had_key = bool(key)
        self._saved_library = library_text(user_id, group_id)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("key is set — type to replace" if key else "not set")
        self.library_kind = QComboBox()
        self.library_kind.addItem("My library (user ID)", "users")
        self.library_kind.addItem("Group library (group ID)", "groups")
        self.library_kind.setCurrentIndex(1 if group_id else 0)
        self.library_id = QLineEdit(group_id or user_id or "")
        self.library_id.setPlaceholderText("digits, e.g. 1234567")
        library_row = QWidget()
        row = QHBoxLayout(library_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.library_kind)
        row.addWidget(self.library_id, 1)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        intro = QLabel(
            "<b>Zotero Web API</b> — for sending papers to zotero.org without the Zotero app "
            "(<code>pasa zotero push --web</code>). The key and library are stored in the system keyring, never in "
            "the settings file. Create a key with write access at zotero.org/settings/keys; the same page shows "
            "your user ID. A group's ID is the number in its web address. With Zotero open on this computer, "
            "papers go through the Zotero app instead and need no key."
        )
        intro.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow("API key", self.key)
        form.addRow("Library", library_row)
        form.addRow(self.error)
        self.library_id.textChanged.connect(lambda _t: self.problem())

    def problem(self) -> str:
        """What keeps the fields from being saved ('' when nothing); also shown under them."""
        ident = self.library_id.text().strip()
        text = "" if not ident or ident.isdigit() else "A Zotero library ID is a number (zotero.org/settings/keys)."
        self.error.setText(text)
        return text

    def library(self) -> str:
        """The chosen library as the keyring holds it ("users/123", "groups/456", or '' for none)."""
        ident = self.library_id.text().strip()
        if not ident:
            return ""
        user_id, group_id = parse_library(f"{self.library_kind.currentData()}/{ident}")
        return library_text(user_id, group_id)

    def keyring_entries(self) -> dict[str, str]:
        """What to store in the keyring: a key typed in, and the library when it changed."""
        entries: dict[str, str] = {}
        key = self.key.text().strip()
        if key:
            entries[KEY_NAME] = key
        library = self.library()
        if library and library != self._saved_library and not self.problem():
            entries[LIBRARY_NAME] = library
        return entries
