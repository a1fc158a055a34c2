"""A loopback HTTP server that answers each request from a script of raw replies (status, headers,
body bytes), for servers that misbehave: random bytes, wrong JSON shapes, 429 with Retry-After, stalls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.loopback import LoopbackServer


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def data(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


Script = Callable[[Seen], Reply]


class RawServer(LoopbackServer):
    """`script(request) -> Reply`; every request is kept in `seen`."""

    def __init__(self, script: Script) -> None:
        outer = self
        self.script = script
        self.seen: list[Seen] = []
        self._stop = threading.Event()

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
                outer.seen.append(seen)
                reply = outer.script(seen)
                if reply.delay_s:
                    outer._stop.wait(reply.delay_s)  # a stalled server; released when the test ends
                data = reply.data()
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), _Handler))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # release stalled replies first, or shutdown waits for them
        super().__exit__(*exc)
