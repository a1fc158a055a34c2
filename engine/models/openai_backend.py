"""OpenAI-compatible server backend: vLLM, llama.cpp's server, Ollama, or a hosted API.

The Selector's P("True") is read from the first generated token's logprobs. Two ways are tried,
and the first that works is kept: chat completions with `logprobs` + `top_logprobs` (the server
applies the model's own chat template), then text completions with `logprobs` on the prompt
rendered here with the ChatML template. The probability comes from the server's log-softmax over
the full vocabulary; when "True" is not among the top tokens returned its probability is below the
smallest one listed and is reported as 0. `check()` finds out up front whether the server returns
logprobs at all, so a Selector profile fails at load time rather than in the middle of a search.

Calls block (httpx sync client); the agent runs them in worker threads, and a batch of Selector
prompts is sent as concurrent requests (servers such as vLLM batch them).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from jinja2 import TemplateError

from engine.errors import ConfigError, ModelError
from engine.http_errors import HttpFault, RetryPolicy, as_faults, http_boundary, json_reply, raise_for_status, retrying
from engine.models.base import ChatModel, Generation, Message, ModelInfo
from engine.models.chat_template import CHATML_TEMPLATE, ChatTemplate
from engine.redact import redact_url

if TYPE_CHECKING:
    from engine.models.profile_spec import ModelProfile

# 429 Too Many Requests: waited out (Retry-After, else a short backoff) at most this often and this long.
RATE_LIMIT_RETRIES = 3
MAX_RETRY_AFTER_S = 30.0
# A transient 5xx (a server restarting, a proxy's 502) is tried once more; transport failures are not:
# the agent's own retry and the user decide what happens after "cannot reach".
RETRY = RetryPolicy(
    {"rate_limited": RATE_LIMIT_RETRIES, "server_error": 1, "unavailable": 1},
    backoff_s=1.0,
    jitter=False,
    max_retry_after_s=MAX_RETRY_AFTER_S,
)
ANSWERED = frozenset(range(200, 300))
_API_HINT = "check that base_url points at an OpenAI-compatible API"
# Statuses with which a server refuses the request's shape (no logprobs, no /completions): check() tries
# the next way of scoring.
UNSUPPORTED = frozenset({400, 404, 405, 422, 501})
TOP_LOGPROBS = 20  # vLLM's default maximum; OpenAI allows 20 for chat and 5 for completions
_NO_LOGPROBS_HINT = (
    "this server returns no logprobs, so it cannot score as a Selector: serve the model with vLLM or "
    "llama.cpp's server, or pick another profile for the Selector (it can still be the Crawler)"
)


class _Unsupported(ModelError):
    """The server refused the request's shape (400/404/405/422/501): e.g. no logprobs or no /completions.
    `check()` tries the next way of scoring; every other error stops it."""


class _Malformed(ModelError):
    """The server answered 200 with something that is not the OpenAI reply it should be."""


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """What `check()` found out about the server."""

    model: str
    score_mode: str | None  # "chat" | "completions" | None (no logprobs)
    true_token_id: int | None
    message: str


class OpenAICompatibleModel(ChatModel):
    """A model behind an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        model: str = "",
        api_key: str = "",
        timeout_s: float = 120.0,
        context_tokens: int = 4096,
        concurrency: int = 8,
        chat_template: str = CHATML_TEMPLATE,
        client: httpx.Client | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"profile {name!r}: base_url {redact_url(base_url)!r} is not an http(s) URL",
                hint="set base_url to the server's OpenAI endpoint, e.g. http://127.0.0.1:8000/v1",
            )
        self._name = name
        self._base = base_url.rstrip("/")
        self._model = model
        self._timeout = timeout_s
        self._context = context_tokens
        self._concurrency = max(1, concurrency)
        self._template = ChatTemplate(chat_template)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)))
        self._headers = headers
        self._lock = threading.Lock()
        self._score_mode: str | None = None  # decided by check()
        self._checked = False
        self._true_id: int | None = None
        self._tokenize_url: str | bool | None = None  # None = not probed; False = none
        self._template_from_server = False

    @classmethod
    def from_profile(cls, profile: ModelProfile, *, client: httpx.Client | None = None) -> OpenAICompatibleModel:
        if not profile.base_url:
            raise ConfigError(
                f"profile {profile.name!r} has no base_url",
                hint="set base_url to the server's OpenAI endpoint, e.g. http://127.0.0.1:8000/v1",
            )
        key = ""
        if profile.api_key_env:
            key = os.environ.get(profile.api_key_env, "")
            if not key:
                raise ConfigError(
                    f"profile {profile.name!r}: environment variable {profile.api_key_env} is empty",
                    hint=f"export {profile.api_key_env}=<your key> or clear the profile's api_key_env",
                )
        return cls(
            name=profile.name,
            base_url=profile.base_url,
            model=profile.model,
            api_key=key,
            timeout_s=profile.timeout_s,
            context_tokens=profile.context_tokens,
            concurrency=profile.batch_size,
            client=client,
        )

    # ---- HTTP -------------------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], *, url: str | None = None) -> dict[str, Any]:
        return self._call("POST", url or f"{self._base}{path}", body)

    def _call(self, method: str, target: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A JSON object from the server: 429 waited out as asked, a transient 5xx tried once more, every
        failure (no answer, an error status, a reply that is not a JSON object) a ModelError or ConfigError."""
        with http_boundary(self._error, url=target, timeout_s=self._timeout):
            resp = retrying(
                lambda: self._client.request(method, target, json=body, headers=self._headers),
                RETRY,
                accept=ANSWERED,
                url=target,
                timeout_s=self._timeout,
            )
            reply: dict[str, Any] = json_reply(resp.content, dict, url=target)
            return reply

    def _error(self, fault: HttpFault) -> ModelError | ConfigError:
        """The model servers' column of the translation table (the problem's URL and detail are redacted)."""
        problem = fault.problem
        name, shown, status = f"profile {self._name!r}", problem.url or redact_url(self._base), problem.status
        if problem.kind == "timeout":
            return ModelError(
                f"{name}: {shown} did not answer within {self._timeout:g} s",
                hint="raise the profile's timeout_s, or check the server's load",
            )
        if status is None and problem.kind != "malformed":  # no answer at all
            return ModelError(
                f"{name}: cannot reach {shown}: {problem.detail or problem.what}",
                hint="start the server, or fix the profile's base_url",
            )
        if problem.kind == "malformed":
            return _Malformed(f"{name}: {shown} answered with {problem.detail}", hint=_API_HINT)
        if problem.kind == "auth":
            return ConfigError(
                f"{name}: {shown} rejected the API key ({status})",
                hint="set the environment variable named in the profile's api_key_env to a valid key",
            )
        if problem.kind == "rate_limited":
            asked = f" (it asked to wait {problem.retry_after_s:.0f} s)" if problem.retry_after_s is not None else ""
            return ModelError(
                f"{name}: {shown} is rate limiting (HTTP 429) after {fault.retried} wait(s){asked}",
                hint="lower the profile's batch_size (concurrent requests) or the server's load, then retry",
            )
        hint = "check the server's log and try again"
        if status == 404:
            hint = "check the profile's base_url (usually ends in /v1) and model name"
        error = _Unsupported if status in UNSUPPORTED else ModelError
        refused = f" (it asked to wait {problem.retry_after_s:.0f} s: not waited)" if fault.wait_refused else ""
        return error(f"{name}: {shown} answered {status}: {problem.detail}{refused}", hint=hint)

    def _probe(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """An optional endpoint's JSON object (/props, /tokenize), or None when the server lacks it or
        answers anything else: these only refine what the required endpoints already give."""
        try:
            with as_faults(url=url):
                resp = raise_for_status(self._client.request(method, url, json=body, headers=self._headers), ANSWERED)
            reply: dict[str, Any] = json_reply(resp.content, dict)
        except HttpFault:
            return None
        return reply

    def _first_choice(self, data: dict[str, Any], what: str) -> dict[str, Any]:
        """The reply's first choice, or a ModelError naming what was wrong with the reply."""
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise _Malformed(
                f"profile {self._name!r}: the server's {what} reply has no usable 'choices' list", hint=_API_HINT
            )
        first: dict[str, Any] = choices[0]
        return first

    # ---- discovery ----------------------------------------------------------------------------------

    def _model_name(self) -> str:
        if self._model:
            return self._model
        models = self._call("GET", f"{self._base}/models").get("data") or []
        if not isinstance(models, list) or not models or not isinstance(models[0], dict):
            raise ConfigError(f"profile {self._name!r}: the server lists no models", hint="set the profile's model")
        self._model = str(models[0].get("id", ""))
        return self._model

    def check(self) -> ServerCheck:
        """Reach the server, find how it returns logprobs and the id of "True". Raises ModelError if down."""
        model = self._model_name()
        probe: list[Message] = [{"role": "user", "content": "Answer True or False: is 2 > 1?"}]
        mode: str | None = None
        for candidate in ("chat", "completions"):
            try:
                if self._first_token_logprobs(probe, candidate) is not None:
                    mode = candidate
                    break
            except _Unsupported:  # this way of asking is refused: try the next; anything else is an error
                continue
        self._score_mode = mode
        self._checked = True
        self._adopt_server_template()
        ids = self._tokenize("True")
        self._true_id = ids[0] if ids is not None and len(ids) == 1 else None
        message = (
            f"scores with {mode} logprobs" if mode else "returns no logprobs: usable as a Crawler, not as a Selector"
        )
        return ServerCheck(model=model, score_mode=mode, true_token_id=self._true_id, message=message)

    def _adopt_server_template(self) -> None:
        """Use the model's own chat template when the server publishes it (llama.cpp's `llama-server`
        answers GET /props with it), so prompts rendered here match the server's chat rendering."""
        root = self._base[: -len("/v1")] if self._base.endswith("/v1") else self._base
        props = self._probe("GET", f"{root}/props")
        template = props.get("chat_template") if props is not None else None
        if isinstance(template, str) and template.strip():
            try:
                self._template = ChatTemplate(template)
                self._template_from_server = True
            except TemplateError:  # a template our renderer cannot compile: keep ChatML
                return

    def _tokenize(self, text: str) -> list[int] | None:
        """Token ids from the server's tokenizer (llama.cpp's /extras/tokenize or vLLM's /tokenize)."""
        root = self._base[: -len("/v1")] if self._base.endswith("/v1") else self._base
        candidates: list[tuple[str, dict[str, Any]]] = [
            (f"{root}/extras/tokenize", {"input": text, "model": self._model}),
            (f"{root}/tokenize", {"prompt": text, "model": self._model, "add_special_tokens": False}),
        ]
        if isinstance(self._tokenize_url, str):
            candidates = [c for c in candidates if c[0] == self._tokenize_url]
        elif self._tokenize_url is False:
            return None
        for url, body in candidates:
            reply = self._probe("POST", url, body)
            tokens = reply.get("tokens") if reply is not None else None
            if isinstance(tokens, list):
                try:
                    ids = [int(t) for t in tokens]
                except (ValueError, TypeError):  # not token ids: treat as no tokenizer
                    continue
                self._tokenize_url = url
                return ids
        self._tokenize_url = False
        return None

    # ---- ChatModel ----------------------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self._name,
            backend="openai",
            chat_template=self._template_description(),
            true_token_id=self._true_id,
            context_tokens=self._context,
            supports_logprobs=self._score_mode is not None or not self._checked,
        )

    def _template_description(self) -> str:
        if self._score_mode != "completions":
            return "server's own (chat)"
        return "server's own (from /props)" if self._template_from_server else "chatml (local)"

    def count_tokens(self, text: str) -> int:
        ids = self._tokenize(text) if self._tokenize_url is not False else None
        if ids is not None:
            return len(ids)
        return math.ceil(len(text.encode("utf-8")) / 3)  # conservative: BPE averages ~4 bytes a token

    def _first_token_logprobs(self, messages: Sequence[Message], mode: str) -> dict[str, float] | None:
        """The top logprobs of the first generated token, or None when the server returned none."""
        if mode == "chat":
            body: dict[str, Any] = {
                "model": self._model,
                "messages": [dict(m) for m in messages],
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": True,
                "top_logprobs": TOP_LOGPROBS,
            }
            choice = self._first_choice(self._post("/chat/completions", body), "chat")
            try:
                content = ((choice.get("logprobs") or {}).get("content")) or []
                if not content or not content[0].get("top_logprobs"):
                    return None
                return {str(t["token"]): float(t["logprob"]) for t in content[0]["top_logprobs"]}
            except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
                raise self._malformed_logprobs() from exc
        body = {
            "model": self._model,
            "prompt": self._template.render(messages),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": TOP_LOGPROBS,
        }
        choice = self._first_choice(self._post("/completions", body), "completions")
        try:
            tops = ((choice.get("logprobs") or {}).get("top_logprobs")) or []
            if not tops or not tops[0]:
                return None
            return {str(k): float(v) for k, v in tops[0].items()}
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise self._malformed_logprobs() from exc

    def _malformed_logprobs(self) -> ModelError:
        return _Malformed(f"profile {self._name!r}: the server's logprobs are not in the OpenAI format", hint=_API_HINT)

    def _score_one(self, messages: Sequence[Message]) -> float:
        assert self._score_mode is not None
        tops = self._first_token_logprobs(messages, self._score_mode)
        if tops is None:
            raise ModelError(f"profile {self._name!r}: the server stopped returning logprobs", hint=_NO_LOGPROBS_HINT)
        return math.exp(tops["True"]) if "True" in tops else 0.0

    def true_probabilities(self, prompts: Sequence[Sequence[Message]]) -> list[float]:
        with self._lock:
            if not self._checked:
                self.check()
        if self._score_mode is None:
            raise ModelError(f"profile {self._name!r} cannot score papers", hint=_NO_LOGPROBS_HINT)
        if len(prompts) <= 1:
            return [self._score_one(p) for p in prompts]
        with ThreadPoolExecutor(max_workers=min(self._concurrency, len(prompts))) as pool:
            return list(pool.map(self._score_one, prompts))

    def reply(self, messages: Sequence[Message], options: Generation) -> str:
        max_tokens, temperature, seed, prefix = options
        model = self._model_name()
        sampling: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature, "top_p": 1.0}
        if seed is not None:
            sampling["seed"] = seed
        if not prefix:
            data = self._post(
                "/chat/completions", {"model": model, "messages": [dict(m) for m in messages], **sampling}
            )
            message = self._first_choice(data, "chat").get("message")
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                raise _Malformed(f"profile {self._name!r}: the server's reply has no message content")
            return content
        # A started assistant turn needs the raw prompt: render the template here and continue it.
        body = {"model": model, "prompt": self._template.render(messages) + prefix, **sampling}
        text = self._first_choice(self._post("/completions", body), "completions").get("text")
        if not isinstance(text, str):
            raise _Malformed(f"profile {self._name!r}: the server's reply has no completion text")
        return text

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
