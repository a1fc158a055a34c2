"""One HTTP error translator for every client the app has (online sources, the OpenAI-compatible model
backend, both Zotero clients).

httpx maps transport errors to its own exceptions in one place (a table of exception types and a context
manager at the boundary); this module does the same one level up:

- `TRANSPORT_KINDS` (httpx exception type → kind) and `STATUS_KINDS` (HTTP status → kind) say what
  went wrong in a few words a retry rule and a message can use, as an `HttpProblem` whose detail is
  already redacted (engine.redact): no credential in a URL, header or echoed body leaves this module;
- inside a client's boundary a failure travels as an `HttpFault` (a problem plus how often it was retried),
  so retry rules read kinds and `Retry-After`, not exception classes;
- `http_boundary(translate)` is the context manager each client puts around its HTTP calls: an httpx
  error or an `HttpFault` leaves it as the client's own typed error (`SourceError`, `ModelError`,
  `ZoteroError`…), made by the client's `translate` from the problem;
- `RetryPolicy` / `Retries` are the one retry rule: per-kind budgets, exponential backoff, and the
  server's `Retry-After` (or Zotero's `Backoff`) honoured, a wait longer than the policy allows refused
  at once instead of stalling a search;
- `json_reply` is the one reader of JSON replies: bytes that are not JSON, or JSON of the wrong shape,
  are a `malformed` problem, never a UnicodeDecodeError or an AttributeError further on.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from engine.redact import redact, redact_url

Kind = Literal[
    "offline",  # the server cannot be reached at all (DNS, refused)
    "timeout",  # no answer in time
    "dropped",  # the connection broke mid-request (reset, truncated body)
    "transport",  # any other transport failure (bad URL, TLS, too many redirects)
    "auth",  # 401 / 403
    "not_found",  # 404 / 410
    "rate_limited",  # 429
    "unavailable",  # 503
    "server_error",  # other 5xx
    "client_error",  # other 4xx
    "unexpected",  # 1xx / 3xx where an answer was expected
    "malformed",  # a 2xx whose body is not what the protocol promises
]

# First match wins, most specific first (httpx.ConnectTimeout is a timeout, not "offline").
TRANSPORT_KINDS: tuple[tuple[type[httpx.HTTPError], Kind], ...] = (
    (httpx.TimeoutException, "timeout"),
    (httpx.ConnectError, "offline"),
    (httpx.RemoteProtocolError, "dropped"),
    (httpx.ReadError, "dropped"),
    (httpx.WriteError, "dropped"),
    (httpx.HTTPError, "transport"),
)
STATUS_KINDS: Mapping[int, Kind] = {
    401: "auth",
    403: "auth",
    404: "not_found",
    410: "not_found",
    429: "rate_limited",
    503: "unavailable",
}
# Statuses worth trying again: the server may answer next time (RFC 9110 §15.6; 501 and 505 never will).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRIABLE_KINDS = frozenset({"offline", "timeout", "dropped"})
DETAIL_CHARS = 300  # how much of an error body a message quotes


@dataclass(frozen=True, slots=True)
class HttpProblem:
    """What went wrong with one HTTP call, in terms a retry rule and a message can use. `url` and
    `detail` are redacted when the problem is made, so a problem can be shown as it is."""

    kind: Kind
    url: str = ""
    status: int | None = None
    detail: str = ""  # the exception's text or the start of the error body, one line, redacted
    retry_after_s: float | None = None  # what the server asked for (Retry-After, Backoff)
    exception: str = ""  # the httpx exception's class name, for transport problems
    timeout_s: float | None = None  # the timeout that ran out, for "timeout"

    @property
    def retriable(self) -> bool:
        return self.kind in _RETRIABLE_KINDS or self.status in RETRY_STATUSES

    @property
    def what(self) -> str:
        """The problem in a few words: 'timed out after 20 s', 'HTTP 429'."""
        if self.status is not None and self.kind != "malformed":
            return f"HTTP {self.status}"
        if self.kind == "timeout":
            return f"timed out after {self.timeout_s:g} s" if self.timeout_s is not None else "timed out"
        if self.kind == "offline":
            return f"cannot connect ({self.exception})"
        if self.kind == "dropped":
            return f"connection dropped ({self.exception})"
        if self.kind == "malformed":
            return f"malformed reply ({self.detail})" if self.detail else "malformed reply"
        return f"request failed: {self.exception or self.kind}"


class HttpFault(Exception):
    """An HTTP call that failed, on its way to the boundary where the client turns it into its own error.

    `retried` counts the attempts after the first; `wait_refused` is set when the server asked for a
    longer pause than the policy waits out (the request gives up at once rather than stall)."""

    def __init__(self, problem: HttpProblem) -> None:
        super().__init__(problem.what)
        self.problem = problem
        self.retried = 0
        self.wait_refused = False

    def describe(self) -> str:
        """The problem with how it ended: 'HTTP 503 after 3 retries', 'timed out after 20 s, retried once',
        'HTTP 429: asked to wait 3600 s; giving up for now'."""
        text = self.problem.what
        if self.wait_refused and self.problem.retry_after_s is not None:
            return f"{text}: asked to wait {self.problem.retry_after_s:.0f} s; giving up for now"
        if not self.retried:
            return text
        if self.problem.status is not None:
            return f"{text} after {self.retried} {'retry' if self.retried == 1 else 'retries'}"
        return f"{text}, retried {'once' if self.retried == 1 else f'{self.retried} times'}"


Translate = Callable[[HttpFault], Exception]


def one_line(text: str, limit: int = DETAIL_CHARS) -> str:
    """The start of a server's text as one redacted line (an error body may echo our headers back)."""
    return redact(" ".join(text[: limit * 2].split())[:limit])


