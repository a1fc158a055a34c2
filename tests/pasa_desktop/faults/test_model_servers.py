"""An OpenAI-compatible server that misbehaves: each fault is a ModelError with a message (never a
UnicodeDecodeError or AttributeError), 429 waits out Retry-After, and a search whose Selector fails
ends "failed", not "done" with nothing scored."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.errors import ModelError
from engine.events import Event, Notice, SearchFinished, SearchStatus
from engine.models.base import user_message
from engine.models.openai_backend import OpenAICompatibleModel
from engine.papers import Paper
from pasa_desktop.library import open_library
from pasa_testing.scripted import ScriptedModel
from tests.pasa_desktop.faults.conftest import library_dump
from tests.pasa_desktop.faults.server import RawServer, Reply, Seen

PROMPT = user_message("Answer True or False: is 2 > 1?")


def _model(url: str, **kwargs: object) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(name="srv", base_url=f"{url}/v1", model="m", timeout_s=5, **kwargs)  # type: ignore[arg-type]


def _chat_logprobs(true_logprob: float) -> dict[str, object]:
    top = [{"token": "True", "logprob": true_logprob}, {"token": "False", "logprob": -3.0}]
    return {
        "choices": [{"message": {"content": "True"}, "logprobs": {"content": [{"token": "True", "top_logprobs": top}]}}]
    }


@pytest.mark.parametrize(
    "body",
    [
        os.urandom(512),  # random bytes: not UTF-8, not JSON
        b"<html>proxy error</html>",
        {"choices": "not a list"},
        {"choices": []},
        {"choices": [None]},
        {"choices": [{"message": "a string, not an object"}]},
        [1, 2, 3],
        {"choices": [{"logprobs": {"content": [{"top_logprobs": "nope"}]}}]},
    ],
    ids=[
        "random-bytes",
        "html",
        "choices-not-a-list",
        "no-choices",
        "null-choice",
        "message-string",
        "array",
        "bad-logprobs",
    ],
)
def test_malformed_replies_are_model_errors(body: object) -> None:
    with RawServer(lambda _r: Reply(200, body)) as server:
        model = _model(server.url)
        with pytest.raises(ModelError) as err:
            model.generate(PROMPT)
            model.true_probabilities([PROMPT])
        assert "srv" in str(err.value)
        with pytest.raises(ModelError):
            model.true_probabilities([PROMPT])


def test_429_honours_retry_after_then_succeeds() -> None:
    def script(r: Seen) -> Reply:
        chats = [s for s in server.seen if s.path.endswith("/chat/completions")]
        if len(chats) <= 2:
            return Reply(429, {"error": "slow down"}, {"Retry-After": "1"})
        return Reply(200, _chat_logprobs(-0.1))

    with RawServer(script) as server:
        start = time.monotonic()
        assert _model(server.url).generate(PROMPT) == "True"
        chats = [s.at for s in server.seen if s.path.endswith("/chat/completions")]
    assert len(chats) == 3 and chats[1] - chats[0] >= 0.9 and chats[2] - chats[1] >= 0.9
    assert time.monotonic() - start < 10


def test_429_that_never_ends_blames_the_rate_limit_not_logprobs() -> None:
    with RawServer(lambda _r: Reply(429, {"error": "slow down"}, {"Retry-After": "120"})) as server:
        model = _model(server.url)
        start = time.monotonic()
        with pytest.raises(ModelError) as err:
            model.true_probabilities([PROMPT])
    message = str(err.value)
    assert "429" in message and "rate limit" in message and "logprobs" not in message
    assert time.monotonic() - start < 5  # a Retry-After beyond the bound is not waited out


def test_503_waits_retry_after_once_and_a_second_503_is_the_error() -> None:
    with RawServer(lambda _r: Reply(503, {"error": "loading model"}, {"Retry-After": "1"})) as server:
        start = time.monotonic()
        with pytest.raises(ModelError, match=r"answered 503: .*loading model") as err:
            _model(server.url).generate(PROMPT)
        chats = [s.at for s in server.seen if s.path.endswith("/chat/completions")]
    assert len(chats) == 2 and chats[1] - chats[0] >= 0.9 and time.monotonic() - start < 5
    assert "server's log" in err.value.hint
    with RawServer(lambda _r: Reply(503, "down", {"Retry-After": "600"})) as server:
        with pytest.raises(ModelError, match="it asked to wait 600 s: not waited"):
            _model(server.url).generate(PROMPT)
        assert len(server.seen) == 1


def test_credentials_in_the_base_url_never_reach_a_message() -> None:
    with RawServer(lambda _r: Reply(500, {"error": "boom Authorization: Bearer sk-live-abcdefghijklmnop"})) as server:
        url = server.url.replace("http://", "http://user:hunter2secret@")
        model = OpenAICompatibleModel(name="srv", base_url=f"{url}/v1", model="m", api_key="sk-live-abcdefghijklmnop")
        with pytest.raises(ModelError) as err:
            model.generate(PROMPT)
    text = str(err.value)
    assert "hunter2secret" not in text and "sk-live-abcdefghijklmnop" not in text and "***" in text


class _OneSource:
    name = "fixture"

    async def search(self, query: str, *, limit: int, before: date | None = None) -> list[Paper]:
        return [Paper(id=f"p{i}", title=f"Coded computation {i}", abstract="Stragglers.") for i in range(3)][:limit]


async def _drain(gen: object) -> list[Event]:
    return [e async for e in gen]  # type: ignore[attr-defined]


async def test_a_search_whose_selector_server_fails_ends_failed() -> None:
    with RawServer(lambda _r: Reply(200, {"choices": "not a list"})) as server:
        selector = _model(server.url)
        deps = SearchDeps(
            crawler_model=ScriptedModel(["[StopSearch]"]), selector_model=selector, sources=[_OneSource()]
        )
        events = await _drain(
            run_search("coded computation against stragglers", AgentSettings(expand_layers=0, max_queries=0), deps)
        )
    finished = events[-1]
    assert isinstance(finished, SearchFinished)
    assert finished.status == SearchStatus.FAILED and "Selector failed" in finished.message
    assert finished.results  # what was found is kept, ranked by retrieval
    assert any(isinstance(e, Notice) and e.level == "error" for e in events)


def _authorization(seen: Seen) -> str:
    return next((v for k, v in seen.headers.items() if k.lower() == "authorization"), "")


async def test_a_server_echoing_the_key_leaves_no_secret_in_the_library(tmp_path: Path) -> None:
    """End to end (#16): a Selector server that echoes the request's Authorization header in its error; the
    search's events are recorded in a real library file, and no byte of the key or URL password is in it."""
    key = "sk-live-abcdefghijklmnop0123"

    def echo(seen: Seen) -> Reply:
        return Reply(500, {"error": f"bad request with Authorization: {_authorization(seen)}"})

    with RawServer(echo) as server:
        selector = OpenAICompatibleModel(name="srv", base_url=f"{server.url}/v1", model="m", api_key=key, timeout_s=5)
        deps = SearchDeps(crawler_model=ScriptedModel(["[StopSearch]"]), selector_model=selector, sources=[_OneSource()])
        events = await _drain(run_search("coded computation", AgentSettings(expand_layers=0, max_queries=0), deps))
        assert any(key in _authorization(s) for s in server.seen)  # the server did get it
    path = tmp_path / "library.sqlite"
    lib = open_library(path)
    run = lib.create_run("coded computation", {"selector": "http://user:hunter2secret@models.example/v1"})
    for event in events:
        lib.record(run, event)
    lib.close()
    dump = library_dump(path)
    assert "Selector failed" in dump and "***" in dump
    assert key not in dump and "hunter2secret" not in dump
