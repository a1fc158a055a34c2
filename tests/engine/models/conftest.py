"""Fixtures for the model backends: a tiny Qwen2 built here, its GGUF, and servers on loopback.

The tiny model is built once per test session (~5 s): a random Qwen2 (hidden 64, 2 layers) with a
self-trained byte-level BPE tokenizer and a Qwen-style chat template, saved with save_pretrained.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.loopback import LoopbackServer

pytest.importorskip("transformers")
pytest.importorskip("llama_cpp")


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pasa_testing.tiny import build_tiny_qwen2

    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny") / "tiny-qwen2")


@pytest.fixture(scope="session")
def tiny_gguf(tiny_hf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.models.convert import convert_to_gguf

    return convert_to_gguf(tiny_hf, tmp_path_factory.mktemp("gguf") / "tiny-f32.gguf", quant="f32")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def llama_server(tiny_gguf: Path) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (`python -m llama_cpp.server`) serving the tiny GGUF."""
    pytest.importorskip("llama_cpp.server.app", reason="the `server` extra is not installed")
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


Handler = Callable[[str, dict[str, Any]], tuple[int, Any]]


class FakeServer(LoopbackServer):
    """A loopback HTTP server answering with `handler(path, body) -> (status, json body)`."""

    def __init__(self, handler: Handler, delay_s: float = 0.0) -> None:
        outer = self
        self.handler = handler
        self.delay_s = delay_s
        self.requests: list[tuple[str, dict[str, Any]]] = []

        class _Handler(BaseHTTPRequestHandler):
            def _answer(self, body: dict[str, Any]) -> None:
                outer.requests.append((self.path, body))
                time.sleep(outer.delay_s)
                status, payload = outer.handler(self.path, body)
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                self._answer({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self._answer(json.loads(self.rfile.read(length) or b"{}"))

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), _Handler), path="/v1")

    @property
    def base_url(self) -> str:
        return self.url
