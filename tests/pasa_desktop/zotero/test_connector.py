"""Pushing to Zotero desktop through the connector server (a real HTTP server on loopback)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pymupdf
import pytest

from pasa_desktop.export import Selection
from pasa_desktop.library import Library
from pasa_desktop.zotero import ConnectorClient, ZoteroError, ZoteroUnavailable, push_connector, push_items
from tests.pasa_desktop.zotero.fake_zotero import FakeZotero


def _client(z: FakeZotero) -> ConnectorClient:
    return ConnectorClient(z.url, timeout_s=5, sleep=lambda _s: None)


def test_ping(zotero: FakeZotero) -> None:
    with _client(zotero) as client:
        assert client.ping() == "Zotero is running"
    assert zotero.state.received[0].headers["X-Zotero-Connector-API-Version"] == "3"


def test_not_running_is_a_clear_message() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connection refused
    url = f"http://me:hunter2secret@127.0.0.1:{port}"  # a proxy's credentials never reach the message
    with ConnectorClient(url, timeout_s=2) as client, pytest.raises(ZoteroUnavailable) as info:
        client.ping()
    assert "not reachable" in str(info.value) and "start Zotero" in info.value.hint
    assert "hunter2secret" not in str(info.value) and f"***@127.0.0.1:{port}" in str(info.value)


def test_a_collection_list_that_is_not_zoteros_is_an_error(zotero: FakeZotero) -> None:
    zotero.state.targets = "not a list"  # type: ignore[assignment]  # a server that answers nonsense
    with _client(zotero) as client, pytest.raises(ZoteroError, match="reply Zotero does not give"):
        client.targets()


def test_push_run_with_notes_tags_target_and_pdf(library: Library, zotero: FakeZotero, tmp_path: Path) -> None:
    pdf = tmp_path / "attention.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Scaled dot-product attention")
    doc.save(pdf)
    doc.close()
    library.attach(1, pdf)
    items = push_items(library, Selection(run=1, selected_only=True))
    with _client(zotero) as client:
        report = push_connector(client, items, target="Thesis/Background", uri="pasa-desktop://run/1")
    assert (report.sent, report.attachments, report.target) == (2, 1, "My Library/Thesis/Background")
    saved = zotero.state.saved_items
    vaswani = next(i for i in saved if i["title"] == "Attention Is All You Need")
    assert vaswani["itemType"] == "preprint" and vaswani["repository"] == "arXiv"
    assert vaswani["archiveID"] == "arXiv:1706.03762" and vaswani["DOI"] == "10.48550/arXiv.1706.03762"
    assert vaswani["creators"][0] == {"firstName": "Ashish", "lastName": "Vaswani", "creatorType": "author"}
    assert vaswani["tags"] == [{"tag": "nlp"}]
    notes = [n["note"] for n in vaswani["notes"]]
    assert "Selector score: 0.930" in notes[0] and "Introduces the Transformer." in notes[0]
    assert "Read section 3 first." in notes[1]
    bert = next(i for i in saved if i["title"].startswith("BERT"))
    assert bert["itemType"] == "journalArticle" and bert["extra"] == "arXiv:1810.04805"
    (session,) = zotero.state.sessions.values()
    assert session["target"] == "C11"
    metadata, data = zotero.state.attachments[0]
    assert metadata["parentItemID"] == vaswani["id"] and data == pdf.read_bytes()
    assert sum(1 for r in zotero.state.received if r.path == "/connector/saveItems") == 1


def test_read_only_library(library: Library, zotero: FakeZotero) -> None:
    zotero.state.library_editable = False
    with _client(zotero) as client, pytest.raises(ZoteroError, match="read-only") as info:
        push_connector(client, push_items(library, Selection()), target=None, uri="x")
    assert "My Library" in info.value.hint


def test_lost_response_is_retried_without_sending_twice(library: Library, zotero: FakeZotero) -> None:
    zotero.state.drop_save_items_once = True
    with _client(zotero) as client:
        report = push_connector(client, push_items(library, Selection()), target=None, uri="x")
    assert report.sent == 0 and report.already_saved == 4
    assert len(zotero.state.saved_items) == 4  # saved once, although the request went out twice
    posts = [r for r in zotero.state.received if r.path == "/connector/saveItems"]
    assert len(posts) == 2 and posts[0].json()["sessionID"] == posts[1].json()["sessionID"]


def test_session_rules(zotero: FakeZotero) -> None:
    with _client(zotero) as client:
        saved = client.save_items([{"id": "a", "itemType": "preprint", "title": "T"}], uri="x", session_id="s1")
        with pytest.raises(ZoteroError, match="already has a save session"):
            client.save_items([{"id": "a", "itemType": "preprint", "title": "T"}], uri="x", session_id="s1")
        with pytest.raises(ZoteroError, match="forgot the save session"):
            client.update_session("unknown", target="C10")
        with pytest.raises(ZoteroError, match="no collection"):
            client.update_session(saved.session_id, target="C99")
        with pytest.raises(ZoteroError, match="No Zotero collection"):
            client.resolve_target("Nope")
        assert client.resolve_target("Reading").id == "C12"
        assert client.resolve_target("C10").path == "My Library/Thesis"


def test_files_not_editable_is_a_warning(library: Library, zotero: FakeZotero, tmp_path: Path) -> None:
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    library.attach(2, pdf)
    zotero.state.files_editable = False
    with _client(zotero) as client:
        report = push_connector(client, push_items(library, Selection(paper_ids=(2,))), target=None, uri="x")
    assert report.sent == 1 and report.attachments == 0 and "read-only" in report.warnings[0]


def test_server_sees_well_formed_json(library: Library, zotero: FakeZotero) -> None:
    with _client(zotero) as client:
        push_connector(client, push_items(library, Selection(paper_ids=(4,))), target=None, uri="pasa-desktop://x")
    post = next(r for r in zotero.state.received if r.path == "/connector/saveItems")
    assert post.headers["Content-Type"].startswith("application/json")
    body = post.json()
    assert body["uri"] == "pasa-desktop://x" and len(body["sessionID"]) == 32
    assert json.dumps(body, ensure_ascii=False).count("Möglichkeit") == 1
