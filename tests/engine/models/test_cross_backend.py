"""The same tiny Qwen2 on all three backends gives the same P("True") and the same greedy Crawler output.

transformers reads the checkpoint, llama.cpp reads its GGUF conversion (fp32), and the OpenAI-compatible
backend talks to llama.cpp's own server on loopback serving that GGUF.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.agent.prompts import parse_search_queries, search_prompt, selector_prompt
from engine.models.base import ChatModel, Message, user_message
from engine.models.llamacpp import LlamaCppModel
from engine.models.openai_backend import OpenAICompatibleModel
from engine.models.profiles import ModelProfile, load_model
from engine.models.transformers_backend import TransformersModel
from pasa_testing.tiny import TINY_EXAMPLES, TINY_QUERY

# Builds the tiny model, its GGUF and a llama.cpp server once (~15 s of CPU): slow, but the point of the issue.
pytestmark = pytest.mark.slow

PROMPTS: list[list[Message]] = [user_message(p) for p, _ in TINY_EXAMPLES] + [
    user_message(selector_prompt(TINY_QUERY, "Molecular graphs", "Message passing for chemistry.")),
    user_message(selector_prompt("speech recognition", "Graph networks for molecules", "We predict.")),
    user_message("hello " * 30),
]


@pytest.fixture(scope="module")
def backends(tiny_hf: Path, tiny_gguf: Path, llama_server: str) -> Iterator[dict[str, ChatModel]]:
    models: dict[str, ChatModel] = {
        "transformers": load_model(ModelProfile(name="hf", kind="transformers", path=str(tiny_hf), batch_size=3)),
        "llama.cpp": load_model(ModelProfile(name="gguf", kind="gguf", path=str(tiny_gguf), context_tokens=2048)),
        "openai": load_model(ModelProfile(name="server", kind="openai", base_url=llama_server)),
    }
    yield models
    for model in models.values():
        model.close()


def test_backends_are_the_expected_classes(backends: dict[str, ChatModel]) -> None:
    assert isinstance(backends["transformers"], TransformersModel)
    assert isinstance(backends["llama.cpp"], LlamaCppModel)
    assert isinstance(backends["openai"], OpenAICompatibleModel)
    for model in backends.values():
        assert isinstance(model, ChatModel)


def test_same_chat_template_rendering(backends: dict[str, ChatModel]) -> None:
    hf = backends["transformers"]
    gguf = backends["llama.cpp"]
    assert isinstance(hf, TransformersModel) and isinstance(gguf, LlamaCppModel)
    for prompt in PROMPTS:
        assert hf.render(prompt) == gguf.render(prompt)
        assert gguf.render(prompt).startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
        assert hf._encode(prompt) == gguf._tokens(prompt)


def test_same_true_token(backends: dict[str, ChatModel]) -> None:
    openai = backends["openai"]
    assert isinstance(openai, OpenAICompatibleModel)
    assert openai.check().score_mode == "chat"
    ids = {name: m.info.true_token_id for name, m in backends.items()}
    assert len(set(ids.values())) == 1 and None not in ids.values(), ids


def test_same_p_true_on_every_backend(backends: dict[str, ChatModel]) -> None:
    scores = {name: model.true_probabilities(PROMPTS) for name, model in backends.items()}
    reference = scores["transformers"]
    # The prompts span confident and uncertain answers, so agreement is not trivially "all near 0".
    assert max(reference) > 0.9 and min(reference) < 0.01 and any(0.01 < p < 0.9 for p in reference)
    for name, values in scores.items():
        for got, want in zip(values, reference, strict=True):
            assert got == pytest.approx(want, abs=1e-3), (name, values, reference)


def test_batched_scoring_equals_one_by_one(backends: dict[str, ChatModel]) -> None:
    for name in ("transformers", "llama.cpp"):
        model = backends[name]
        batched = model.true_probabilities(PROMPTS)
        single = [model.true_probabilities([p])[0] for p in reversed(PROMPTS)][::-1]
        assert batched == pytest.approx(single, abs=1e-5), name


def test_same_greedy_crawler_output(backends: dict[str, ChatModel]) -> None:
    prompt = user_message(search_prompt(TINY_QUERY))
    outputs = {name: model.generate(prompt, max_tokens=48) for name, model in backends.items()}
    assert len(set(outputs.values())) == 1, outputs
    queries = parse_search_queries(outputs["transformers"], limit=5)
    assert queries == ["graph neural networks molecule", "molecular property prediction survey"]


def test_same_reason_after_a_started_reply(backends: dict[str, ChatModel]) -> None:
    prompt = user_message(TINY_EXAMPLES[1][0])
    outputs = {name: m.generate(prompt, max_tokens=16, prefix="True\nReason:") for name, m in backends.items()}
    assert set(outputs.values()) == {" the paper matches."}, outputs


def test_sampling_is_seeded(backends: dict[str, ChatModel]) -> None:
    prompt = user_message("hello " * 5)
    for name in ("transformers", "llama.cpp"):
        model = backends[name]
        a = model.generate(prompt, max_tokens=12, temperature=1.0, seed=7)
        b = model.generate(prompt, max_tokens=12, temperature=1.0, seed=7)
        assert a == b, name


def test_shared_prefix_scoring_matches_and_is_used(
    backends: dict[str, ChatModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Selector prompts for one query share instructions + query: transformers evaluates them once."""
    hf = backends["transformers"]
    assert isinstance(hf, TransformersModel)
    prompts = [
        user_message(selector_prompt(TINY_QUERY, f"Paper {i} on graphs", "We predict molecule properties. " * (i + 1)))
        for i in range(5)
    ]
    calls: list[int] = []
    real = hf._last_logits_shared
    monkeypatch.setattr(hf, "_last_logits_shared", lambda rows, shared: calls.append(shared) or real(rows, shared))
    batched = hf.true_probabilities(prompts)
    assert calls and calls[0] >= 32
    single = [hf.true_probabilities([p])[0] for p in prompts]
    assert batched == pytest.approx(single, abs=1e-5)
    assert batched == pytest.approx(backends["llama.cpp"].true_probabilities(prompts), abs=1e-3)
