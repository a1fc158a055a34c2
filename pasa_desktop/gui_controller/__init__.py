"""Wiring between the GUI and the engine and library (no Qt): `ui/` renders, this package does.

- `search_process`: a search run in a child process (the GUI process never shares its GIL with one).
- `search_controller`: one search at a time, its pipe read on the window's event loop; cancel within a second.
- `rows`: `ResultRow` (what tables show) and `LibraryGateway` (library calls in those terms).
- `services`: `AppServices`, everything the window asks for.
"""

from pasa_desktop.gui_controller.rows import LibraryGateway, ResultRow
from pasa_desktop.gui_controller.search_controller import CANCEL_GRACE_S, Loop, SearchController, SearchOutcome
from pasa_desktop.gui_controller.search_process import EventStream, Launched, SearchLauncher
from pasa_desktop.gui_controller.services import EXPORT_FORMATS, AppServices, zotero_url
from pasa_desktop.search_request import SearchRequest

__all__ = [
    "CANCEL_GRACE_S",
    "EXPORT_FORMATS",
    "AppServices",
    "EventStream",
    "Launched",
    "LibraryGateway",
    "Loop",
    "ResultRow",
    "SearchController",
    "SearchLauncher",
    "SearchOutcome",
    "SearchRequest",
    "zotero_url",
]
