"""The paper menu's "Complete metadata": `pasa library complete` for the selected papers, in the background.

The report is the same as the command line's: the status bar says how many papers and fields changed,
each source that failed or candidate that was refused is one notification, and the library view shows
the new authors, DOI and venue at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import PasaError
from pasa_desktop.gui_controller import ResultRow

if TYPE_CHECKING:
    from pasa_desktop.gui_controller import AppServices
    from pasa_desktop.library.completion import CompletionReport
    from ui.paper_actions import PaperActions
    from ui.results_panel import ResultsPanel
    from ui.window_host import WindowHost

_NOTES_SHOWN = 3


def complete_metadata(window: WindowHost, papers: PaperActions, panel: ResultsPanel, rows: list[ResultRow]) -> None:
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
    # Imported when used: it loads the library's stack (SQLAlchemy), which the window's cold start defers.
    from pasa_desktop.library.completion import complete_library_papers

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


def export_completed(
    services: AppServices, rows: list[ResultRow], fmt: str, path: str, run_id: int | None
) -> tuple[int, CompletionReport | None]:
    """The window's export (run in the background): when an online source is enabled in Settings, the
    papers never completed before are completed first, as `pasa export` does."""
    from pasa_desktop.library.completion import complete_library_papers, completed_before, online_enabled

    report = None
    if online_enabled(services.settings) and services.library_ready():
        gateway = services.gateway()
        ids = []
        for row in rows:
            try:
                ids.append(gateway.library_id(row, run_id))
            except PasaError:
                continue  # not recorded yet: export_file says so
        done = completed_before(gateway.library, ids)
        todo = [pid for pid in ids if pid not in done]
        if todo:
            report = complete_library_papers(gateway.library, services.settings, todo)
    return services.export_file(rows, fmt, path, run_id), report


def exported(window: WindowHost, path: str, result: tuple[int, CompletionReport | None]) -> None:
    n, report = result
    text = f"Exported {n} paper{'s' * (n != 1)} to {path}"
    if report is not None and report.changed:
        fields = sum(len(p.changes) for p in report.papers)
        k = len(report.changed)
        text += f" (metadata completed first: {k} paper{'s' * (k != 1)}, {fields} field{'s' * (fields != 1)})"
        window.refresh_library()
    window.status_text.setText(text)
    for note in (report.messages if report is not None else [])[:_NOTES_SHOWN]:
        window.show_error("Metadata", note, "warning")
