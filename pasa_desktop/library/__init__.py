"""The local library: every search kept, every paper once, searchable, organised, exportable.

Use `open_library(settings.library_path())`; see `library.Library` for the API.
"""

from pasa_desktop.library.errors import LibraryError, LibraryLocked
from pasa_desktop.library.library import Library, open_library
from pasa_desktop.library.rows import (
    AttachmentRow,
    CollectionRow,
    NewEntry,
    NoteRow,
    PaperRow,
    RunPaperRow,
    RunQueryRow,
    RunSummary,
    TagRow,
    UpsertResult,
)

__all__ = [
    "AttachmentRow",
    "CollectionRow",
    "Library",
    "LibraryError",
    "LibraryLocked",
    "NewEntry",
    "NoteRow",
    "PaperRow",
    "RunPaperRow",
    "RunQueryRow",
    "RunSummary",
    "TagRow",
    "UpsertResult",
    "open_library",
]
