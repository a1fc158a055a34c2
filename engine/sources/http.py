"""Shared HTTP plumbing for online sources: per-host rate limits, retries, timeouts, cache, error translation.

Every source gets one `HttpFetcher` wrapping an injected `httpx.AsyncClient` (tests pass a client pointed
at a loopback server). `HttpFetcher.fetch` runs four steps, each a method of its own:
- cache (`_cached` / `_remember`): successful (and 404) responses are kept in a `DiskCache`, so a repeated
  or resumed search is free; secrets in query parameters never enter a cache key;
- rate limit (`_send`): each host is kept under its published rate (arXiv: one request every 3 s on one
  connection), one attempt on the wire;
- retry (`_with_retries`): 429 / 5xx / timeouts / dropped connections are tried again a bounded number
  of times with exponential backoff and jitter, honouring `Retry-After` (and pausing the whole host);
  a refused connection gets one quick retry;
- translate (`_translate`, through engine.http_errors' table and boundary): failures become
  `SourceError` / `SourceOffline` whose messages never carry URLs' query strings (where API keys live).
Around them, "offline" is reported once per source until that source answers again (failing fast
meanwhile), and with `deadline_s` a request (retries and waits included) that has not succeeded in
that time gives up and its source sits out `offline_cooldown_s`: one stalled source never uses a whole
search budget, and the agent says once that it goes on without it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.errors import SourceError, SourceOffline
from engine.events import Notice, NoticeLevel
from engine.http_errors import (
    RETRY_STATUSES,
    HttpFault,
    HttpProblem,
    Kind,
    Retries,
    RetryPolicy,
    as_faults,
    http_boundary,
    json_reply,
    raise_for_status,
    retry_after_s,
)
from engine.sources.cache import DiskCache, cache_key

__all__ = [
    "DEFAULT_POLICIES",
    "RETRY_STATUSES",
    "HostLimiter",
    "HostPolicy",
    "HttpFetcher",
    "Notify",
    "Request",
    "Response",
    "Sleep",
    "redact",
    "retry_after_s",
    "source_error",
]

Notify = Callable[[Notice], None]
Sleep = Callable[[float], Awaitable[None]]

# Query parameters that carry secrets: never part of a cache key or a message.
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "mailto"})
USER_AGENT = "PaSa-Desktop/0.1 (+https://github.com/; literature search)"


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Politeness for one host: the minimum gap between requests and how many may be in flight."""

    min_interval_s: float = 0.0
    max_concurrency: int = 4


DEFAULT_POLICIES: dict[str, HostPolicy] = {
    # arXiv's terms of use: no more than one request every three seconds, on a single connection.
    "export.arxiv.org": HostPolicy(3.0, 1),
    "arxiv.org": HostPolicy(1.0, 1),
    "ar5iv.labs.arxiv.org": HostPolicy(1.0, 1),
    "ar5iv.org": HostPolicy(1.0, 1),
    # Semantic Scholar: about one request per second with a key.
    "api.semanticscholar.org": HostPolicy(1.0, 1),
    "api.openalex.org": HostPolicy(0.1, 4),
    "google.serper.dev": HostPolicy(0.2, 4),
}


class HostLimiter:
    """Bounded concurrency plus a minimum gap from the end of one request to the start of the next."""

    def __init__(self, policy: HostPolicy, *, sleep: Sleep = asyncio.sleep) -> None:
        self.policy = policy
        self._sem = asyncio.Semaphore(max(1, policy.max_concurrency))
        self._lock = asyncio.Lock()
        self._next_at = 0.0
        self._sleep = sleep

    def pause_until(self, when: float) -> None:
        """After a 429 with Retry-After every request to the host waits, not just the one that got it."""
        self._next_at = max(self._next_at, when)

    @asynccontextmanager
    async def slot(self) -> Any:
        async with self._sem:
            async with self._lock:
                wait = self._next_at - time.monotonic()
                if wait > 0:
                    await self._sleep(wait)
                self._next_at = time.monotonic() + self.policy.min_interval_s
            try:
                yield
            finally:
                self._next_at = max(self._next_at, time.monotonic() + self.policy.min_interval_s)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content: bytes
    url: str
    from_cache: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self, source: str) -> Any:
        """The body as JSON; bytes that are not JSON are a SourceError ("malformed JSON from …")."""
        with http_boundary(lambda fault: source_error(source, fault, self.url)):
            return json_reply(self.content, url=self.url)


def redact(url: str) -> str:
    """The URL without its query string (which may carry an API key) or its user:password."""
    parts = urlsplit(url)
    netloc = f"***@{parts.netloc.rsplit('@', 1)[1]}" if "@" in parts.netloc else parts.netloc
    return f"{parts.scheme}://{netloc}{parts.path}"


# The sources' column of the translation table: the hint each kind of failure gets.
SOURCE_HINTS: Mapping[Kind, str] = {
    "offline": "check the network connection",
    "auth": "check the API key for this source",
}