def problem_from_exception(exc: httpx.HTTPError, *, url: str = "", timeout_s: float | None = None) -> HttpProblem:
    kind: Kind = next(k for cls, k in TRANSPORT_KINDS if isinstance(exc, cls))
    return HttpProblem(
        kind,
        url=redact_url(url),
        detail=one_line(str(exc)),
        exception=type(exc).__name__,
        timeout_s=timeout_s if kind == "timeout" else None,
    )


def status_kind(status: int) -> Kind:
    kind = STATUS_KINDS.get(status)
    if kind is not None:
        return kind
    if status >= 500:
        return "server_error"
    return "client_error" if status >= 400 else "unexpected"


def problem_from_response(response: httpx.Response, *, url: str = "") -> HttpProblem:
    """The problem an HTTP answer the client did not accept stands for (its body quoted, redacted)."""
    try:
        detail = one_line(response.text)
    except (httpx.ResponseNotRead, UnicodeDecodeError, LookupError):  # a stream not read, a bogus charset
        detail = ""
    return HttpProblem(
        status_kind(response.status_code),
        url=redact_url(url or str(response.request.url)),
        status=response.status_code,
        detail=detail,
        retry_after_s=server_wait_s(response.headers),
    )


def raise_for_status(response: httpx.Response, accept: frozenset[int], *, url: str = "") -> httpx.Response:
    """`response` when its status is one the caller handles, else an HttpFault for the boundary."""
    if response.status_code not in accept:
        raise HttpFault(problem_from_response(response, url=url))
    return response


@contextmanager
def http_boundary(translate: Translate, *, url: str = "", timeout_s: float | None = None) -> Iterator[None]:
    """Around a client's HTTP calls: httpx errors and HttpFaults leave as `translate(fault)`."""
    try:
        yield
    except HttpFault as fault:
        raise translate(fault) from fault
    except httpx.HTTPError as exc:
        raise translate(HttpFault(problem_from_exception(exc, url=url, timeout_s=timeout_s))) from exc


