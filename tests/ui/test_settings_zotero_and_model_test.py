"""Settings → Zotero (key and library in the OS keyring) and Settings → Test model (the self-check's AUC
and speed, in the background), offscreen."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest

from engine.models.profiles import ModelProfile
from engine.sources.keys import KEYRING_SERVICE
from pasa_desktop.cli.models import run_check
from pasa_desktop.gui_controller.services import AppServices
from pasa_desktop.settings import Settings, settings_file
from pasa_desktop.zotero import WebApiClient
from pasa_desktop.zotero.webapi import saved_credentials
from pasa_testing.scripted import ScriptedModel
from tests.pasa_desktop.zotero.fake_zotero import FakeZotero
from ui.model_test import ModelTestWidget
from ui.settings_dialog import SettingsDialog


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in memory: the app's keyring calls run unchanged."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    for var in ("ZOTERO_API_KEY", "ZOTERO_USER_ID", "ZOTERO_GROUP_ID"):
        monkeypatch.delenv(var, raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _save(dialog: SettingsDialog) -> None:
    """What File → Settings → Save does (ui/actions.py: apply_settings → services.update_settings)."""
    services = AppServices(Settings())
    try:
        services.update_settings(dialog.result_settings(), dialog.api_keys())
    finally:
        services.close()


def test_zotero_key_and_library_go_to_the_keyring_and_come_back(qtbot, memory_keyring: MemoryKeyring) -> None:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    zotero = dialog.zotero
    assert zotero.key.placeholderText() == "not set" and zotero.library_id.text() == ""
    zotero.key.setText("  secret-key ")
    zotero.library_id.setText("12x")
    assert "is a number" in zotero.problem() and "zotero_library" not in dialog.api_keys()
    zotero.library_id.setText("123")
    _save(dialog)
    assert memory_keyring.store[(KEYRING_SERVICE, "zotero")] == "secret-key"
    assert memory_keyring.store[(KEYRING_SERVICE, "zotero_library")] == "users/123"
    assert "secret-key" not in settings_file().read_text(encoding="utf-8")  # never in the settings file
    # Opened again: the key shows only as set, the library as saved.
    again = SettingsDialog(Settings())
    qtbot.addWidget(again)
    assert again.zotero.key.text() == "" and "key is set" in again.zotero.key.placeholderText()
    assert again.zotero.library_id.text() == "123" and again.zotero.library_kind.currentData() == "users"
    assert again.api_keys() == {}  # nothing typed: nothing rewritten
    # What `pasa zotero push --web` builds its client from reaches a (loopback) Zotero Web API.
    key, user_id, group_id = saved_credentials()
    assert (key, user_id, group_id) == ("secret-key", "123", None)
    with FakeZotero() as server, WebApiClient(key, user_id=user_id, base_url=server.url, sleep=lambda _s: None) as client:
        result = client.create_items([{"itemType": "preprint", "title": "Saved from Settings"}])
        assert list(result.created) == [0] and server.state.web_items[0]["title"] == "Saved from Settings"
    # A group library replaces the user library.
    again.zotero.library_kind.setCurrentIndex(1)
    again.zotero.library_id.setText("4567")
    _save(again)
    assert saved_credentials() == ("secret-key", None, "4567")


def test_environment_still_wins_over_the_keyring(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, "zotero", "stored")
    memory_keyring.set_password(KEYRING_SERVICE, "zotero_library", "groups/9")
    monkeypatch.setenv("ZOTERO_API_KEY", "from-env")
    monkeypatch.setenv("ZOTERO_USER_ID", "77")
    assert saved_credentials() == ("from-env", "77", None)


# ---- Test model ------------------------------------------------------------------------------------

CORPUS = [
    ("Graph neural networks for molecule property prediction", "We predict molecular properties with graph networks."),
    ("A survey of molecular property prediction", "A survey of methods for molecule property prediction."),
    ("Speech translation with transformers", "We translate speech audio to text with transformers."),
    ("Graph attention networks", "Attention on graphs for node classification and molecule graphs."),
    ("Message passing for quantum chemistry", "Neural message passing predicts molecule properties from graphs."),
    ("Robust speech recognition", "Speech recognition robust to noise with large transformers."),
    ("Contrastive learning of molecular graphs", "Self-supervised contrastive learning on molecular graph data."),
    ("End-to-end speech translation survey", "A survey of end-to-end speech translation models."),
]
QUERIES = [
    {"qid": "q1", "question": "graph neural networks that predict molecule properties",
     "answer": ["A survey of molecular property prediction", "Message passing for quantum chemistry"]},
    {"qid": "q2", "question": "speech translation models built on transformers",
     "answer": ["End-to-end speech translation survey"]},
    {"qid": "q3", "question": "contrastive self-supervised learning for molecular graphs",
     "answer": ["Contrastive learning of molecular graphs"]},
    {"qid": "q4", "question": "noise robust speech recognition", "answer": ["Robust speech recognition"]},
]


def _overlap(prompt: str) -> float:
    """A scripted Selector: the share of the question's words found in the paper (from PaSa's prompt)."""
    query = re.search(r"User Query: (.*?)\n", prompt)
    paper = re.search(r"Title: (.*?)\nUser Query", prompt, re.S)
    if not query or not paper:
        return 0.5
    words = set(re.findall(r"[a-z]+", query.group(1).lower()))
    found = set(re.findall(r"[a-z]+", paper.group(1).lower()))
    return round(len(words & found) / max(len(words), 1), 4)


@pytest.fixture
def labelled_setup(tmp_path: Path) -> tuple[Settings, Path]:
    from engine.sources.local_index import build_index

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i}", "title": t, "abstract": a, "year": 2020}) + "\n"
                              for i, (t, a) in enumerate(CORPUS)))
    build_index(corpus, tmp_path / "index.sqlite")
    queries = tmp_path / "dev.jsonl"
    queries.write_text("".join(json.dumps(q) + "\n" for q in QUERIES))
    settings = Settings.model_validate({"paths": {"index": str(tmp_path / "index.sqlite")}})
    return settings, queries


def _scripted_runner(delay_s: float = 0.0):  # type: ignore[no-untyped-def]
    """The window's runner with the model loader swapped for a scripted Selector (the rest is run_check)."""

    def runner(settings: Settings, profile: ModelProfile, pairs: int, queries: Path | None):  # type: ignore[no-untyped-def]
        model = ScriptedModel(["[Search] graph networks [Search] molecules [StopSearch]"], _overlap,
                              name="scripted", delay_s=delay_s)
        return run_check(settings, profile, pairs=pairs, queries=queries, load=lambda _p: model)

    return runner


