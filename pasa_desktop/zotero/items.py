"""Library papers → Zotero item JSON (the connector's translator format and the Web API's format).

An arXiv preprint follows Zotero's own arXiv translator: itemType "preprint", repository "arXiv",
archiveID "arXiv:<id>", DOI "10.48550/arXiv.<id>". The Selector's score and reason go in a note.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pasa_desktop.export.record import Record, arxiv_url, is_conference


@dataclass(frozen=True, slots=True)
class PushItem:
    """One paper to send: its record, notes (plain text), the score line, and files to attach."""

    paper_id: int
    record: Record
    notes: tuple[str, ...] = ()
    score: float | None = None
    reason: str = ""
    query: str = ""
    files: tuple[Path, ...] = field(default=())


def creators(authors: tuple[str, ...]) -> list[dict[str, str]]:
    out = []
    for name in authors:
        if " " in name:
            first, last = name.rsplit(" ", 1)
            out.append({"firstName": first, "lastName": last, "creatorType": "author"})
        else:
            out.append({"name": name, "creatorType": "author"})
    return out


def score_note(item: PushItem) -> str | None:
    if item.score is None and not item.reason:
        return None
    parts = ["<p><b>PaSa Desktop</b></p>"]
    if item.query:
        parts.append(f"<p>Search: {html.escape(item.query)}</p>")
    if item.score is not None:
        parts.append(f"<p>Selector score: {item.score:.3f}</p>")
    if item.reason:
        parts.append(f"<p>Reason: {html.escape(item.reason)}</p>")
    return "".join(parts)


def note_html(text: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())


def item_fields(r: Record) -> dict[str, Any]:
    """Fields shared by both APIs."""
    data: dict[str, Any] = {"title": r.title, "creators": creators(r.authors)}
    if r.venue and not r.venue.lower().startswith("arxiv"):
        if is_conference(r.venue):
            data.update(itemType="conferencePaper", proceedingsTitle=r.venue)
        else:
            data.update(itemType="journalArticle", publicationTitle=r.venue)
        if r.arxiv_id:
            data["extra"] = f"arXiv:{r.arxiv_id}"
    elif r.arxiv_id:
        data.update(
            itemType="preprint",
            repository="arXiv",
            archiveID=f"arXiv:{r.arxiv_id}",
            extra=f"arXiv:{r.arxiv_id}" + (f" [{r.primary_class}]" if r.primary_class else ""),
        )
    else:
        data["itemType"] = "journalArticle" if r.doi else "preprint"
    if r.abstract:
        data["abstractNote"] = r.abstract
    if r.year:
        data["date"] = str(r.year)
    doi = r.doi or (f"10.48550/arXiv.{r.arxiv_id}" if r.arxiv_id and data["itemType"] == "preprint" else None)
    if doi:
        data["DOI"] = doi
    url = r.url or (arxiv_url(r.arxiv_id) if r.arxiv_id else None)
    if url:
        data["url"] = url
    data["tags"] = [{"tag": t} for t in r.tags]
    return data


def connector_item(item: PushItem) -> dict[str, Any]:
    data = item_fields(item.record)
    data["id"] = connector_id(item)  # the key saveAttachment's parentItemID refers to
    notes = [note_html(n) for n in item.notes]
    score = score_note(item)
    if score:
        notes.insert(0, score)
    data["notes"] = [{"note": n} for n in notes if n]
    data["attachments"] = []
    return data


def connector_id(item: PushItem) -> str:
    return f"pasa-{item.paper_id}"


def web_item(item: PushItem, collection_key: str | None) -> dict[str, Any]:
    data = item_fields(item.record)
    data["collections"] = [collection_key] if collection_key else []
    return data


def web_notes(item: PushItem, parent_key: str) -> list[dict[str, Any]]:
    texts = [note_html(n) for n in item.notes]
    score = score_note(item)
    if score:
        texts.insert(0, score)
    return [{"itemType": "note", "note": t, "parentItem": parent_key, "tags": []} for t in texts if t]


def web_attachment(parent_key: str, file: Path) -> dict[str, Any]:
    """An imported-file attachment item; its bytes follow through `WebApiClient.upload_file`."""
    return {
        "itemType": "attachment",
        "parentItem": parent_key,
        "linkMode": "imported_file",
        "title": "Full Text PDF",
        "contentType": "application/pdf",
        "filename": file.name,
        "tags": [],
    }
