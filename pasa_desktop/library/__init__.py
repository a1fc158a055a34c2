"""The local library: every search kept, every paper once, searchable, organised, exportable.

Use `open_library(settings.library_path())`; see `library.Library` for the API.

- One SQLite file (WAL, foreign keys on) plus `<name>-files/` beside it for attached files. The schema
  is defined with sqlmodel in `tables.py` and versioned in `migrations.py` (`PRAGMA user_version`); an
  upgrade first copies the file to `<name>.schema-v<N>.backup.sqlite`.
- `Library.record(run_id, event)` writes one engine event in one transaction: the raw event in the
  run's log (`run_events` gives it back for resume) and its effect (papers deduplicated, run links,
  scores, reasons, sections, status). Progress events are kept as the latest only.
- Every public method is one transaction and safe to call from several threads; a second process
  works alongside (WAL), or gets `LibraryLocked` after the busy timeout — never a corrupt file.
- `Library.search` takes any user text (never an FTS5 syntax error) plus filters, and returns
  `PaperRow`s; runs come back as `RunSummary` / `RunPaperRow`, all plain frozen dataclasses.
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
