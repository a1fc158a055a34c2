"""Wiring between the GUI and the engine and library (no Qt): `ui/` renders, this package does.

- `engine_thread`: an asyncio loop in its own thread; one search at a time, cancel within a second.
- `search_process`: a search run in a child process (the GUI process never shares its GIL with one).
- `rows`: `ResultRow` (what tables show) and `LibraryGateway` (library calls in those terms).
- `services`: `AppServices`, everything the window asks for.
"""

from pasa_desktop.gui_controller.engine_thread import (
    CANCEL_GRACE_S,
    EngineThread,
    SearchController,
    SearchOutcome,
    StreamFactory,
)
from pasa_desktop.gui_controller.rows import LibraryGateway, ResultRow
from pasa_desktop.gui_controller.services import EXPORT_FORMATS, AppServices, zotero_url
from pasa_desktop.search_request import SearchRequest

__all__ = [
    "CANCEL_GRACE_S",
    "EXPORT_FORMATS",
    "AppServices",
    "EngineThread",
    "LibraryGateway",
    "ResultRow",
    "SearchController",
    "SearchOutcome",
    "SearchRequest",
    "StreamFactory",
    "zotero_url",
]