@contextmanager
def as_faults(*, url: str = "", timeout_s: float | None = None) -> Iterator[None]:
    """Inside a boundary, around one attempt: an httpx error becomes an HttpFault a retry rule can read."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise HttpFault(problem_from_exception(exc, url=url, timeout_s=timeout_s)) from exc


# ---- waits --------------------------------------------------------------------------------------------


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def server_wait_s(headers: Mapping[str, str]) -> float | None:
    """The pause a server asks for: Retry-After (RFC 9110), else Zotero's Backoff (seconds)."""
    for name in ("Retry-After", "Backoff"):
        wait = retry_after_s(headers.get(name))
        if wait is not None:
            return wait
    return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed call is tried again, and after how long.

    `tries` gives, per kind of problem, how many more attempts it earns (a kind not listed is never
    retried; a non-retriable status never is), `total` bounds them all together. Waits grow exponentially from `backoff_s`, with jitter in
    [wait/2, wait] unless `jitter` is False, capped at `max_backoff_s`. A server's Retry-After is waited
    out as asked; one longer than `max_retry_after_s` gives up at once (`cap_retry_after`: waits the cap
    instead, for clients where a late success beats an early failure, such as a Zotero upload)."""

    tries: Mapping[Kind, int]
    total: int | None = None  # at most this many retries whatever their kinds (None: the sum of `tries`)
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    jitter: bool = True
    max_retry_after_s: float = 60.0
    cap_retry_after: bool = False

    def backoff(self, attempt: int) -> float:
        base: float = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        return base * (0.5 + random.random() / 2) if self.jitter else base

    def delay(self, problem: HttpProblem, retried_of_kind: int, retried: int) -> float | None:
        """Seconds to wait before the next attempt, or None: give up. Raises nothing."""
        if not problem.retriable or retried_of_kind >= self.tries.get(problem.kind, 0):
            return None
        if self.total is not None and retried >= self.total:
            return None
        wait = problem.retry_after_s
        if wait is None:
            return self.backoff(retried)
        if wait > self.max_retry_after_s:
            return self.max_retry_after_s if self.cap_retry_after else None
        return wait


@dataclass
class Retries:
    """The retry state of one logical request: `after(fault)` is the wait before the next attempt, or
    re-raises the fault (marked with how often it was retried) when the policy says stop.
    `on_retry(problem, retry number, wait)` lets a client report or pause a host before the wait."""

    policy: RetryPolicy
    on_retry: Callable[[HttpProblem, int, float], None] | None = None
    done: int = 0
    _by_kind: Counter[str] = field(default_factory=Counter)

    def after(self, fault: HttpFault) -> float:
        problem = fault.problem
        wait = self.policy.delay(problem, self._by_kind[problem.kind], self.done)
        fault.retried = self.done
        if wait is None:
            fault.wait_refused = (
                problem.retriable
                and problem.retry_after_s is not None
                and problem.retry_after_s > self.policy.max_retry_after_s
            )
            raise fault
        self._by_kind[problem.kind] += 1
        self.done += 1
        if self.on_retry is not None:
            self.on_retry(problem, self.done, wait)
        return wait


def retrying(
    send: Callable[[], httpx.Response],
    policy: RetryPolicy,
    *,
    accept: frozenset[int],
    sleep: Callable[[float], None] = time.sleep,
    url: str = "",
    timeout_s: float | None = None,
) -> httpx.Response:
    """For blocking clients: `send()` until its answer's status is in `accept`, waiting as `policy` says
    between attempts; when the policy gives up, the last HttpFault is raised for the client's boundary."""
    retries = Retries(policy)
    while True:
        try:
            with as_faults(url=url, timeout_s=timeout_s):
                response = send()
            return raise_for_status(response, accept, url=url)
        except HttpFault as fault:
            sleep(retries.after(fault))


# ---- JSON replies --------------------------------------------------------------------------------------

_SHAPE_NAMES: dict[type[Any], str] = {dict: "an object", list: "an array", str: "a string"}


def json_reply(content: bytes | str, shape: type[Any] | None = None, *, url: str = "") -> Any:
    """The reply's JSON, checked to be `shape` at the top level (e.g. dict); else an HttpFault of kind
    "malformed" saying whether it was no JSON at all or JSON of the wrong shape."""
    try:
        data = json.loads(content)
    except (ValueError, RecursionError) as exc:  # ValueError includes UnicodeDecodeError: random bytes
        reason = "something that is not JSON"
        reason += f" ({exc})" if isinstance(exc, json.JSONDecodeError) else ""
        raise HttpFault(HttpProblem("malformed", url=redact_url(url), detail=reason)) from exc
    if shape is not None and not isinstance(data, shape):
        expected = _SHAPE_NAMES.get(shape, shape.__name__)
        raise HttpFault(HttpProblem("malformed", url=redact_url(url), detail=f"JSON that is not {expected}"))
    return data
