"""HF checkpoint → GGUF: quantized output loads and agrees; unsupported input is refused clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.models.base import user_message
from engine.models.convert import convert_to_gguf
from engine.models.memory import gguf_metadata
from engine.models.profiles import ModelProfile, load_model
from pasa_testing.tiny import TINY_EXAMPLES


def test_metadata_carries_tokenizer_and_template(tiny_gguf: Path, tiny_hf: Path) -> None:
    meta = gguf_metadata(tiny_gguf)
    assert meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == "qwen2"
    assert meta["tokenizer.chat_template"] == (tiny_hf / "chat_template.jinja").read_text()
    assert meta["general.file_type"] == 0  # all f32


@pytest.mark.parametrize("quant", ["f16", "q8_0", "q4_k_m"])
def test_quantized_gguf_loads_and_keeps_the_decision(quant: str, tiny_hf: Path, tmp_path: Path) -> None:
    out = convert_to_gguf(tiny_hf, tmp_path / f"tiny-{quant}.gguf", quant=quant)
    model = load_model(ModelProfile(name=quant, kind="gguf", path=str(out), context_tokens=1024))
    try:
        yes, no = model.true_probabilities([user_message(TINY_EXAMPLES[1][0]), user_message(TINY_EXAMPLES[2][0])])
        assert yes > 0.5 > no
    finally:
        model.close()


def test_unsupported_architecture(tiny_hf: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "llama"
    shutil.copytree(tiny_hf, ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    config["architectures"] = ["MistralForCausalLM"]
    (ckpt / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="not supported") as err:
        convert_to_gguf(ckpt, tmp_path / "x.gguf")
    assert "convert_hf_to_gguf" in err.value.hint


def test_not_a_checkpoint_and_unknown_quant(tmp_path: Path, tiny_hf: Path) -> None:
    with pytest.raises(ConfigError, match=r"no config\.json"):
        convert_to_gguf(tmp_path, tmp_path / "x.gguf")
    with pytest.raises(ConfigError, match="unknown quantization"):
        convert_to_gguf(tiny_hf, tmp_path / "x.gguf", quant="q3_banana")