def source_error(source: str, fault: HttpFault, url: str) -> SourceError:
    """A failed request in a source's words: what happened, how it ended, the URL without secrets."""
    problem = fault.problem
    hint = SOURCE_HINTS.get(problem.kind, "")
    if fault.wait_refused:
        return SourceError(source, fault.describe(), retriable=True, hint=hint)
    if problem.kind == "auth":
        return SourceError(source, f"HTTP {problem.status}: access refused ({redact(url)})", hint=hint)
    if problem.kind == "malformed":
        return SourceError(source, f"malformed JSON from {redact(url)}: {problem.detail}")
    error = SourceOffline if problem.kind == "offline" else SourceError
    return error(source, f"{fault.describe()} ({redact(url)})", retriable=problem.retriable, hint=hint)


def _public_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not params:
        return []
    return sorted((str(k), str(v)) for k, v in params.items() if k.lower() not in SECRET_PARAMS)


@dataclass(frozen=True, slots=True)
class Request:
    """One logical request as `fetch` was asked for it (its retries resend it unchanged)."""

    source: str
    method: str
    url: str
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    json_body: Any = None
    accept: frozenset[int] = frozenset({200})
    follow_redirects: bool = True

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc.split(":")[0]

    def cache_key(self) -> str:
        return cache_key(self.method, self.url, _public_params(self.params), self.json_body)


