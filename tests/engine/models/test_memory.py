"""Memory-fit estimates from GGUF headers and checkpoint files, and the refusal with the numbers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.models.memory import (
    GIB,
    ensure_fits,
    estimate_gguf,
    estimate_profile,
    gguf_metadata,
)
from engine.models.profiles import ModelProfile


def _fake_qwen25_7b_q4km(path: Path) -> Path:
    """A GGUF with Qwen2.5-7B's header and the size of its Q4_K_M file (sparse: no disk used)."""
    gguf = pytest.importorskip("gguf")
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_block_count(28)
    writer.add_embedding_length(3584)
    writer.add_head_count(28)
    writer.add_head_count_kv(4)
    writer.add_context_length(32768)
    writer.add_token_list(["a", "b"])  # an array, which the reader must skip
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    os.truncate(path, 4_683_073_504)  # pasa-7b / Qwen2.5-7B-Instruct Q4_K_M size in bytes
    return path


def test_gguf_header_of_the_tiny_model(tiny_gguf: Path) -> None:
    meta = gguf_metadata(tiny_gguf)
    assert meta["general.architecture"] == "qwen2"
    assert meta["qwen2.block_count"] == 2 and meta["qwen2.attention.head_count_kv"] == 2
    estimate = estimate_gguf(tiny_gguf, context_tokens=1000)
    assert estimate.weights_bytes == tiny_gguf.stat().st_size
    assert estimate.kv_cache_bytes == 2 * 2 * 1000 * 2 * 16 * 2  # K+V, layers, ctx, kv heads, head dim, f16


def test_two_7b_q4km_models_fit_in_12_gb(tmp_path: Path) -> None:
    path = _fake_qwen25_7b_q4km(tmp_path / "pasa-7b-q4_k_m.gguf")
    crawler = ModelProfile(name="crawler-7b", kind="gguf", path=str(path), context_tokens=4096)
    selector = ModelProfile(name="selector-7b", kind="gguf", path=str(path), context_tokens=4096)
    estimates = ensure_fits([crawler, selector], available_bytes=64 * GIB)
    total = sum(e.total_bytes for e in estimates)
    assert total < 12 * 10**9, total
    # KV cache of Qwen2.5-7B: 2 x 28 layers x 4096 x 4 KV heads x 128 x 2 bytes = 224 MiB
    assert estimates[0].kv_cache_bytes == 2 * 28 * 4096 * 4 * 128 * 2


def test_refusal_names_profiles_and_numbers(tmp_path: Path) -> None:
    path = _fake_qwen25_7b_q4km(tmp_path / "big.gguf")
    profiles = [
        ModelProfile(name="crawler-7b", kind="gguf", path=str(path)),
        ModelProfile(name="selector-7b", kind="gguf", path=str(path)),
    ]
    with pytest.raises(ConfigError) as err:
        ensure_fits(profiles, available_bytes=8 * GIB)
    text = str(err.value)
    assert "need 9.9 GiB but 8.0 GiB is available" in text
    assert "crawler-7b" in text and "selector-7b" in text
    assert "q4_k_m" in err.value.hint
    # One profile used for both roles counts once.
    ensure_fits([profiles[0], profiles[0]], available_bytes=8 * GIB)


def test_server_profiles_and_missing_files_take_no_local_memory(tmp_path: Path) -> None:
    assert estimate_profile(ModelProfile(name="s", kind="openai", base_url="http://x/v1")) is None
    assert estimate_profile(ModelProfile(name="g", kind="gguf", path=str(tmp_path / "none.gguf"))) is None


def test_transformers_estimate_uses_the_run_dtype(tiny_hf: Path) -> None:
    fp32 = estimate_profile(ModelProfile(name="t", kind="transformers", path=str(tiny_hf), dtype="float32"))
    bf16 = estimate_profile(ModelProfile(name="t", kind="transformers", path=str(tiny_hf), dtype="bfloat16"))
    assert fp32 is not None and bf16 is not None
    on_disk = (tiny_hf / "model.safetensors").stat().st_size
    assert fp32.weights_bytes == on_disk and bf16.weights_bytes == on_disk // 2
