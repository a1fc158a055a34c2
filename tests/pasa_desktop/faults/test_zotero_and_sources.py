"""Zotero's Web API answering garbage or `{}`, and an online source that stalls: errors with a message
and a non-zero exit, never "0 item(s) sent" with exit 0; a stalled source gives up inside its deadline
and the others carry on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from engine.errors import SourceOffline
from engine.events import Notice
from engine.sources.http import HttpFetcher
from pasa_desktop.cli.main import main
from pasa_desktop.zotero import WebApiClient, ZoteroError
from tests.pasa_desktop.faults.server import RawServer, Reply, Seen


def _zotero_script(items_reply: Reply) -> object:
    def script(r: Seen) -> Reply:
        if r.path.endswith("/items"):
            return items_reply
        return Reply(200, [])

    return script


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, os.urandom(300)),
        Reply(200, {}),
        Reply(200, "[1,2]"),
        Reply(200, {"success": "x"}),
        Reply(200, {"success": {"7": "K"}}),
    ],
    ids=["random-bytes", "empty-object", "array", "success-not-an-object", "position-outside-the-batch"],
)
def test_web_api_garbage_is_an_error(reply: Reply) -> None:
    with RawServer(_zotero_script(reply)) as server:  # type: ignore[arg-type]
        with WebApiClient("key", user_id="1", base_url=server.url, sleep=lambda _s: None) as client:
            with pytest.raises(ZoteroError):
                client.create_items([{"itemType": "preprint", "title": "T"}])


def test_an_item_the_reply_does_not_mention_is_a_failure() -> None:
    reply = Reply(200, {"success": {"0": "AAAA1111"}})
    with RawServer(_zotero_script(reply)) as server:  # type: ignore[arg-type]
        with WebApiClient("key", user_id="1", base_url=server.url, sleep=lambda _s: None) as client:
            result = client.create_items([{"title": "A"}, {"title": "B"}])
    assert result.created == {0: "AAAA1111"} and list(result.failed) == [1]


@pytest.mark.parametrize("body", [b"\xff\xfe garbage", b"{}"], ids=["garbage", "empty-object"])
def test_zotero_push_web_exits_non_zero_with_a_message(
    body: bytes, user_library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with RawServer(_zotero_script(Reply(200, body))) as server:  # type: ignore[arg-type]
        monkeypatch.setenv("ZOTERO_API_KEY", "zk-secret-value-123")
        monkeypatch.setenv("ZOTERO_USER_ID", "123")
        monkeypatch.setenv("PASA_ZOTERO_API_URL", server.url)
        code = main(["zotero", "push", "--web", "--paper", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and "Zotero Web API" in err and "Traceback" not in err
    assert "0 item(s) sent" not in out and "zk-secret-value-123" not in out + err


async def test_a_stalled_source_gives_up_inside_its_deadline() -> None:
    notices: list[Notice] = []
    with RawServer(lambda _r: Reply(200, {}, delay_s=30)) as server:
        async with httpx.AsyncClient() as client:
            fetcher = HttpFetcher(client, timeout_s=20, deadline_s=1.0, notify=notices.append)
            start = time.monotonic()
            with pytest.raises(SourceOffline) as err:
                await fetcher.get_json("arxiv", f"{server.url}/api/query")
            took = time.monotonic() - start
            assert took < 3 and "gave up after 1 s" in str(err.value)
            assert [n.source for n in notices] == ["arxiv"] and "gave up" in notices[0].message
            # Until the cool-down ends the source is not asked again: the search goes on without it.
            again = time.monotonic()
            with pytest.raises(SourceOffline):
                await fetcher.get_json("arxiv", f"{server.url}/api/query")
            assert time.monotonic() - again < 0.5 and len(server.seen) == 1
