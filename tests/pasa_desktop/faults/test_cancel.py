"""Ctrl-C stops a search within a second: the search loop returns at once, and closing the llama.cpp
model (what the CLI does next) stops the prompt its worker thread is still evaluating instead of
waiting for it (seconds per prompt on a busy CPU)."""

from __future__ import annotations

import threading
import time

from engine.models.base import user_message
from engine.models.llamacpp import LlamaCppModel
from engine.models.profiles import ModelProfile, load_model


def test_closing_the_model_stops_the_prompt_being_evaluated() -> None:
    model = load_model(ModelProfile())  # the packaged SmolLM2 GGUF
    assert isinstance(model, LlamaCppModel)
    prompts = [user_message("coded computation against stragglers " * 150 + str(i)) for i in range(6)]
    outcome: list[str] = []

    def score() -> None:
        try:
            model.true_probabilities(prompts)
            outcome.append("finished")
        except Exception as exc:  # the aborted evaluation's error is the expected outcome
            outcome.append(type(exc).__name__)

    worker = threading.Thread(target=score, daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while not model._lock.locked() and time.monotonic() < deadline:  # scoring has started
        time.sleep(0.01)
    time.sleep(0.3)
    start = time.monotonic()
    model.close()
    took = time.monotonic() - start
    worker.join(5)
    assert not worker.is_alive() and outcome and outcome != ["finished"]
    assert took < 1.0, f"close waited {took:.2f} s for the prompt"
