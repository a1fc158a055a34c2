"""A real HTTP server on loopback that serves recorded responses and injects faults.

Routes map a path to a queue of `Reply`s: each request takes the next one, the last one repeats. A reply
can be slow (`delay_s`), drop the connection (`reset`), or promise more bytes than it sends (`truncate`).
Every request is recorded (method, path, query, headers, time) so tests can check retries and pacing.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from engine.events import Notice
from engine.sources.http import HttpFetcher

DATA = Path(__file__).parent / "data"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay_s: float = 0.0
    reset: bool = False  # close the socket with RST before answering
    truncate: bool = False  # announce the full length, send half, close


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                del format, args

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = server._take(
                    Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body, time.monotonic())
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.reset:
                    # SO_LINGER 0 makes close() send RST: the client sees "connection reset".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.truncate:
                    self.send_header("Connection", "close")
                self.end_headers()
                try:
                    if reply.truncate:
                        self.wfile.write(reply.body[: len(reply.body) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=lambda: self.httpd.serve_forever(poll_interval=0.02), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self.routes[path] = list(replies)

    def _take(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            queue = self.routes.get(seen.path)
            if not queue:
                return Reply(404, b'{"error": "not found"}')
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve() -> Iterator[FakeServer]:
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    """A port nothing listens on (bound then released): connecting to it is refused, like no network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- fixtures shared by tests/engine/sources, tests/engine/fulltext and tests/engine/references (imported by their conftest) --


class Sleeps:
    """A stand-in for asyncio.sleep that records the delays asked for and yields without waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield from serve()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def notices() -> list[Notice]:
    return []


@pytest.fixture
def fetcher(client: httpx.AsyncClient, sleeps: Sleeps, notices: list[Notice]) -> HttpFetcher:
    """Fast retries (recorded, not waited), no politeness delays on loopback, no cache."""
    return HttpFetcher(
        client, max_retries=3, timeout_s=2.0, backoff_s=0.5, policies={}, sleep=sleeps, notify=notices.append
    )
