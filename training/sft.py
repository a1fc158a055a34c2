"""Supervised fine-tuning of a Crawler or Selector with TRL's SFTTrainer (full weights or LoRA via peft).

Rows are PaSa's `{"messages": [user, assistant]}`; they are given to TRL as conversational
prompt/completion pairs, so the loss covers the assistant's tokens only (TRL's completion-only loss),
whatever the model's chat template. PaSa's defaults: lr 1e-5, 1 epoch, bf16 on CUDA, max length 1024.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.errors import InputError
from training.config import JobConfig
from training.data import DataReport, read_sft_rows
from training.faults import TrainingStopped
from training.metrics import CHECKPOINTS_DIR, MetricsWriter, gpu_memory_gb


@contextlib.contextmanager
def library_deprecations() -> Iterator[None]:
    """TRL and peft still use transformers 5's deprecated `gradient_checkpointing` names: not our warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(gradient|activation)_checkpointing.*", category=FutureWarning)
        yield


def pick_dtype(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() else torch.float32
    try:
        return {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float32": torch.float32, "fp32": torch.float32,
                "float16": torch.float16, "fp16": torch.float16}[name]
    except KeyError as exc:
        raise InputError(f"unknown dtype {name!r}", hint="use auto, bfloat16 or float32") from exc


def load_causal_lm(config: JobConfig, dtype: Any) -> tuple[Any, Any]:
    """(tokenizer, model) from [model] path, on CUDA when there is one (unless smoke mode)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = config.resolve(config.model.path)
    if not path.is_dir():
        raise InputError(f"model checkpoint not found: {path}", hint="set [model] path to a transformers directory")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        # Any: transformers types `.to` through a decorator wrapper that mypy reads as taking a model, and
        # leaves gradient_checkpointing_enable unannotated.
        model: Any = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load {path}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if torch.cuda.is_available() and not config.job.smoke:
        model = model.to("cuda")
    if config.model.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return tokenizer, model


def to_prompt_completion(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages rows as TRL conversational prompt/completion rows (loss on the completion only)."""
    return [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]


def _metrics_callback(metrics: MetricsWriter) -> Any:
    from transformers import TrainerCallback

    class MetricsCallback(TrainerCallback):
        """Writes each logged step to the metrics stream; a NaN loss stops the run with a clear message."""

        def __init__(self) -> None:
            self.last_time = time.monotonic()
            self.last_tokens = 0

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            logs = logs or {}
            if "train_loss" in logs:  # the end-of-training summary, not a step
                metrics.event("summary", f"trained {state.global_step} steps in {logs['train_runtime']:.0f} s",
                              train_loss=logs.get("train_loss"))
                return
            now = time.monotonic()
            tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
            rate = (tokens - self.last_tokens) / max(now - self.last_time, 1e-6) if tokens else None
            self.last_time, self.last_tokens = now, tokens
            loss = logs.get("loss")
            metrics.write(
                step=state.global_step,
                loss=loss,
                eval_loss=logs.get("eval_loss"),
                lr=logs.get("learning_rate"),
                grad_norm=logs.get("grad_norm"),
                epoch=logs.get("epoch"),
                gpu_mem=gpu_memory_gb(),
                tokens_per_s=round(rate, 1) if rate else None,
            )
            grad = logs.get("grad_norm")
            bad = next((v for v in (loss, grad) if isinstance(v, float) and not math.isfinite(v)), None)
            if bad is not None:
                what = "loss" if bad is loss else "gradient norm"
                raise TrainingStopped(
                    f"{what} became {bad} at step {state.global_step}: stopping (lower the learning rate or check "
                    "the data); checkpoints written so far are intact"
                )

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            metrics.event("checkpoint", f"saved checkpoint-{state.global_step}", step=state.global_step)

    return MetricsCallback()


def run_sft(config: JobConfig, metrics: MetricsWriter) -> Path:
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer  # type: ignore[attr-defined]  # trl's lazy module lists no exports

    smoke = config.job.smoke
    report = DataReport()
    rows = read_sft_rows(config.resolve(config.data.train), report)
    for message in report.skipped:
        metrics.event("skipped_row", message)
    if not rows:
        raise InputError(f"no usable SFT rows in {config.data.train}", hint="build them with `pasa train data`")
    metrics.event("data", f"{len(rows)} rows, {len(report.skipped)} skipped", rows=len(rows))
    eval_rows = read_sft_rows(config.resolve(config.data.eval)) if config.data.eval else []
    dtype = pick_dtype("float32" if smoke else config.model.dtype)
    tokenizer, model = load_causal_lm(config, dtype)
    peft_config = None
    if config.model.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=config.model.lora_r,
            lora_alpha=config.model.lora_alpha,
            lora_dropout=config.model.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    out = config.output_path
    cuda = torch.cuda.is_available() and not smoke
    with library_deprecations():
        args = _sft_args(SFTConfig, config, out, cuda, dtype == torch.bfloat16, bool(eval_rows))
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(to_prompt_completion(rows)),
            eval_dataset=Dataset.from_list(to_prompt_completion(eval_rows)) if eval_rows else None,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[_metrics_callback(metrics)],
        )
        trainer.train()
    final = out / CHECKPOINTS_DIR / "final"
    tmp = final.with_name("final.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    metrics.event("checkpoint", f"saved {final}", path=str(final), step=trainer.state.global_step)
    return final


def _sft_args(cls: Any, config: JobConfig, out: Path, cuda: bool, bf16: bool, has_eval: bool) -> Any:
    opts = config.sft
    smoke = config.job.smoke
    return cls(
        output_dir=str(out / CHECKPOINTS_DIR),
        learning_rate=opts.learning_rate,
        num_train_epochs=opts.epochs,
        max_steps=2 if smoke else opts.max_steps,
        max_length=opts.max_length,
        per_device_train_batch_size=1 if smoke else opts.batch_size,
        gradient_accumulation_steps=1 if smoke else opts.grad_accum,
        warmup_steps=opts.warmup_ratio,  # transformers 5: a float < 1 is a fraction of the steps
        logging_steps=1 if smoke else opts.logging_steps,
        save_steps=opts.save_steps,
        save_strategy="steps",
        bf16=cuda and bf16,
        use_cpu=not cuda,
        report_to="none",
        seed=config.job.seed,
        completion_only_loss=True,
        logging_nan_inf_filter=False,  # a NaN loss must be seen (and stop the job), not averaged away
        include_num_input_tokens_seen="all",
        disable_tqdm=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=opts.save_steps if has_eval else None,
    )
