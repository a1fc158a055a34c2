"""Send library papers to Zotero: through the desktop connector, or through the Web API with a key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pasa_desktop.export.exporter import Selection, records, select_papers
from pasa_desktop.library import Library
from pasa_desktop.zotero.connector import ConnectorClient
from pasa_desktop.zotero.items import PushItem, connector_id, connector_item, web_attachment, web_item, web_notes
from pasa_desktop.zotero.webapi import WebApiClient

CONNECTOR_BATCH = 50


@dataclass
class PushReport:
    sent: int = 0
    already_saved: int = 0  # a retry found them saved: not sent twice
    failed: list[str] = field(default_factory=list)
    attachments: int = 0
    warnings: list[str] = field(default_factory=list)
    target: str = ""
    skipped: int = 0  # already sent to this destination by an earlier push
    saved: list[tuple[int, str | None]] = field(default_factory=list)  # (paper id, Zotero key if known)

    def summary(self) -> str:
        text = f"{self.sent} item(s) sent to Zotero" + (f" ({self.target})" if self.target else "")
        if self.already_saved:
            text += f", {self.already_saved} already saved by an interrupted attempt"
        if self.attachments:
            text += f", {self.attachments} PDF(s) attached"
        if self.failed:
            text += f", {len(self.failed)} failed"
        if self.skipped:
            text += f"; {self.skipped} skipped: already sent there (--again sends them anyway)"
        return text


def push_items(library: Library, selection: Selection) -> list[PushItem]:
    """What to send: records plus the run's score/reason (when a run is chosen) and attached PDFs."""
    recs = records(library, selection)
    rows = select_papers(library, selection)
    scores: dict[int, tuple[float | None, str]] = {}
    query = ""
    if selection.run is not None:
        query = library.run(selection.run).query
        for rp in library.run_papers(selection.run):
            scores.setdefault(rp.paper.id, (rp.score, rp.reason))
    notes = library.notes_by_paper([r.id for r in rows])
    out = []
    for row, rec in zip(rows, recs, strict=True):
        score, reason = scores.get(row.id, (None, ""))
        files = tuple(a.path for a in library.attachments(row.id) if a.mime == "application/pdf" and a.path.exists())
        out.append(
            PushItem(row.id, rec, tuple(notes.get(row.id, ())), score, reason, query if row.id in scores else "", files)
        )
    return out


def push_connector(client: ConnectorClient, items: list[PushItem], *, target: str | None, uri: str) -> PushReport:
    report = PushReport()
    client.ping()
    resolved = client.resolve_target(target) if target else None
    report.target = resolved.path if resolved else ""
    for start in range(0, len(items), CONNECTOR_BATCH):
        batch = items[start : start + CONNECTOR_BATCH]
        saved = client.save_items([connector_item(i) for i in batch], uri=uri)
        if saved.already_saved:
            report.already_saved += saved.count
        else:
            report.sent += saved.count
        report.saved += [(i.paper_id, None) for i in batch]
        if resolved:
            client.update_session(saved.session_id, target=resolved.id)
        for item in batch:
            for path in item.files:
                ok = client.save_attachment(
                    saved.session_id, connector_id(item), path, url=item.record.url or path.as_uri()
                )
                if ok:
                    report.attachments += 1
                else:
                    report.warnings.append("Zotero's library files are read-only: PDFs were not attached")
                    break
    report.warnings = sorted(set(report.warnings))
    return report


def push_web(client: WebApiClient, items: list[PushItem], *, target: str | None) -> PushReport:
    report = PushReport()
    collection = client.collection_key(target) if target else None
    report.target = target or ""
    result = client.create_items([web_item(i, collection) for i in items])
    report.sent = len(result.created)
    report.already_saved = len(result.unknown)
    report.failed = [f"{items[i].record.title}: {msg}" for i, msg in sorted(result.failed.items())]
    report.saved = [(items[i].paper_id, key) for i, key in sorted(result.created.items())]
    report.saved += [(items[i].paper_id, None) for i in result.unknown]
    notes = []
    for index, key in sorted(result.created.items()):
        notes.extend(web_notes(items[index], key))
    if notes:
        note_result = client.create_items(notes)
        report.failed += [f"note: {msg}" for _, msg in sorted(note_result.failed.items())]
    attachments = [
        (path, web_attachment(key, path))
        for index, key in sorted(result.created.items())
        for path in items[index].files
    ]
    if attachments:
        created = client.create_items([item for _, item in attachments])
        for index, key in sorted(created.created.items()):
            if client.upload_file(key, attachments[index][0]):
                report.attachments += 1
        report.failed += [f"attachment: {msg}" for _, msg in sorted(created.failed.items())]
    return report


def push_new(
    library: Library,
    items: list[PushItem],
    destination: str,
    send: Callable[[list[PushItem]], PushReport],
    *,
    again: bool = False,
) -> PushReport:
    """Send only what this destination has not received yet, and remember what was sent."""
    done = set() if again else library.zotero_pushed(destination, [i.paper_id for i in items])
    fresh = [i for i in items if i.paper_id not in done]
    report = send(fresh) if fresh else PushReport()
    report.skipped = len(items) - len(fresh)
    if report.saved:
        library.mark_zotero_pushed(destination, report.saved)
    return report
