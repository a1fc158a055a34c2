"""Shared HTTP plumbing for online sources: per-host rate limits, retries, timeouts, cache, error translation.

Every source gets one `HttpFetcher` wrapping an injected `httpx.AsyncClient` (tests pass a client pointed
at a loopback server). The fetcher
- keeps each host under its published rate (arXiv: one request every 3 s on one connection),
- retries 429 / 5xx / timeouts / dropped connections a bounded number of times with exponential backoff
  and jitter, honouring `Retry-After`,
- translates httpx errors into `SourceError` / `SourceOffline` (messages never carry URLs' query strings,
  where API keys may live),
- reports "offline" once per source until that source answers again, and fails fast meanwhile,
- stores successful (and 404) responses in a `DiskCache` so a repeated or resumed search is free,
- with `deadline_s`, gives up on a request (retries and waits included) that has not succeeded in that
  time, and treats its source as offline for `offline_cooldown_s`: one stalled source never uses a
  whole search budget, and the agent says once that it goes on without it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.errors import SourceError, SourceOffline
from engine.events import Notice, NoticeLevel
from engine.sources.cache import DiskCache, cache_key

Notify = Callable[[Notice], None]
Sleep = Callable[[float], Awaitable[None]]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
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
        try:
            return json.loads(self.content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError(source, f"malformed JSON from {redact(self.url)} ({exc})") from exc


def redact(url: str) -> str:
    """The URL without its query string (which may carry an API key) or its user:password."""
    parts = urlsplit(url)
    netloc = f"***@{parts.netloc.rsplit('@', 1)[1]}" if "@" in parts.netloc else parts.netloc
    return f"{parts.scheme}://{netloc}{parts.path}"


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
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _public_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not params:
        return []
    return sorted((str(k), str(v)) for k, v in params.items() if k.lower() not in SECRET_PARAMS)


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

    def _tell(self, level: NoticeLevel, source: str, message: str) -> None:
        if self.notify is not None:
            self.notify(Notice(level=level, source=source, message=message))

    def _went_offline(self, source: str, exc: Exception, url: str) -> SourceOffline:
        already = self.is_offline(source)
        self._offline_until[source] = time.monotonic() + self.offline_cooldown_s
        message = f"offline: cannot reach {urlsplit(url).netloc} ({type(exc).__name__})"
        if not already and self.report_offline:
            self._tell("warning", source, message)
        return SourceOffline(source, message, retriable=True, hint="check the network connection")

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
        """One request with retries: a response whose status is in `accept`, else SourceError."""
        key = ""
        if cache_ns and self.cache is not None:
            key = cache_key(method.upper(), url, _public_params(params), json_body)
            hit = self.cache.get(cache_ns, key, max_age_s=cache_ttl_s)
            if hit is not None:
                head, _, body = hit.partition(b"\n")
                status_text, _, final_url = head.decode("utf-8", errors="replace").partition(" ")
                if status_text.isdigit() and int(status_text) in accept:
                    return Response(int(status_text), body, final_url or url, from_cache=True)
        if self.is_offline(source):
            raise SourceOffline(
                source, "offline (not retried yet)", retriable=True, hint="check the network connection"
            )

        if self.deadline_s is None:
            return await self._fetch_live(
                source, method, url, key, params, headers, json_body, accept, cache_ns, follow_redirects, check
            )
        try:
            async with asyncio.timeout(self.deadline_s):
                return await self._fetch_live(
                    source, method, url, key, params, headers, json_body, accept, cache_ns, follow_redirects, check
                )
        except TimeoutError as exc:
            raise self._gave_up(source, url) from exc

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

    async def _fetch_live(
        self,
        source: str,
        method: str,
        url: str,
        key: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json_body: Any,
        accept: frozenset[int],
        cache_ns: str | None,
        follow_redirects: bool,
        check: Callable[[Response], object] | None,
    ) -> Response:
        host = urlsplit(url).netloc.split(":")[0]
        limiter = self.limiter(host)
        request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        attempt = 0
        while True:
            try:
                async with limiter.slot():
                    self.requests_sent += 1
                    reply = await self.client.request(
                        method,
                        url,
                        params=dict(params) if params else None,
                        headers=request_headers,
                        json=json_body,
                        timeout=self.timeout_s,
                        follow_redirects=follow_redirects,
                    )
                    content = await reply.aread()
            except httpx.ConnectError as exc:
                # DNS failure / refused: no point backing off for long; one quick retry, then "offline".
                if attempt < min(1, self.max_retries):
                    attempt += 1
                    await self.sleep(min(self.backoff_s, 1.0))
                    continue
                raise self._went_offline(source, exc, url) from exc
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if isinstance(exc, httpx.TimeoutException):
                    reason = f"timed out after {self.timeout_s:g} s"
                else:
                    reason = f"connection dropped ({type(exc).__name__})"
                delay = self._backoff(attempt)
                if attempt < self.max_retries:
                    self._tell(
                        "info", source, f"{reason}; retry {attempt + 1}/{self.max_retries} in {delay:.1f} s"
                    )
                    attempt += 1
                    await self.sleep(delay)
                    continue
                raise SourceError(source, f"{reason} ({redact(url)})", retriable=True) from exc
            except httpx.HTTPError as exc:
                raise SourceError(source, f"request failed: {type(exc).__name__} ({redact(url)})") from exc

            self._offline_until.pop(source, None)
            status = reply.status_code
            if status in accept:
                final_url = str(reply.url)
                if check is not None and status == 200:
                    # A truncated or malformed body raises here, before it could poison the cache.
                    check(Response(status, content, final_url))
                if cache_ns and self.cache is not None:
                    self.cache.put(cache_ns, key, f"{status} {final_url}\n".encode() + content)
                return Response(status, content, final_url)
            if status in RETRY_STATUSES:
                wait = retry_after_s(reply.headers.get("Retry-After"))
                if wait is not None and wait > self.max_retry_after_s:
                    raise SourceError(
                        source,
                        f"HTTP {status}: asked to wait {wait:.0f} s; giving up for now",
                        retriable=True,
                    )
                delay = wait if wait is not None else self._backoff(attempt)
                if attempt < self.max_retries:
                    if wait is not None:
                        limiter.pause_until(time.monotonic() + wait)
                    self._tell(
                        "info",
                        source,
                        f"HTTP {status}; retry {attempt + 1}/{self.max_retries} in {delay:.1f} s",
                    )
                    attempt += 1
                    await self.sleep(delay)
                    continue
                raise SourceError(
                    source, f"HTTP {status} after {self.max_retries} retries ({redact(url)})", retriable=True
                )
            if status in (401, 403):
                raise SourceError(
                    source,
                    f"HTTP {status}: access refused ({redact(url)})",
                    hint="check the API key for this source",
                )
            raise SourceError(source, f"HTTP {status} ({redact(url)})")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter in [base/2, base] so clients that failed together spread out."""
        base: float = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        return base * (0.5 + random.random() / 2)

    async def get_json(self, source: str, url: str, **kwargs: Any) -> Any:
        response = await self.fetch(source, "GET", url, check=lambda r: r.json(source), **kwargs)
        return response.json(source)

    async def post_json(self, source: str, url: str, body: Any, **kwargs: Any) -> Any:
        response = await self.fetch(
            source, "POST", url, json_body=body, check=lambda r: r.json(source), **kwargs
        )
        return response.json(source)
