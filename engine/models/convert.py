"""Hugging Face checkpoint → GGUF, for running a Qwen2 checkpoint (pasa-7b-*, or one trained in the
training panel) on CPU with llama.cpp.

Written with the `gguf` package's GGUFWriter, streaming one tensor at a time so a 7B checkpoint needs
about one tensor of memory, not the whole model. K-quants (q4_k_m …) are then made by llama.cpp's own
quantizer through llama-cpp-python. torch, safetensors and gguf are imported inside the functions.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, ModelError

# Architectures whose HF weights map onto llama.cpp tensors with no re-layout (Llama needs Q/K permutes).
SUPPORTED_ARCHITECTURES = {"Qwen2ForCausalLM": "qwen2"}
QUANT_TYPES = ("f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_k_s", "q5_0", "q4_k_m", "q4_k_s", "q4_0")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="point at a complete HF checkpoint") from exc
    return data


def _chat_template(hf_dir: Path, tok_config: dict[str, Any]) -> str | None:
    jinja = hf_dir / "chat_template.jinja"  # transformers ≥ 4.50 saves the template beside the config
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    template = tok_config.get("chat_template")
    if isinstance(template, list):  # named templates: keep the default one
        template = next((t.get("template") for t in template if t.get("name") == "default"), None)
    return template if isinstance(template, str) else None


def _weight_files(hf_dir: Path) -> list[Path]:
    files = sorted(hf_dir.glob("*.safetensors"))
    if not files:
        files = sorted(hf_dir.glob("pytorch_model*.bin"))
    if not files:
        raise ConfigError(
            f"no weights (*.safetensors or pytorch_model*.bin) in {hf_dir}",
            hint="point at the checkpoint directory that holds config.json and the weight files",
        )
    return files


Loader = Callable[[], Any]


def _identity(value: Any) -> Any:
    return value


def _open_tensors(files: list[Path], stack: ExitStack) -> list[tuple[str, Loader]]:
    """(name, loader) pairs; a loader reads its tensor (torch) only when called. Files stay open on `stack`."""
    import torch

    found: list[tuple[str, Loader]] = []
    for file in files:
        if file.suffix == ".safetensors":
            from safetensors import safe_open

            handle = stack.enter_context(safe_open(str(file), framework="pt"))
            found += [(name, partial(handle.get_tensor, name)) for name in handle.keys()]
        else:
            state = torch.load(str(file), map_location="cpu", mmap=True, weights_only=True)
            found += [(name, partial(_identity, tensor)) for name, tensor in state.items()]
    return found


def _target_dtype(quant: str | None, source_is_f32: bool) -> str:
    if quant in (None, ""):
        return "f32" if source_is_f32 else "f16"
    if quant in ("f32", "f16", "bf16"):
        return quant
    return "f16" if not source_is_f32 else "f32"  # the quantizer's input; f32 keeps every bit of a f32 model


def convert_to_gguf(hf_dir: Path, out_path: Path, quant: str | None = None) -> Path:
    """Write `hf_dir` (a Qwen2 checkpoint) as a GGUF at `out_path`.

    `quant`: None keeps the source precision (f32 stays f32, bf16/f16 become f16); f32, f16, bf16;
    or a llama.cpp quantization such as q8_0 or q4_k_m (written as f16/f32 first, then quantized).
    """
    quant = quant.lower() if quant else None
    if quant is not None and quant not in QUANT_TYPES:
        raise ConfigError(f"unknown quantization {quant!r}", hint="use one of " + ", ".join(QUANT_TYPES))
    hf_dir = Path(hf_dir)
    if not (hf_dir / "config.json").is_file():
        raise ConfigError(
            f"{hf_dir} is not a Hugging Face checkpoint (no config.json)",
            hint="point at the directory that holds config.json, the tokenizer and the weights",
        )
    config = _read_json(hf_dir / "config.json")
    arch = next((a for a in config.get("architectures", []) if a in SUPPORTED_ARCHITECTURES), None)
    if arch is None:
        raise ConfigError(
            f"architecture {config.get('architectures')} is not supported by the built-in converter",
            hint="PaSa checkpoints are Qwen2ForCausalLM; for others use llama.cpp's convert_hf_to_gguf.py",
        )
    if not (hf_dir / "tokenizer.json").is_file():
        raise ConfigError(f"{hf_dir} has no tokenizer.json", hint="save the tokenizer with the checkpoint")
    torch_dtype = str(config.get("dtype") or config.get("torch_dtype") or "float32")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    base_type = _target_dtype(quant, source_is_f32=torch_dtype == "float32")
    if quant in (None, "f32", "f16", "bf16"):
        _write_gguf(hf_dir, config, SUPPORTED_ARCHITECTURES[arch], out_path, base_type)
        return out_path
    assert quant is not None
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        base = Path(tmp) / "base.gguf"
        _write_gguf(hf_dir, config, SUPPORTED_ARCHITECTURES[arch], base, base_type)
        quantize_gguf(base, out_path, quant)
    return out_path


def _write_gguf(hf_dir: Path, config: dict[str, Any], arch: str, out_path: Path, dtype: str) -> None:
    import gguf

    n_layers = int(config["num_hidden_layers"])
    writer = gguf.GGUFWriter(str(out_path), arch)
    writer.add_name(hf_dir.name)
    writer.add_context_length(int(config.get("max_position_embeddings", 32768)))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_head_count_kv(int(config.get("num_key_value_heads", config["num_attention_heads"])))
    rope = config.get("rope_parameters") or {}
    writer.add_rope_freq_base(float(config.get("rope_theta") or rope.get("rope_theta") or 10000.0))
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    file_type = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16}.get(
        dtype, gguf.LlamaFileType.MOSTLY_BF16
    )
    writer.add_file_type(int(file_type))
    _add_tokenizer(writer, hf_dir, config)

    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, n_layers)
    with ExitStack() as stack:
        _write_tensors(writer, name_map, _open_tensors(_weight_files(hf_dir), stack), dtype)


def _write_tensors(writer: Any, name_map: Any, found: list[tuple[str, Loader]], dtype: str) -> None:
    import gguf
    import numpy as np
    import torch

    planned: list[tuple[str, Loader]] = []
    for hf_name, load in found:
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue  # recomputed by llama.cpp
        name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ModelError(f"cannot map tensor {hf_name!r} to GGUF", hint="is this a plain Qwen2 checkpoint?")
        planned.append((name, load))

    def as_array(tensor: Any) -> Any:
        # 1-D tensors (norms, biases) stay f32, as llama.cpp expects; matrices take the target type.
        if tensor.ndim <= 1 or dtype == "f32":
            return tensor.to(torch.float32).numpy()
        if dtype == "f16":
            return tensor.to(torch.float16).numpy()
        return tensor.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint8)

    # Two passes: tensor infos first (shapes only), then the data, one tensor in memory at a time.
    for name, load in planned:
        tensor = load()
        array = as_array(tensor)
        raw = gguf.GGMLQuantizationType.BF16 if array.dtype == np.uint8 else None
        # For bf16 (raw bytes) add_tensor_info derives the element shape from the byte shape.
        writer.add_tensor_info(name, list(array.shape), array.dtype, array.nbytes, raw_dtype=raw)
        del tensor, array
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _name, load in planned:
        writer.write_tensor_data(as_array(load()))
    writer.close()


def _add_tokenizer(writer: Any, hf_dir: Path, config: dict[str, Any]) -> None:
    import gguf

    tok = _read_json(hf_dir / "tokenizer.json")
    config_file = hf_dir / "tokenizer_config.json"
    tok_config = _read_json(config_file) if config_file.is_file() else {}
    model = tok.get("model", {})
    if model.get("type") != "BPE":
        raise ConfigError("only byte-level BPE tokenizers (Qwen2's) convert", hint="check tokenizer.json")
    vocab: dict[str, int] = dict(model["vocab"])
    special: dict[int, bool] = {}
    for added in tok.get("added_tokens", []):
        vocab[added["content"]] = int(added["id"])
        special[int(added["id"])] = bool(added.get("special", False))
    size = max(int(config.get("vocab_size", 0)), max(vocab.values()) + 1)
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [int(gguf.TokenType.UNUSED)] * size
    for text, idx in vocab.items():
        tokens[idx] = text
        if idx in special:
            types[idx] = int(gguf.TokenType.CONTROL if special[idx] else gguf.TokenType.USER_DEFINED)
        else:
            types[idx] = int(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)

    def token_id(value: Any) -> int | None:
        if isinstance(value, dict):
            value = value.get("content")
        return vocab.get(value) if isinstance(value, str) else None

    eos = token_id(tok_config.get("eos_token"))
    if eos is None and isinstance(config.get("eos_token_id"), int):
        eos = int(config["eos_token_id"])
    bos = config.get("bos_token_id")
    pad = token_id(tok_config.get("pad_token"))
    if isinstance(bos, int):
        writer.add_bos_token_id(bos)
    if eos is not None:
        writer.add_eos_token_id(eos)
    if pad is not None:
        writer.add_pad_token_id(pad)
    writer.add_add_bos_token(False)  # Qwen2 adds no BOS; the chat template starts with <|im_start|>
    template = _chat_template(hf_dir, tok_config)
    if template:
        writer.add_chat_template(template)


def quantize_gguf(source: Path, out_path: Path, quant: str) -> Path:
    """Quantize a f16/f32 GGUF with llama.cpp's own quantizer (k-quants need it)."""
    import gguf

    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigError("quantizing needs llama-cpp-python", hint="run scripts/setup.sh") from exc
    ftype = getattr(gguf.LlamaFileType, "MOSTLY_" + quant.upper(), None)
    if ftype is None:
        raise ConfigError(f"unknown quantization {quant!r}", hint="use one of " + ", ".join(QUANT_TYPES))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = int(ftype)
    params.nthread = os.cpu_count() or 1
    code = llama_cpp.llama_model_quantize(str(source).encode(), str(out_path).encode(), params)
    if code != 0 or not out_path.is_file():
        raise ModelError(f"llama.cpp failed to quantize {source.name} to {quant} (code {code})")
    return out_path
