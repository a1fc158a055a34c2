"""Bad input and faults: wrong paths and formats, no chat template, servers that are down, slow,
failing or without logprobs, and abstracts too long for the context. Each gives a clear error naming
the profile and the fix, or (for long abstracts) a truncated prompt, never a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.agent.prompts import search_prompt, selector_prompt
from engine.agent.selector import Selector
from engine.errors import ConfigError, ModelError
from engine.models.base import user_message
from engine.models.openai_backend import OpenAICompatibleModel
from engine.models.profiles import ModelProfile, load_model
from engine.papers import Paper
from pasa_testing.tiny import TINY_EXAMPLES, TINY_QUERY
from tests.engine.models.conftest import FakeServer, free_port


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# ---- llama.cpp ----------------------------------------------------------------------------------------


def test_gguf_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as err:
        load_model(ModelProfile(name="cpu", kind="gguf", path=str(tmp_path / "nope.gguf")))
    assert "path" in err.value.hint


def test_gguf_wrong_format(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_text("this is a text file, not a model")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        load_model(ModelProfile(name="cpu", kind="gguf", path=str(bogus)))


def test_gguf_truncated(tmp_path: Path, tiny_gguf: Path) -> None:
    cut = tmp_path / "cut.gguf"
    data = tiny_gguf.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises((ModelError, ConfigError)) as err:
        load_model(ModelProfile(name="cpu", kind="gguf", path=str(cut)))
    assert "cut.gguf" in str(err.value)


def test_gguf_refused_when_memory_is_short(tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.models import memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 256 * 1024**2)
    with pytest.raises(ConfigError, match=r"not enough memory: .* GiB") as err:
        load_model(ModelProfile(name="small-box", kind="gguf", path=str(tiny_gguf)))
    assert "small-box" in str(err.value) and "q4_k_m" in err.value.hint


def test_prompt_over_the_context_is_a_clear_error(tiny_gguf: Path) -> None:
    model = load_model(ModelProfile(name="cpu", kind="gguf", path=str(tiny_gguf), context_tokens=256))
    try:
        with pytest.raises(ModelError, match="does not fit"):
            model.true_probabilities([user_message("word " * 2000)])
    finally:
        model.close()


@pytest.mark.parametrize("kind", ["gguf", "transformers"])
def test_huge_abstract_is_truncated_never_a_crash(kind: str, tiny_gguf: Path, tiny_hf: Path) -> None:
    path = tiny_gguf if kind == "gguf" else tiny_hf
    model = load_model(ModelProfile(name=kind, kind=kind, path=str(path), context_tokens=384))  # type: ignore[arg-type]
    try:
        selector = Selector(model, abstract_chars=20000)
        paper = Paper(id="p", title="A paper", abstract="graph molecule property " * 4000)
        prompt = selector.prompt(TINY_QUERY, paper)
        assert model.count_tokens(prompt[0]["content"]) < 384
        [score] = selector.score(TINY_QUERY, [paper])
        assert 0.0 <= score <= 1.0
    finally:
        model.close()


# ---- transformers -------------------------------------------------------------------------------------


def test_transformers_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'gpu-box'.*not found") as err:
        load_model(ModelProfile(name="gpu-box", kind="transformers", path=str(tmp_path / "nope")))
    assert "checkpoint directory" in err.value.hint


def test_transformers_dir_without_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no config\.json"):
        load_model(ModelProfile(name="gpu-box", kind="transformers", path=str(tmp_path)))


def test_transformers_no_chat_template(tmp_path: Path, tiny_hf: Path) -> None:
    ckpt = _copy(tiny_hf, tmp_path / "ckpt")
    (ckpt / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((ckpt / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (ckpt / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="no chat template") as err:
        load_model(ModelProfile(name="bare", kind="transformers", path=str(ckpt)))
    assert "chat_template" in err.value.hint


def test_transformers_corrupt_weights(tmp_path: Path, tiny_hf: Path) -> None:
    ckpt = _copy(tiny_hf, tmp_path / "ckpt")
    (ckpt / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="cannot load the model") as err:
        load_model(ModelProfile(name="broken", kind="transformers", path=str(ckpt)))
    assert "broken" in str(err.value)


def test_transformers_greedy_ignores_sampling_defaults_of_the_checkpoint(tmp_path: Path, tiny_hf: Path) -> None:
    # Qwen2.5's generation_config.json samples; greedy decoding must not pick that up.
    ckpt = _copy(tiny_hf, tmp_path / "ckpt")
    gen = json.loads((ckpt / "generation_config.json").read_text())
    gen.update({"do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05})
    (ckpt / "generation_config.json").write_text(json.dumps(gen))
    model = load_model(ModelProfile(name="qwen-like", kind="transformers", path=str(ckpt)))
    try:
        out = model.generate(user_message(search_prompt(TINY_QUERY)), max_tokens=48)
        assert out == TINY_EXAMPLES[0][1]
    finally:
        model.close()


# ---- OpenAI-compatible server ------------------------------------------------------------------------


def _chat_reply(logprobs: dict[str, float] | None, content: str = "True") -> dict[str, Any]:
    # The shape vLLM and llama.cpp's server return for chat completions with logprobs.
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": "length",
    }
    if logprobs is not None:
        tops = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in logprobs.items()]
        choice["logprobs"] = {
            "content": [{"token": tops[0]["token"], "logprob": tops[0]["logprob"], "top_logprobs": tops}]
        }
    else:
        choice["logprobs"] = None
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": [choice]}


def _completion_reply(text: str = "True") -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "model": "m",
        "choices": [{"index": 0, "text": text, "logprobs": None}],
    }


def _profile(base_url: str, **extra: Any) -> ModelProfile:
    return ModelProfile(name="lab-server", kind="openai", base_url=base_url, model="m", **extra)


def test_openai_profile_settings_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no base_url"):
        load_model(ModelProfile(name="s", kind="openai"))
    with pytest.raises(ConfigError, match="not an http"):
        load_model(ModelProfile(name="s", kind="openai", base_url="localhost:8000"))
    monkeypatch.delenv("PASA_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="PASA_TEST_KEY"):
        load_model(ModelProfile(name="s", kind="openai", base_url="http://127.0.0.1:1/v1", api_key_env="PASA_TEST_KEY"))


def test_openai_server_down() -> None:
    model = load_model(_profile(f"http://127.0.0.1:{free_port()}/v1"))
    with pytest.raises(ModelError, match="'lab-server': cannot reach") as err:
        model.true_probabilities([user_message("x")])
    assert "start the server" in err.value.hint
    with pytest.raises(ModelError, match="cannot reach"):
        model.generate(user_message("x"))
    model.close()


def test_openai_server_500_after_one_retry() -> None:
    with FakeServer(lambda path, body: (500, {"error": "CUDA error: out of memory"})) as server:
        model = load_model(_profile(server.base_url))
        with pytest.raises(ModelError, match=r"'lab-server'.*answered 500.*out of memory"):
            model.generate(user_message("x"))
        assert len(server.requests) == 2
        model.close()


def test_openai_transient_500_is_retried() -> None:
    calls = {"n": 0}

    def handler(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        calls["n"] += 1
        return (503, "busy") if calls["n"] == 1 else (200, _chat_reply(None, content="[Search] a\n[StopSearch]"))

    with FakeServer(handler) as server:
        model = load_model(_profile(server.base_url))
        assert model.generate(user_message("x")) == "[Search] a\n[StopSearch]"
        model.close()


def test_openai_server_slow() -> None:
    with FakeServer(lambda path, body: (200, _chat_reply({"True": -0.1})), delay_s=1.5) as server:
        model = load_model(_profile(server.base_url, timeout_s=0.3))
        with pytest.raises(ModelError, match=r"did not answer within 0.3 s") as err:
            model.generate(user_message("x"))
        assert "timeout_s" in err.value.hint
        model.close()


def test_openai_bad_key() -> None:
    with FakeServer(lambda path, body: (401, {"error": "invalid api key"})) as server:
        model = load_model(_profile(server.base_url))
        with pytest.raises(ConfigError, match="rejected the API key"):
            model.generate(user_message("x"))
        model.close()


def test_openai_no_logprobs_is_said_up_front() -> None:
    def handler(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if path.endswith("/chat/completions"):
            return 200, _chat_reply(None, content="[Search] q\n[StopSearch]")
        if path.endswith("/completions"):
            return 200, _completion_reply()
        return 404, {"error": "not found"}

    with FakeServer(handler) as server:
        model = load_model(_profile(server.base_url))
        assert isinstance(model, OpenAICompatibleModel)
        found = model.check()
        assert found.score_mode is None and "no logprobs" in found.message
        assert model.info.supports_logprobs is False
        with pytest.raises(ModelError, match="cannot score") as err:
            model.true_probabilities([user_message("x")])
        assert "logprobs" in err.value.hint
        assert model.generate(user_message("x")) == "[Search] q\n[StopSearch]"  # still a Crawler
        model.close()


def test_openai_scores_from_recorded_logprobs() -> None:
    def handler(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        text = json.dumps(body)
        if "paper A" in text:
            return 200, _chat_reply({"True": -0.2, "False": -1.8})
        return 200, _chat_reply({"False": -0.05, "Yes": -3.5})  # "True" not in the top: below the listed ones

    with FakeServer(handler) as server:
        model = load_model(_profile(server.base_url, batch_size=4))
        prompts = [user_message(selector_prompt("q", f"paper {c}", "abs")) for c in "ABAB"]
        scores = model.true_probabilities(prompts)
        assert scores == pytest.approx([0.8187307, 0.0, 0.8187307, 0.0], abs=1e-6)
        sent = [body for path, body in server.requests if path.endswith("/chat/completions")][-1]
        assert sent["max_tokens"] == 1 and sent["logprobs"] is True and sent["top_logprobs"] == 20
        model.close()


def test_transformers_halves_the_batch_on_gpu_out_of_memory(tiny_hf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from engine.models.transformers_backend import TransformersModel

    model = load_model(ModelProfile(name="gpu", kind="transformers", path=str(tiny_hf), batch_size=8))
    assert isinstance(model, TransformersModel)
    prompts = [user_message(p) for p, _ in TINY_EXAMPLES] * 3
    expected = model.true_probabilities(prompts)
    real = model._last_logits
    sizes: list[int] = []

    def tight_memory(rows: list[list[int]]) -> Any:
        sizes.append(len(rows))
        if len(rows) > 2:  # as CUDA would: a batch of more than two prompts does not fit
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(rows)

    monkeypatch.setattr(model, "_last_logits", tight_memory)
    assert model.true_probabilities(prompts) == pytest.approx(expected, abs=1e-6)
    assert max(s for s in sizes if s <= 2) == 2 and 8 in sizes
    monkeypatch.setattr(model, "_last_logits", lambda rows: (_ for _ in ()).throw(torch.cuda.OutOfMemoryError("oom")))
    with pytest.raises(ModelError, match="out of GPU memory") as err:
        model.true_probabilities(prompts[:1])
    assert "context_tokens" in err.value.hint
    model.close()


def test_openai_adopts_the_template_a_server_publishes() -> None:
    template = "{% for m in messages %}<<{{ m['role'] }}|{{ m['content'] }}>>{% endfor %}<<assistant|"

    def handler(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if path == "/props":  # llama.cpp's llama-server
            return 200, {"chat_template": template}
        if path.endswith("/chat/completions"):
            return 200, _chat_reply({"True": -0.5})
        return 200, _completion_reply(" the paper matches.")

    with FakeServer(handler) as server:
        model = load_model(_profile(server.base_url))
        assert isinstance(model, OpenAICompatibleModel)
        model.check()
        assert model.generate(user_message("Q"), prefix="True\nReason:") == " the paper matches."
        sent = [body for path, body in server.requests if path == "/v1/completions"][-1]
        assert sent["prompt"] == "<<user|Q>><<assistant|True\nReason:"
        model.close()
