"""Pushing to zotero.org through the Web API: batches, write tokens, 412/413/429, clear errors."""

from __future__ import annotations

import email.utils
import socket
import time
from pathlib import Path

import pytest

from pasa_desktop.export import Selection
from pasa_desktop.library import Library
from pasa_desktop.zotero import WebApiClient, ZoteroError, ZoteroUnavailable, push_items, push_web
from pasa_desktop.zotero.webapi import MAX_WAIT_S
from tests.pasa_desktop.zotero.fake_zotero import FakeZotero


def _client(z: FakeZotero, sleeps: list[float] | None = None, key: str = "secret-key") -> WebApiClient:
    record = sleeps if sleeps is not None else []
    return WebApiClient(key, user_id="123", base_url=z.url, timeout_s=5, sleep=record.append)


def test_push_with_notes_and_collection(library: Library, zotero: FakeZotero) -> None:
    with _client(zotero) as client:
        report = push_web(client, push_items(library, Selection(run=1)), target="Thesis")
    assert report.sent == 4 and report.failed == []
    parents = [i for i in zotero.state.web_items if i["itemType"] != "note"]
    notes = [i for i in zotero.state.web_items if i["itemType"] == "note"]
    assert all(p["collections"] == ["ABCD2345"] for p in parents)
    assert len(notes) == 4  # three score notes and one user note
    posts = [r for r in zotero.state.received if r.path.endswith("/items")]
    assert all(len(r.headers["Zotero-Write-Token"]) == 32 for r in posts)
    assert len({r.headers["Zotero-Write-Token"] for r in posts}) == len(posts)
    assert posts[0].headers["Zotero-API-Version"] == "3"


def test_batches_of_at_most_50(zotero: FakeZotero) -> None:
    items = [{"itemType": "preprint", "title": f"Paper {i}"} for i in range(120)]
    with _client(zotero) as client:
        result = client.create_items(items)
    assert len(result.created) == 120 and sorted(result.created) == list(range(120))
    sizes = [len(r.json()) for r in zotero.state.received if r.path.endswith("/items")]
    assert sizes == [50, 50, 20]


def test_429_waits_retry_after_and_sends_once(zotero: FakeZotero) -> None:
    zotero.state.rate_limit_next = 2
    sleeps: list[float] = []
    with _client(zotero, sleeps) as client:
        result = client.create_items([{"itemType": "preprint", "title": "T"}])
    assert sleeps == [2.0, 2.0] and len(result.created) == 1 and len(zotero.state.web_items) == 1
    tokens = [r.headers["Zotero-Write-Token"] for r in zotero.state.received if r.path.endswith("/items")]
    assert len(set(tokens)) == 1  # the retries reuse the batch's write token


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "HTTP-DATE+30"}, (25.0, 31.0)),  # Retry-After may be an HTTP date (RFC 9110)
        (503, {"Backoff": "5"}, (5.0, 5.0)),  # Zotero's own header when it is overloaded
        (429, {"Retry-After": "7200"}, (MAX_WAIT_S, MAX_WAIT_S)),  # waited up to the cap, then retried
    ],
    ids=["http-date", "503-backoff", "beyond-the-cap"],
)
def test_the_wait_is_the_one_the_server_asks_for(
    zotero: FakeZotero, status: int, headers: dict[str, str], expected: tuple[float, float]
) -> None:
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    zotero.state.rate_limit_next = 1
    zotero.state.rate_limit_status = status
    zotero.state.rate_limit_headers = {k: v.replace("HTTP-DATE+30", date) for k, v in headers.items()}
    sleeps: list[float] = []
    with _client(zotero, sleeps) as client:
        result = client.create_items([{"itemType": "preprint", "title": "T"}])
    assert len(result.created) == 1 and len(sleeps) == 1
    assert expected[0] <= sleeps[0] <= expected[1]


