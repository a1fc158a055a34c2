"""HttpFetcher against a real loopback server: retries, Retry-After, timeouts, resets, offline, cache, pacing;
then each step of `fetch` on its own (cache, rate-limited send, retry, translate)."""

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
from engine.http_errors import HttpFault, HttpProblem
from engine.sources.cache import DiskCache
from engine.sources.http import HostPolicy, HttpFetcher, Request, Response, retry_after_s
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


# ---- the steps of fetch, one by one ----------------------------------------------------------------------


async def test_step_cache_answers_only_with_an_accepted_status(client: httpx.AsyncClient, tmp_path: Path) -> None:
    fetcher = HttpFetcher(client, cache=DiskCache(tmp_path), policies={})
    only_200 = Request("s2", "GET", "http://api.example.org/x")
    fetcher._remember("t", "k", Response(404, b"{}", "http://api.example.org/x"))
    assert fetcher._cached(only_200, "t", "k", None) is None  # a stored 404 answers only who accepts 404
    fetcher._remember("t", "k", Response(200, b'{"a": 1}', "http://api.example.org/final"))
    hit = fetcher._cached(only_200, "t", "k", None)
    assert hit is not None and hit.from_cache and hit.url.endswith("/final") and hit.json("s2") == {"a": 1}
    assert fetcher._cached(only_200, None, "k", None) is None  # no namespace: never cached


async def test_step_send_is_one_attempt_inside_the_host_limit(server: FakeServer, client: httpx.AsyncClient) -> None:
    fetcher = HttpFetcher(client, policies={"127.0.0.1": HostPolicy(min_interval_s=0.2, max_concurrency=1)})
    server.route("/x", Reply(503, b"busy", headers={"Retry-After": "4"}), OK)
    request = Request("s2", "GET", f"{server.url}/x")
    with pytest.raises(HttpFault) as fault:
        await fetcher._send(request)
    problem = fault.value.problem
    assert (problem.kind, problem.status, problem.retry_after_s, problem.detail) == ("unavailable", 503, 4.0, "busy")
    started = time.monotonic()
    assert (await fetcher._send(request)).status == 200  # not retried here: the next call is a new attempt
    assert time.monotonic() - started >= 0.15 and fetcher.requests_sent == 2


async def test_step_retry_waits_retry_after_and_pauses_the_host(
    server: FakeServer, fetcher: HttpFetcher, sleeps: Sleeps, notices: list[Notice]
) -> None:
    server.route("/x", Reply(503, b"{}", headers={"Retry-After": "4"}), OK)
    response = await fetcher._with_retries(Request("s2", "GET", f"{server.url}/x"))
    assert response.status == 200 and sleeps.calls[0] == 4.0
    # The host is paused too (every request to it waits, not just this one): as the recorded sleeps pass
    # no time, the retry meets that pause in the host's limiter as a second wait of about 4 s.
    assert len(sleeps.calls) == 2 and 3.5 < sleeps.calls[1] <= 4.0
    assert [n.message for n in notices] == ["HTTP 503; retry 1/3 in 4.0 s"]


def test_step_translate_uses_the_sources_table(client: httpx.AsyncClient, notices: list[Notice]) -> None:
    fetcher = HttpFetcher(client, notify=notices.append)
    request = Request("openalex", "GET", "http://me:pw@api.example.org/works?api_key=K")
    offline = fetcher._translate(request, HttpFault(HttpProblem("offline", exception="ConnectError")))
    assert isinstance(offline, SourceOffline) and fetcher.is_offline("openalex") and len(notices) == 1
    auth = fetcher._translate(request, HttpFault(HttpProblem("auth", status=401)))
    assert "API key" in auth.hint and not auth.retriable
    fault = HttpFault(HttpProblem("server_error", status=502))
    fault.retried = 3
    error = fetcher._translate(request, fault)
    assert str(error) == "openalex: HTTP 502 after 3 retries (http://***@api.example.org/works)" and error.retriable
    assert not any(secret in str(e) for e in (auth, error) for secret in ("pw", "api_key", "K"))
