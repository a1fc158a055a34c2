"""HttpFetcher against a real loopback server: retries, Retry-After, timeouts, resets, offline, cache, pacing."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import time
from pathlib import Path

import httpx
import pytest

from engine.errors import SourceError, SourceOffline
from engine.events import Notice
from engine.sources.cache import DiskCache
from engine.sources.http import HostPolicy, HttpFetcher, retry_after_s
from tests.engine.sources.fake_server import FakeServer, Reply, Sleeps, free_port

OK = Reply(200, b'{"ok": true}')


async def test_429_with_retry_after_waits_that_long_then_succeeds(
    server: FakeServer, fetcher: HttpFetcher, sleeps: Sleeps, notices: list[Notice]
) -> None:
    server.route("/x", Reply(429, b"{}", headers={"Retry-After": "2"}), OK)
    assert await fetcher.get_json("s2", f"{server.url}/x") == {"ok": True}
    assert len(server.hits("/x")) == 2
    assert 2.0 in sleeps.calls
    assert any("HTTP 429" in n.message and n.source == "s2" for n in notices)


async def test_429_without_retry_after_backs_off_exponentially_with_jitter(
    server: FakeServer, fetcher: HttpFetcher, sleeps: Sleeps
) -> None:
    server.route("/x", Reply(429, b"{}"), Reply(429, b"{}"), Reply(429, b"{}"), OK)
    assert await fetcher.get_json("s2", f"{server.url}/x") == {"ok": True}
    assert len(sleeps.calls) == 3
    for attempt, delay in enumerate(sleeps.calls):
        base = 0.5 * 2**attempt
        assert base / 2 <= delay <= base


async def test_5xx_are_retried_a_bounded_number_of_times(server: FakeServer, fetcher: HttpFetcher) -> None:
    server.route("/flaky", Reply(500, b"{}"), Reply(503, b"{}"), OK)
    assert await fetcher.get_json("openalex", f"{server.url}/flaky") == {"ok": True}
    server.route("/down", Reply(503, b"{}"))
    with pytest.raises(SourceError) as info:
        await fetcher.get_json("openalex", f"{server.url}/down")
    assert info.value.retriable and "503" in str(info.value)
    assert len(server.hits("/down")) == fetcher.max_retries + 1


async def test_retry_after_beyond_the_limit_fails_at_once(server: FakeServer, fetcher: HttpFetcher) -> None:
    server.route("/x", Reply(429, b"{}", headers={"Retry-After": "3600"}))
    with pytest.raises(SourceError, match="asked to wait"):
        await fetcher.get_json("s2", f"{server.url}/x")
    assert len(server.hits("/x")) == 1


async def test_connection_reset_is_retried(server: FakeServer, fetcher: HttpFetcher) -> None:
    server.route("/x", Reply(reset=True), OK)
    assert await fetcher.get_json("arxiv", f"{server.url}/x") == {"ok": True}
    assert len(server.hits("/x")) == 2


async def test_slow_response_past_the_timeout_gives_a_clear_error(
    server: FakeServer, client: httpx.AsyncClient, sleeps: Sleeps, notices: list[Notice]
) -> None:
    fetcher = HttpFetcher(client, max_retries=1, timeout_s=0.2, policies={}, sleep=sleeps, notify=notices.append)
    server.route("/slow", Reply(200, b"{}", delay_s=0.6))
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"timed out after 0\.2 s") as info:
        await fetcher.get_json("openalex", f"{server.url}/slow")
    assert info.value.retriable
    assert len(server.hits("/slow")) == 2
    assert time.monotonic() - started < 2.0
    assert any("timed out" in n.message for n in notices)


async def test_truncated_body_is_retried_then_parsed(server: FakeServer, fetcher: HttpFetcher) -> None:
    body = b'{"results": [1, 2, 3], "meta": {"count": 3}}'
    server.route("/x", Reply(200, body, truncate=True), Reply(200, body))
    assert (await fetcher.get_json("openalex", f"{server.url}/x"))["meta"] == {"count": 3}


async def test_malformed_json_is_an_error_and_is_not_cached(
    server: FakeServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    fetcher = HttpFetcher(client, cache=DiskCache(tmp_path), policies={})
    server.route("/x", Reply(200, b'{"data": [1, 2'), Reply(200, b'{"data": [1, 2]}'))
    with pytest.raises(SourceError, match="malformed JSON"):
        await fetcher.get_json("s2", f"{server.url}/x", cache_ns="t")
    assert await fetcher.get_json("s2", f"{server.url}/x", cache_ns="t") == {"data": [1, 2]}
    assert len(server.hits("/x")) == 2


async def test_offline_is_reported_once_and_fails_fast(
    client: httpx.AsyncClient, sleeps: Sleeps, notices: list[Notice]
) -> None:
    fetcher = HttpFetcher(client, max_retries=3, policies={}, sleep=sleeps, notify=notices.append)
    url = f"http://127.0.0.1:{free_port()}/api"
    for _ in range(3):
        with pytest.raises(SourceOffline):
            await fetcher.get_json("arxiv", url)
    offline = [n for n in notices if "offline" in n.message]
    assert len(offline) == 1 and offline[0].source == "arxiv"
    assert fetcher.is_offline("arxiv")
    assert fetcher.requests_sent == 2  # one quick retry on the first call, then no more attempts


async def test_cache_answers_repeats_and_keeps_keys_out(
    server: FakeServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    cache = DiskCache(tmp_path)
    fetcher = HttpFetcher(client, cache=cache, policies={})
    server.route("/works", OK)
    url = f"{server.url}/works"
    await fetcher.get_json("openalex", url, params={"search": "q", "api_key": "SECRET-1"}, cache_ns="openalex")
    again = await fetcher.fetch(
        "openalex", "GET", url, params={"search": "q", "api_key": "SECRET-2"}, cache_ns="openalex"
    )
    assert again.from_cache and len(server.hits("/works")) == 1
    assert b"SECRET" not in cache.path.read_bytes()
    assert cache.stats() == {"openalex": 1}
    assert cache.clear() == 1 and cache.stats() == {}


async def test_errors_never_show_query_strings(server: FakeServer, client: httpx.AsyncClient) -> None:
    fetcher = HttpFetcher(client, max_retries=0, policies={})
    server.route("/secret", Reply(401, b"{}"))
    with pytest.raises(SourceError) as info:
        await fetcher.get_json("openalex", f"{server.url}/secret", params={"api_key": "TOPSECRET"})
    assert "TOPSECRET" not in str(info.value) and "API key" in str(info.value)
    assert len(server.hits("/secret")) == 1  # 401 is not retried


async def test_host_rate_limit_spaces_requests(server: FakeServer, client: httpx.AsyncClient) -> None:
    fetcher = HttpFetcher(client, policies={"127.0.0.1": HostPolicy(min_interval_s=0.15, max_concurrency=1)})
    server.route("/api/query", OK)
    await asyncio.gather(*(fetcher.get_json("arxiv", f"{server.url}/api/query?i={i}") for i in range(4)))
    times = [s.at for s in server.hits("/api/query")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4 and min(gaps) >= 0.14


def test_retry_after_header_forms() -> None:
    assert retry_after_s("7") == 7.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    value = retry_after_s(future)
    assert value is not None and 25 <= value <= 31


def test_corrupt_cache_file_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / DiskCache.FILE_NAME).write_bytes(b"this is not sqlite" * 100)
    cache = DiskCache(tmp_path)
    cache.put("ns", "k", b"v")
    assert cache.get("ns", "k") == b"v"
    assert (tmp_path / "cache.broken.sqlite").exists()
    assert cache.get("ns", "k", max_age_s=3600) == b"v"
    assert cache.get("ns", "k", max_age_s=-1) is None  # older than the allowed age: a miss
