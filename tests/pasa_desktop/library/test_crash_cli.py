"""kill -9 the real `pasa search` mid-run, then `pasa search --resume RUN`: nothing committed is lost or re-scored.

The CLI runs as a subprocess with a model profile pointing at an OpenAI-compatible server on loopback
(canned Crawler replies, Selector logprobs derived from the title), the offline index built from the real
corpus, and the library in a tmp data dir. "Reported as found" is what another reader of the library (the
GUI, `pasa show`) saw before the kill: that snapshot must survive exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from engine.events import PaperScored
from pasa_desktop.library import open_library
from tests.conftest import REPO
from tests.loopback import LoopbackServer
from tests.pasa_desktop.library.test_crash import index  # noqa: F401 - module-scoped fixture (real corpus → index)

CRAWLER_REPLY = " coded computation stragglers\n[Search] gradient coding distributed learning\n[StopSearch]"


def _probability(title: str) -> float:
    return 0.05 + 0.9 * int(hashlib.sha256(title.encode()).hexdigest()[:4], 16) / 0xFFFF


class ModelServer(LoopbackServer):
    """Just enough of the OpenAI chat API (with logprobs) for a Crawler and a Selector profile."""

    def __init__(self, delay_s: float) -> None:
        outer = self
        self.scored_titles: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, data: dict[str, Any]) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply({"object": "list", "data": [{"id": "m", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                time.sleep(delay_s)
                prompt = json.dumps(body.get("messages") or body.get("prompt"))
                title = re.search(r"Title: (.*?)\\nAbstract", prompt)
                if body.get("logprobs") or body.get("top_logprobs"):
                    p = _probability(title.group(1)) if title else 0.9
                    if title:
                        outer.scored_titles.append(title.group(1))
                    tops = [{"token": "True", "logprob": math.log(p)}, {"token": "False", "logprob": math.log(1 - p)}]
                    choice = {
                        "index": 0,
                        "message": {"role": "assistant", "content": "True"},
                        "logprobs": {"content": [{**tops[0], "top_logprobs": tops}]},
                        "finish_reason": "length",
                    }
                else:
                    content = "Reason: it matches the query." if title else CRAWLER_REPLY
                    choice = {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                self._reply({"id": "c", "object": "chat.completion", "model": "m", "choices": [choice]})

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), Handler), path="/v1")


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pasa_desktop.cli.main", *args],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_real_cli_kill_9_then_resume(index: Path, tmp_path: Path) -> None:  # noqa: F811
    data, config = tmp_path / "data", tmp_path / "config"
    config.mkdir()
    with ModelServer(delay_s=0.05) as server:
        profile = {"name": "lab", "kind": "openai", "base_url": server.url, "model": "m", "timeout_s": 20}
        settings = {
            "paths": {"index": str(index)},
            "sources": {"enabled": ["local"]},
            "profiles": [profile],
            "crawler_profile": "lab",
            "selector_profile": "lab",
        }
        (config / "settings.json").write_text(json.dumps(settings))
        env = {**os.environ, "PYTHONPATH": str(REPO), "PASA_DATA_DIR": str(data), "PASA_CONFIG_DIR": str(config)}
        query = "papers that use coded computation against stragglers in distributed training"
        proc = _cli(["search", "--preset", "quick", "--json", query], env)
        lib_path = data / "library.sqlite"
        seen: dict[str, float] = {}
        found: set[str] = set()
        deadline = time.monotonic() + 120
        while len(seen) < 6:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the search never scored anything"
            time.sleep(0.05)
            if not lib_path.exists():
                continue
            reader = open_library(lib_path)
            runs = reader.runs()
            if runs:
                rows = reader.run_papers(runs[0].id)
                found = {r.key for r in rows}
                seen = {r.key: r.score for r in rows if r.score is not None}
            reader.close()
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL

        library = open_library(lib_path)
        (run,) = library.runs()
        after = {r.key: r for r in library.run_papers(run.id)}
        assert found <= set(after)
        assert all(after[k].score == pytest.approx(v) for k, v in seen.items())
        assert run.status == "interrupted"  # killed: nobody holds it any more
        library.close()
        scored_before_resume = Counter(server.scored_titles)

        resumed = _cli(["search", "--resume", str(run.id), "--json"], env)
        out, err = resumed.communicate(timeout=180)
        assert resumed.returncode == 0, err
        result = json.loads(out)
        assert result["run_id"] == run.id and result["status"] == "done"

    library = open_library(lib_path)
    final = {r.key: r for r in library.run_papers(run.id)}
    assert set(after) <= set(final)
    assert all(final[k].score == pytest.approx(v) for k, v in seen.items())
    events = library.run_events(run.id)
    twice = [k for k, n in Counter(e.key for e in events if isinstance(e, PaperScored)).items() if n > 1]
    assert twice == [], "papers scored before the kill were scored again"
    titles_scored_twice = [t for t, n in Counter(server.scored_titles).items() if n > 1 and scored_before_resume[t]]
    committed_titles = {final[k].paper.title for k in seen}
    assert not (set(titles_scored_twice) & committed_titles), "the model was asked again for committed scores"
    assert library.run(run.id).status == "done"
    library.close()