def test_unreachable_is_a_message_without_credentials() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    url = f"http://me:hunter2secret@127.0.0.1:{port}"
    with WebApiClient("k", user_id="1", base_url=url, sleep=sleeps.append, max_attempts=3) as client:
        with pytest.raises(ZoteroUnavailable, match="unreachable: cannot connect") as err:
            client.create_items([{"itemType": "preprint", "title": "T"}])
    assert "hunter2secret" not in str(err.value) and sleeps == [1.0, 2.0]


def test_lost_response_then_412_means_saved_once(zotero: FakeZotero) -> None:
    zotero.state.drop_web_once = True
    with _client(zotero) as client:
        result = client.create_items([{"itemType": "preprint", "title": "T"}])
    assert result.unknown == [0] and result.created == {}
    assert len(zotero.state.web_items) == 1


def test_413_splits_the_batch(zotero: FakeZotero) -> None:
    zotero.state.max_body_bytes = 4000
    items = [{"itemType": "preprint", "title": f"Paper {i}", "abstractNote": "x" * 900} for i in range(8)]
    items.append({"itemType": "preprint", "title": "Huge", "abstractNote": "y" * 10_000})
    with _client(zotero) as client:
        result = client.create_items(items)
    assert len(result.created) == 8 and result.failed == {8: "item too large for the Zotero Web API"}


def test_failed_items_are_reported(zotero: FakeZotero) -> None:
    with _client(zotero) as client:
        result = client.create_items([{"itemType": "preprint", "title": ""}, {"itemType": "preprint", "title": "T"}])
    assert result.failed == {0: "400 'title' is required"} and list(result.created) == [1]


def test_bad_key_and_bad_config(zotero: FakeZotero) -> None:
    with _client(zotero, key="wrong") as client, pytest.raises(ZoteroError, match="may not write"):
        client.create_items([{"itemType": "preprint", "title": "T"}])
    with pytest.raises(ZoteroError, match="No Zotero API key"):
        WebApiClient("", user_id="1")
    with pytest.raises(ZoteroError, match="exactly one"):
        WebApiClient("k")


def test_endless_rate_limit_gives_up_clearly(zotero: FakeZotero) -> None:
    zotero.state.rate_limit_next = 100
    with _client(zotero) as client, pytest.raises(ZoteroError, match="slow down"):
        client.create_items([{"itemType": "preprint", "title": "T"}])
    assert zotero.state.web_items == []


def test_pdfs_are_uploaded_with_the_three_step_file_protocol(
    library: Library, zotero: FakeZotero, tmp_path: Path
) -> None:
    pdf = tmp_path / "attention.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + b"attention " * 500 + b"\n%%EOF\n")
    library.attach(1, pdf)
    with _client(zotero) as client:
        report = push_web(client, push_items(library, Selection(paper_ids=(1, 2))), target=None)
    assert report.sent == 2 and report.attachments == 1 and report.failed == []
    (attachment,) = [i for i in zotero.state.web_items if i["itemType"] == "attachment"]
    parent = next(i for i in zotero.state.web_items if i["title"] == "Attention Is All You Need")
    assert attachment["parentItem"] == parent["key"] and attachment["linkMode"] == "imported_file"
    assert zotero.state.files[attachment["key"]] == pdf.read_bytes()
    assert zotero.state.pending_uploads == {}  # the upload was registered
    # Uploading again never replaces the stored file (If-None-Match: *).
    with _client(zotero) as client:
        assert client.upload_file(attachment["key"], pdf) is False


def test_quota_exceeded_is_a_clear_error(zotero: FakeZotero, tmp_path: Path) -> None:
    zotero.state.quota_bytes = 10
    pdf = tmp_path / "big.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + b"x" * 100)
    with _client(zotero) as client:
        key = client.create_items([{"itemType": "attachment", "linkMode": "imported_file", "title": "PDF"}]).created[0]
        with pytest.raises(ZoteroError, match="storage quota"):
            client.upload_file(key, pdf)
