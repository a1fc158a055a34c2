"""The one HTTP error translator: its tables, the boundary, the retry rule and the JSON reader, with real
httpx errors from a loopback server (refused, reset, slow) rather than constructed ones."""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from engine.errors import ModelError, PasaError
from engine.http_errors import (
    HttpFault,
    HttpProblem,
    Retries,
    RetryPolicy,
    http_boundary,
    json_reply,
    problem_from_exception,
    problem_from_response,
    raise_for_status,
    retrying,
    server_wait_s,
    status_kind,
)
from tests.engine.sources.fake_server import FakeServer, Reply, free_port, serve


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


def _raised(url: str) -> httpx.HTTPError:
    with httpx.Client(timeout=0.3) as client:
        try:
            client.get(url)
        except httpx.HTTPError as exc:
            return exc
    raise AssertionError("the request succeeded")


def test_status_table() -> None:
    kinds = {s: status_kind(s) for s in (401, 403, 404, 410, 429, 500, 501, 503, 418, 302)}
    assert kinds == {
        401: "auth",
        403: "auth",
        404: "not_found",
        410: "not_found",
        429: "rate_limited",
        500: "server_error",
        501: "server_error",
        503: "unavailable",
        418: "client_error",
        302: "unexpected",
    }
    assert HttpProblem("server_error", status=502).retriable and not HttpProblem("server_error", status=501).retriable
    assert not HttpProblem("auth", status=401).retriable and HttpProblem("rate_limited", status=429).retriable


def test_transport_table_with_real_failures(server: FakeServer) -> None:
    refused = problem_from_exception(_raised(f"http://127.0.0.1:{free_port()}/x"))
    assert refused.kind == "offline" and refused.retriable and refused.what == "cannot connect (ConnectError)"
    server.route("/slow", Reply(200, b"{}", delay_s=1.0))
    slow = problem_from_exception(_raised(f"{server.url}/slow"), timeout_s=0.3)
    assert slow.kind == "timeout" and slow.what == "timed out after 0.3 s"
    server.route("/reset", Reply(reset=True))
    reset = problem_from_exception(_raised(f"{server.url}/reset"))
    assert reset.kind == "dropped" and reset.retriable
    assert problem_from_exception(httpx.UnsupportedProtocol("ftp")).kind == "transport"


def test_problems_are_redacted_when_made(server: FakeServer) -> None:
    echo = b'{"error": "bad auth", "headers": {"Authorization": "Bearer sk-live-abcdefghijklmnop"}}'
    server.route("/v1/chat", Reply(500, echo))
    url = server.url.replace("http://", "http://user:hunter2secret@") + "/v1/chat"
    with httpx.Client() as client:
        response = client.get(f"{server.url}/v1/chat")
    problem = problem_from_response(response, url=url)
    shown = f"{problem.url} {problem.detail} {problem.what}"
    assert "hunter2secret" not in shown and "sk-live" not in shown and "***" in shown
    assert problem.kind == "server_error" and problem.status == 500 and "bad auth" in problem.detail


def test_boundary_turns_httpx_errors_and_faults_into_the_clients_errors() -> None:
    def translate(fault: HttpFault) -> PasaError:
        return ModelError(f"srv: {fault.describe()}")

    with pytest.raises(ModelError, match="srv: cannot connect") as err:
        with http_boundary(translate, url="http://127.0.0.1:1/v1"):
            httpx.get(f"http://127.0.0.1:{free_port()}/v1")
    assert isinstance(err.value.__cause__, httpx.ConnectError)  # the original stays as the cause
    response = httpx.Response(404, request=httpx.Request("GET", "http://h/x"))
    with pytest.raises(ModelError, match="srv: HTTP 404"), http_boundary(translate):
        raise_for_status(response, frozenset({200}))
    assert raise_for_status(response, frozenset({200, 404})) is response


