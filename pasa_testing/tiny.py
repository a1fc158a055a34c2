"""A tiny random Qwen2 with a Qwen-style tokenizer and chat template, built locally in seconds.

Tests and demos need a real checkpoint of PaSa's model family (Qwen2 architecture, byte-level BPE
with Qwen2's pre-tokenizer, ChatML special tokens, a Jinja chat template) without downloading
anything: this builds one from scratch. Its weights are random, so its outputs mean nothing, but
every backend must agree on them, which is what the cross-backend tests check.

torch, transformers and tokenizers are imported inside the function: the engine never imports
them at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.agent.prompts import SEARCH_PROMPT, SELECTOR_PROMPT

# Qwen2's pre-tokenizer split pattern (as in Qwen2's tokenizer.json, and llama.cpp's "qwen2" pre-tokenizer).
QWEN2_PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

# Qwen2.5's template without its tool-calling branches: a default system message when none is given.
QWEN_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)

_WORDS = (
    "paper papers model models language large learning deep neural network networks transformer attention "
    "retrieval search query queries agent agents reinforcement policy reward graph vision image images text "
    "benchmark dataset datasets survey method methods training fine tuning evaluation results performance "
    "generation reasoning knowledge question answering summarization translation speech audio robot robotics "
    "optimization gradient diffusion contrastive representation embedding embeddings classification "
    "detection segmentation federated privacy adversarial robustness efficient sparse mixture experts "
    "scaling law"
).split()


def _training_text() -> list[str]:
    """A small corpus that makes PaSa's prompt words (and "True", " True", "False") single tokens."""
    texts = [SEARCH_PROMPT, SELECTOR_PROMPT] * 50
    texts += ["Decision: True\nReason: the paper matches.", "Decision: False\nReason: it does not."] * 200
    texts += ["True", "False", "[Search]", "[StopSearch]", "[Expand]", "[StopExpand]"] * 200
    for i, word in enumerate(_WORDS):
        other = _WORDS[(i * 7 + 3) % len(_WORDS)]
        line = f"Title: {word} {other}\nAbstract: We study {word} for {other}. [Search] {word} {other}\n"
        texts += [line] * 5
    texts.append("0123456789 .,;:!?()[]{}<>'\"-_/\\@#$%^&*+=~`|")
    return texts


def _train_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[ENDOFTEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_text(), trainer)
    return tok


# (user prompt, assistant reply) pairs the tiny model learns, in PaSa's formats.
TINY_QUERY = "graph neural networks for molecule property prediction"
TINY_EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        SEARCH_PROMPT.format(user_query=TINY_QUERY),
        "[Search] graph neural networks molecule\n[Search] molecular property prediction survey\n[StopSearch]",
    ),
    (
        SELECTOR_PROMPT.format(
            user_query=TINY_QUERY,
            title="Graph networks for molecules",
            abstract="We predict molecule properties.",
        ),
        "True\nReason: the paper matches.",
    ),
    (
        SELECTOR_PROMPT.format(
            user_query=TINY_QUERY, title="Speech translation", abstract="We translate speech audio to text."
        ),
        "False\nReason: it does not.",
    ),
)


def _fit(model: Any, tokenizer: Any, steps: int) -> None:
    """A few Adam steps on TINY_EXAMPLES (loss on the reply tokens only)."""
    import torch

    if steps <= 0:
        return
    rows = []
    for prompt, reply in TINY_EXAMPLES:
        head = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        p_ids = tokenizer.encode(head, add_special_tokens=False)
        r_ids = tokenizer.encode(reply + IM_END, add_special_tokens=False)
        ids = torch.tensor([p_ids + r_ids])
        labels = torch.tensor([[-100] * len(p_ids) + r_ids])
        rows.append((ids, labels))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        loss: Any = torch.stack([model(input_ids=ids, labels=labels).loss for ids, labels in rows]).sum()
        loss.backward()
        optimiser.step()


def build_tiny_qwen2(
    out_dir: Path,
    *,
    seed: int = 0,
    vocab_size: int = 1024,
    hidden_size: int = 64,
    layers: int = 2,
    init_std: float = 0.2,
    train_steps: int = 30,
) -> Path:
    """Build and save a tiny Qwen2 checkpoint (fp32 safetensors + tokenizer) into `out_dir`.

    The random model is then trained for `train_steps` Adam steps on a handful of PaSa-format
    examples (`TINY_EXAMPLES`): a purely random model spreads its probability thinly and emits
    partial UTF-8 bytes, which would make cross-backend comparisons of P("True") and of greedy
    outputs meaningless; the trained one answers these prompts with clear margins.
    Returns `out_dir`. Reload with `AutoModelForCausalLM.from_pretrained(out_dir)` offline.
    """
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out_dir.mkdir(parents=True, exist_ok=True)
    raw = _train_tokenizer(vocab_size)
    fast_class: Any = PreTrainedTokenizerFast
    tokenizer: Any = fast_class(
        tokenizer_object=raw,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        additional_special_tokens=[IM_START, IM_END],
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    for word in ("True", " True", "False"):
        ids = tokenizer.encode(word, add_special_tokens=False)
        if len(ids) != 1:  # the training text guarantees this; fail loudly if the trainer changes
            raise RuntimeError(f"tiny tokenizer splits {word!r} into {ids}")

    special_ids: dict[str, Any] = {
        "bos_token_id": tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        "eos_token_id": tokenizer.convert_tokens_to_ids(IM_END),
        "pad_token_id": tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        # transformers 4.x reads rope_theta; 5.x moved it into rope_parameters (and still accepts both).
        "rope_theta": 10000.0,
    }
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        initializer_range=init_std,
        **special_ids,
    )
    torch.manual_seed(seed)
    model_class: Any = Qwen2ForCausalLM
    model = model_class(config).float()
    _fit(model, tokenizer, train_steps)
    model.eval()
    model.generation_config.do_sample = False
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