@dataclass
class HttpFetcher:
    """One per app (or per test): shared limiters so every source respects every host's rate."""

    client: httpx.AsyncClient
    cache: DiskCache | None = None
    max_retries: int = 3
    timeout_s: float = 20.0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    # A Retry-After longer than this is not waited out: the request fails (retriable) and the search goes on.
    max_retry_after_s: float = 60.0
    offline_cooldown_s: float = 60.0
    # Longest one request may take, its retries and rate-limit waits included (None: no limit, for
    # harvesting). A search sets it well inside its budget so the other sources carry on.
    deadline_s: float | None = None
    policies: dict[str, HostPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    notify: Notify | None = None
    # False when the caller reports SourceOffline itself (the agent does), so "offline" is said once.
    report_offline: bool = True
    sleep: Sleep = asyncio.sleep
    _limiters: dict[str, HostLimiter] = field(default_factory=dict, init=False, repr=False)
    _offline_until: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    requests_sent: int = field(default=0, init=False)

    def limiter(self, host: str) -> HostLimiter:
        if host not in self._limiters:
            policy = self.policies.get(host, HostPolicy())
            self._limiters[host] = HostLimiter(policy, sleep=self.sleep)
        return self._limiters[host]

    def is_offline(self, source: str) -> bool:
        return self._offline_until.get(source, 0.0) > time.monotonic()

    @property
    def retry_policy(self) -> RetryPolicy:
        """`max_retries` attempts after the first for what may pass (5xx, 429, timeouts, resets), in all;
        a refused connection gets one quick retry (no network: waiting longer would not help)."""
        again: tuple[Kind, ...] = ("timeout", "dropped", "rate_limited", "unavailable", "server_error")
        tries: dict[Kind, int] = {kind: self.max_retries for kind in again}
        tries["offline"] = min(1, self.max_retries)
        return RetryPolicy(
            tries,
            total=self.max_retries,
            backoff_s=self.backoff_s,
            max_backoff_s=self.max_backoff_s,
            max_retry_after_s=self.max_retry_after_s,
        )

    def _tell(self, level: NoticeLevel, source: str, message: str) -> None:
        if self.notify is not None:
            self.notify(Notice(level=level, source=source, message=message))

    async def fetch(
        self,
        source: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        accept: frozenset[int] = frozenset({200}),
        cache_ns: str | None = None,
        cache_ttl_s: float | None = None,
        follow_redirects: bool = True,
        check: Callable[[Response], object] | None = None,
    ) -> Response:
        """One request with retries: a response whose status is in `accept`, else SourceError.
        `check` validates a 200's body (raising SourceError) before it is cached."""
        request = Request(source, method.upper(), url, params, headers, json_body, accept, follow_redirects)
        key = request.cache_key() if cache_ns and self.cache is not None else ""
        cached = self._cached(request, cache_ns, key, cache_ttl_s)
        if cached is not None:
            return cached
        if self.is_offline(source):
            raise SourceOffline(
                source, "offline (not retried yet)", retriable=True, hint="check the network connection"
            )
        with http_boundary(lambda fault: self._translate(request, fault)):
            async with self._deadline(request):
                response = await self._with_retries(request)
        if check is not None and response.status == 200:
            check(response)  # a truncated or malformed body raises here, before it could poison the cache
        self._remember(cache_ns, key, response)
        return response

    # ---- step 1: cache ------------------------------------------------------------------------------

    def _cached(self, request: Request, cache_ns: str | None, key: str, max_age_s: float | None) -> Response | None:
        """The stored answer to this request, if one is fresh enough and of an accepted status."""
        if not cache_ns or self.cache is None:
            return None
        hit = self.cache.get(cache_ns, key, max_age_s=max_age_s)
        if hit is None:
            return None
        head, _, body = hit.partition(b"\n")
        status_text, _, final_url = head.decode("utf-8", errors="replace").partition(" ")
        if not status_text.isdigit() or int(status_text) not in request.accept:
            return None
        return Response(int(status_text), body, final_url or request.url, from_cache=True)

    def _remember(self, cache_ns: str | None, key: str, response: Response) -> None:
        if cache_ns and self.cache is not None:
            self.cache.put(cache_ns, key, f"{response.status} {response.url}\n".encode() + response.content)

    # ---- step 2: rate limit, one attempt on the wire ----------------------------------------------------

    async def _send(self, request: Request) -> Response:
        """One attempt inside the host's rate limit; a failure leaves as an HttpFault for the retry step."""
        with as_faults(url=request.url, timeout_s=self.timeout_s):
            async with self.limiter(request.host).slot():
                self.requests_sent += 1
                reply = await self.client.request(
                    request.method,
                    request.url,
                    params=dict(request.params) if request.params else None,
                    headers={"User-Agent": USER_AGENT, **(request.headers or {})},
                    json=request.json_body,
                    timeout=self.timeout_s,
                    follow_redirects=request.follow_redirects,
                )
                content = await reply.aread()
        self._offline_until.pop(request.source, None)  # it answered: no longer offline
        raise_for_status(reply, request.accept, url=request.url)
        return Response(reply.status_code, content, str(reply.url))

    # ---- step 3: retry --------------------------------------------------------------------------------

    async def _with_retries(self, request: Request) -> Response:
        """`_send` until it succeeds or the retry policy gives up (then its last HttpFault is raised)."""
        retries = Retries(
            self.retry_policy, on_retry=lambda problem, n, wait: self._retrying(request, problem, n, wait)
        )
        while True:
            try:
                return await self._send(request)
            except HttpFault as fault:
                await self.sleep(retries.after(fault))

    def _retrying(self, request: Request, problem: HttpProblem, retry: int, wait: float) -> None:
        if problem.retry_after_s is not None:
            # The server asked for a pause: every request to the host waits, not just this one.
            self.limiter(request.host).pause_until(time.monotonic() + wait)
        if problem.kind != "offline":  # a refused connection is retried quietly once, then reported
            self._tell("info", request.source, f"{problem.what}; retry {retry}/{self.max_retries} in {wait:.1f} s")

    # ---- step 4: translate --------------------------------------------------------------------------------

    def _translate(self, request: Request, fault: HttpFault) -> SourceError:
        if fault.problem.kind == "offline":
            return self._went_offline(request.source, fault.problem, request.url)
        return source_error(request.source, fault, request.url)

    def _went_offline(self, source: str, problem: HttpProblem, url: str) -> SourceOffline:
        already = self.is_offline(source)
        self._offline_until[source] = time.monotonic() + self.offline_cooldown_s
        message = f"offline: cannot reach {urlsplit(url).netloc} ({problem.exception})"
        if not already and self.report_offline:
            self._tell("warning", source, message)
        return SourceOffline(source, message, retriable=True, hint=SOURCE_HINTS["offline"])

    # ---- the per-source deadline ------------------------------------------------------------------------

    @asynccontextmanager
    async def _deadline(self, request: Request) -> AsyncIterator[None]:
        """Gives up on the request once `deadline_s` has passed, retries and waits included."""
        if self.deadline_s is None:
            yield
            return
        try:
            async with asyncio.timeout(self.deadline_s):
                yield
        except TimeoutError as exc:
            raise self._gave_up(request.source, request.url) from exc

    def _gave_up(self, source: str, url: str) -> SourceOffline:
        """A request that outlived the deadline: the source sits out the cool-down like an offline one."""
        already = self.is_offline(source)
        self._offline_until[source] = time.monotonic() + self.offline_cooldown_s
        message = (
            f"gave up after {self.deadline_s:g} s without an answer from {urlsplit(url).netloc}; "
            f"not asked again for {self.offline_cooldown_s:g} s"
        )
        if not already and self.report_offline:
            self._tell("warning", source, message)
        return SourceOffline(source, message, retriable=True, hint="the source is slow or not answering")

    # ---- JSON helpers ---------------------------------------------------------------------------------------

    async def get_json(self, source: str, url: str, **kwargs: Any) -> Any:
        response = await self.fetch(source, "GET", url, check=lambda r: r.json(source), **kwargs)
        return response.json(source)

    async def lookup_json(self, source: str, url: str, **kwargs: Any) -> Any:
        """GET JSON where 404 means "no such record": None then, not an error (DOI and id look-ups)."""
        response = await self.fetch(
            source, "GET", url, accept=frozenset({200, 404}), check=lambda r: r.json(source), **kwargs
        )
        return None if response.status == 404 else response.json(source)

    async def post_json(self, source: str, url: str, body: Any, **kwargs: Any) -> Any:
        response = await self.fetch(source, "POST", url, json_body=body, check=lambda r: r.json(source), **kwargs)
        return response.json(source)
