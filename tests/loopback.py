"""A test HTTP server on 127.0.0.1 (a free port), served by a daemon thread while its `with` block runs.

The fake servers (Zotero, faulty model servers) differ in what they answer, not in how they start and
stop, so that part lives here once."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """`url` is the server's root, followed by `path` (e.g. "/v1" for an OpenAI-compatible API)."""

    def __init__(self, httpd: ThreadingHTTPServer, *, path: str = "") -> None:
        httpd.daemon_threads = True
        self.httpd = httpd
        self.path = path
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