def test_test_model_shows_auc_and_speed_without_freezing(qtbot, labelled_setup: tuple[Settings, Path]) -> None:  # type: ignore[no-untyped-def]
    settings, queries = labelled_setup
    widget = ModelTestWidget(lambda: settings, lambda: [ModelProfile()], default="embedded", runner=_scripted_runner(0.3))
    qtbot.addWidget(widget)
    assert {widget.profile.itemText(i) for i in range(widget.profile.count())} >= {"embedded", "relevance"}
    widget.questions.setText(str(queries))
    widget.pairs.setValue(12)
    started = time.perf_counter()
    with qtbot.waitSignal(widget.finished, timeout=60_000) as blocker:
        widget.button.click()
        assert time.perf_counter() - started < 0.2  # the click returns at once: the check runs in a thread
        assert widget.running and not widget.button.isEnabled() and widget.button.text() == "Testing…"
    report, ok = blocker.args
    assert ok and report["pairs"]["pairs"] > 0
    text = widget.result.text()
    auc = report["pairs"]["auc"]
    assert f"AUC {auc:.3f}" in text and "papers/s" in text and "dev.jsonl" in text
    assert auc > 0.5  # the word-overlap Selector ranks the gold papers above BM25's other hits
    assert "2/2 decisions right at P > 0.5" in text and "2 search queries parsed" in text
    assert widget.button.isEnabled() and widget.button.text() == "Test model"


def test_test_model_says_plainly_when_there_is_no_index(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.model_validate({"paths": {"index": str(tmp_path / "missing.sqlite")}})
    widget = ModelTestWidget(lambda: settings, lambda: [ModelProfile()], runner=_scripted_runner())
    qtbot.addWidget(widget)
    widget.questions.setText(str(tmp_path / "dev.jsonl"))
    with qtbot.waitSignal(widget.finished, timeout=30_000) as blocker:
        widget.start()
    report, ok = blocker.args
    assert ok and "pairs" not in report  # the example calls ran; no pairs without an index
    text = widget.result.text()
    assert "No AUC" in text and "there is none at" in text
    assert str(tmp_path / "missing.sqlite") in text and "pasa index build" in text
    assert "Selector" in text  # the example calls' figures are still shown


def test_a_model_that_fails_to_load_is_reported(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The real runner on a GGUF profile whose file is missing: the error, not a frozen or silent window."""
    settings = Settings.model_validate({"paths": {"index": str(tmp_path / "missing.sqlite")}})
    broken = ModelProfile(name="broken", kind="gguf", path=str(tmp_path / "nothing.gguf"))
    widget = ModelTestWidget(lambda: settings, lambda: [broken], default="broken")
    qtbot.addWidget(widget)
    widget.pairs.setValue(0)
    with qtbot.waitSignal(widget.finished, timeout=30_000) as blocker:
        widget.start()
    assert isinstance(blocker.args[0], Exception) and blocker.args[1] is False
    assert "The test failed" in widget.result.text() and "nothing.gguf" in widget.result.text()


def test_settings_dialog_has_the_zotero_and_test_model_tabs(qtbot, memory_keyring: MemoryKeyring) -> None:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    names = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert "Zotero" in names and "Test model" in names
    # The profile list of the Models tab reaches the test tab, edits included.
    dialog.p_name.setText("renamed")
    dialog.model_test.refresh_profiles()
    assert dialog.model_test.profile.findText("renamed") >= 0


def test_saving_settings_keeps_the_default_relevance_selector(qtbot, memory_keyring: MemoryKeyring) -> None:  # type: ignore[no-untyped-def]
    """Opening Settings and pressing Save used to switch the Selector to `embedded`: the built-in
    `relevance` profile was not in the picker. The Crawler is not offered the Selector-only model."""
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.result_settings().selector_profile == "relevance"
    assert dialog.crawler.findText("relevance") < 0 and dialog.selector.findText("embedded") >= 0