def test_waits_the_server_asks_for() -> None:
    assert server_wait_s({"Retry-After": "7"}) == 7.0
    assert server_wait_s({"Backoff": "5"}) == 5.0  # Zotero's header
    assert server_wait_s({"Retry-After": "soon"}) is None and server_wait_s({}) is None
    wait = server_wait_s({"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)})
    assert wait is not None and 25 <= wait <= 31


def _fault(kind: str, status: int | None = None, wait: float | None = None) -> HttpFault:
    return HttpFault(HttpProblem(kind, status=status, retry_after_s=wait))  # type: ignore[arg-type]  # kinds as strings


def test_retry_policy_honours_retry_after_and_budgets() -> None:
    seen: list[tuple[str, int, float]] = []
    policy = RetryPolicy({"rate_limited": 2, "timeout": 1}, backoff_s=1.0, jitter=False, max_retry_after_s=30)
    retries = Retries(policy, on_retry=lambda p, n, wait: seen.append((p.kind, n, wait)))
    assert retries.after(_fault("rate_limited", 429, wait=3.0)) == 3.0  # Retry-After as asked
    assert retries.after(_fault("timeout")) == 2.0  # no Retry-After: backoff, doubled per retry made
    with pytest.raises(HttpFault) as ended:
        retries.after(_fault("timeout"))  # its one retry is spent
    assert ended.value.retried == 2 and ended.value.describe() == "timed out, retried 2 times"
    assert seen == [("rate_limited", 1, 3.0), ("timeout", 2, 2.0)]
    with pytest.raises(HttpFault) as refused:
        Retries(policy).after(_fault("rate_limited", 429, wait=3600))
    assert refused.value.wait_refused and "asked to wait 3600 s" in refused.value.describe()
    capped = RetryPolicy({"rate_limited": 1}, max_retry_after_s=300, cap_retry_after=True)
    assert Retries(capped).after(_fault("rate_limited", 429, wait=3600)) == 300
    with pytest.raises(HttpFault):  # 501 will not pass: never retried, whatever the budget
        Retries(RetryPolicy({"server_error": 5})).after(_fault("server_error", 501))
    bounded = Retries(RetryPolicy({"server_error": 5, "timeout": 5}, total=1, jitter=False))
    bounded.after(_fault("server_error", 500))
    with pytest.raises(HttpFault) as total:
        bounded.after(_fault("timeout"))
    assert total.value.describe() == "timed out, retried once"


def test_blocking_retries_over_loopback(server: FakeServer) -> None:
    server.route("/x", Reply(429, b"{}", headers={"Retry-After": "3"}), Reply(502, b"bad gateway"), Reply(200, b"{}"))
    sleeps: list[float] = []
    policy = RetryPolicy({"rate_limited": 1, "server_error": 1}, backoff_s=0.5, jitter=False)
    with httpx.Client() as client:
        response = retrying(lambda: client.get(f"{server.url}/x"), policy, accept=frozenset({200}), sleep=sleeps.append)
        assert response.status_code == 200 and sleeps == [3.0, 1.0]  # as asked, then backoff for the 2nd retry
        server.route("/y", Reply(400, b"no such model"))
        with pytest.raises(HttpFault) as err:
            retrying(lambda: client.get(f"{server.url}/y"), policy, accept=frozenset({200}), sleep=sleeps.append)
    assert err.value.problem.detail == "no such model" and len(server.hits("/y")) == 1  # a 400 is not retried


@pytest.mark.parametrize(
    ("content", "shape", "reason"),
    [
        (os.urandom(256) + b"\xff", None, "something that is not JSON"),
        (b"<html>proxy error</html>", None, "something that is not JSON"),
        (b"[" * 100_000, None, "something that is not JSON"),  # nested past the recursion limit
        (b"[1, 2]", dict, "JSON that is not an object"),
        (b'{"a": 1}', list, "JSON that is not an array"),
    ],
    ids=["random-bytes", "html", "deep", "array-for-object", "object-for-array"],
)
def test_json_reply_says_what_is_wrong(content: bytes, shape: type | None, reason: str) -> None:
    with pytest.raises(HttpFault) as err:
        json_reply(content, shape, url="http://u:p@host/v1")
    problem = err.value.problem
    assert problem.kind == "malformed" and problem.detail.startswith(reason) and "u:p" not in problem.url
    assert json_reply(b'{"ok": true}', dict) == {"ok": True}
