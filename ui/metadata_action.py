"""The paper menu's "Complete metadata": `pasa library complete` for the selected papers, in the background.

The report is the same as the command line's: the status bar says how many papers and fields changed,
each source that failed or candidate that was refused is one notification, and the library view shows
the new authors, DOI and venue at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import PasaError
from pasa_desktop.gui_controller import ResultRow
from pasa_desktop.library.completion import CompletionReport, complete_library_papers

if TYPE_CHECKING:
    from ui.main_window import MainWindow
    from ui.paper_actions import PaperActions
    from ui.results_panel import ResultsPanel

_NOTES_SHOWN = 3


def complete_metadata(window: MainWindow, papers: PaperActions, panel: ResultsPanel, rows: list[ResultRow]) -> None:
    """Ask the online sources about these papers and write what they add (one transaction)."""
    if not window.services.library_ready():
        window.show_error("Metadata", "The library is still opening; try again in a moment.", "warning")
        return
    gateway = window.services.gateway()
    try:
        ids = [gateway.library_id(row, papers.run_id(panel)) for row in rows]
    except PasaError as exc:
        window.show_error("Metadata", str(exc), "warning")
        return
    library, settings = gateway.library, window.services.settings
    n = len(ids)
    window.status_text.setText(f"Completing the metadata of {n} paper{'s' * (n != 1)} online…")

    def done(report: CompletionReport) -> None:
        summary = report.summary()
        window.status_text.setText(summary[:1].upper() + summary[1:] + ".")
        notes = report.messages
        for note in notes[:_NOTES_SHOWN]:
            window.show_error("Metadata", note, "warning")
        if len(notes) > _NOTES_SHOWN:
            window.show_error("Metadata", f"{len(notes) - _NOTES_SHOWN} more notes (pasa library complete -v)", "info")
        if report.applied:
            window.refresh_library()

    window.run_later(lambda: complete_library_papers(library, settings, ids), done, "Metadata")
