"""The first-run wizard, offscreen: defaults, every page skippable, an index built with progress, keys to a keyring."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QWizard

from pasa_desktop.settings import Settings, load_settings, settings_file
from ui.first_run import FirstRunWizard, first_run_if_needed, save_choices

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ROWS = [
    {"id": "p1", "title": "Coded computation against stragglers in distributed gradient descent",
     "abstract": "Gradient coding tolerates slow workers.", "authors": ["A. Author"], "year": 2017},
    {"id": "p2", "title": "Attention is all you need", "abstract": "Transformers.", "year": 2017},
    {"id": "p3", "title": "Deep residual learning for image recognition", "abstract": "ResNets.", "year": 2016},
]


def corpus(tmp_path: Path, rows: list[dict[str, object]] = ROWS) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n", encoding="utf-8")
    return path


def make_wizard(qtbot) -> FirstRunWizard:  # type: ignore[no-untyped-def]
    wizard = FirstRunWizard(Settings())
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def test_next_next_start_keeps_the_defaults(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = make_wizard(qtbot)
    for _ in range(2):
        wizard.next()
    assert wizard.currentPage() is wizard.model_page
    assert wizard.validateCurrentPage()
    settings, problems = save_choices(wizard, True, store_key=lambda n, k: None, path=tmp_path / "s.json")
    assert problems == []
    assert settings.paths.library == ""  # follows the data dir
    assert settings.sources.enabled == ["local"]
    # The embedded choice keeps the default Selector: the relevance model the app trains on first use.
    assert (settings.crawler_profile, settings.selector_profile) == ("embedded", "relevance")
    assert load_settings(tmp_path / "s.json") == settings


def test_use_defaults_and_cancel_both_mark_the_first_run_done(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = make_wizard(qtbot)
    wizard.library_page.path.setText(str(tmp_path / "elsewhere.sqlite"))
    wizard.button(QWizard.WizardButton.CustomButton1).click()  # "Use defaults"
    assert wizard.result() == 1 and wizard.used_defaults
    settings, _ = save_choices(wizard, True, path=tmp_path / "a.json")
    assert settings.paths.library == ""
    cancelled = make_wizard(qtbot)
    cancelled.library_page.path.setText(str(tmp_path / "x.sqlite"))
    settings, _ = save_choices(cancelled, False, path=tmp_path / "b.json")
    assert settings == Settings() and (tmp_path / "b.json").exists()


def test_choices_are_saved_and_keys_go_to_the_keyring(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = make_wizard(qtbot)
    wizard.library_page.path.setText(str(tmp_path / "papers" / "lib.sqlite"))
    wizard.next()
    page = wizard.sources_page
    page.checks["arxiv"].setChecked(True)
    page.checks["serper"].setChecked(True)
    page.keys["serper"].setText("  sk-serper-123 ")
    page.keys["openalex"].setText("unused: openalex is not ticked")
    wizard.next()
    model = wizard.model_page
    model.radios["openai"].setChecked(True)
    assert not wizard.validateCurrentPage()  # no URL yet: says so, stays on the page
    assert "URL" in model.error.text()
    model.url.setText("http://127.0.0.1:8000/v1")
    model.model.setText("pasa-7b-selector")
    assert wizard.validateCurrentPage()
    stored: dict[str, str] = {}
    settings, problems = save_choices(wizard, True, store_key=stored.__setitem__, path=tmp_path / "s.json")
    assert problems == [] and stored == {"serper": "sk-serper-123"}
    assert settings.library_path() == tmp_path / "papers" / "lib.sqlite"
    assert settings.sources.enabled == ["local", "arxiv", "serper"]
    server = settings.profile("server")
    assert (server.kind, server.base_url, server.model) == ("openai", "http://127.0.0.1:8000/v1", "pasa-7b-selector")
    assert settings.selector_profile == settings.crawler_profile == "server"
    assert "sk-serper" not in (tmp_path / "s.json").read_text(encoding="utf-8")  # never in the settings file


def test_a_refusing_keyring_is_reported_and_the_rest_is_saved(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = make_wizard(qtbot)
    wizard.sources_page.checks["semantic_scholar"].setChecked(True)
    wizard.sources_page.keys["semantic_scholar"].setText("s2-key")

    def refuse(name: str, key: str) -> None:
        raise RuntimeError("no recommended backend was available")

    settings, problems = save_choices(wizard, True, store_key=refuse, path=tmp_path / "s.json")
    assert len(problems) == 1 and "Semantic Scholar" in problems[0] and "s2-key" not in problems[0]
    assert "semantic_scholar" in settings.sources.enabled and (tmp_path / "s.json").exists()


def test_model_paths_are_checked(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = make_wizard(qtbot)
    model = wizard.model_page
    model.radios["gguf"].setChecked(True)
    model.path.setText(str(tmp_path / "missing.gguf"))
    assert "gguf" in model.problem()
    gguf = tmp_path / "pasa.gguf"
    gguf.write_bytes(b"GGUF")
    model.path.setText(str(gguf))
    assert model.problem() == ""
    model.radios["transformers"].setChecked(True)
    assert "folder" in model.problem()
    model.path.setText(str(tmp_path))
    assert model.problem() == "" and model.profile().path == str(tmp_path)


def test_building_the_offline_index_shows_progress_and_lands(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from engine.sources.local_index import LocalIndex

    wizard = make_wizard(qtbot)
    wizard.next()
    page = wizard.sources_page
    page.build_index()  # nothing chosen yet: a message, no crash
    assert "Choose a corpus" in page.status.text()
    page.corpus.setText(str(corpus(tmp_path)))
    seen: list[int] = []
    page.builder.progressed.connect(lambda done, total, added: seen.append(added))
    with qtbot.waitSignal(page.builder.finished, timeout=20_000):
        page.build_index()
        assert not page.isComplete()  # Next waits for the build
    assert page.isComplete() and page.indexed == 3 and seen[-1] == 3
    assert "Indexed 3 papers" in page.status.text() and "1 unusable" in page.status.text()
    assert page.progress.value() == 1000
    assert LocalIndex(Settings().index_path()).count() == 3
    settings = wizard.result_settings()
    assert settings.paths.corpus == str(tmp_path / "corpus.jsonl")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wizard.grab().save(str(SCREENSHOTS / "first_run_sources.png"))


def test_a_broken_corpus_ends_in_a_message(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wizard = make_wizard(qtbot)
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"this is not gzip")
    wizard.sources_page.corpus.setText(str(bad))
    with qtbot.waitSignal(wizard.sources_page.builder.failed, timeout=20_000):
        wizard.sources_page.build_index()
    assert "Could not build the index" in wizard.sources_page.status.text()
    assert wizard.sources_page.isComplete() and wizard.sources_page.build_button.isEnabled()


def test_the_wizard_shows_only_without_a_settings_file(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    shown: list[FirstRunWizard] = []

    def fake_exec(self: FirstRunWizard) -> int:
        shown.append(self)
        self.model_page.radios["embedded"].setChecked(True)
        return 1

    monkeypatch.setattr(FirstRunWizard, "exec", fake_exec)
    assert not settings_file().exists()
    settings, _ = first_run_if_needed(Settings())
    assert len(shown) == 1 and settings_file().exists() and settings.selector_profile == "relevance"
    first_run_if_needed(load_settings())
    assert len(shown) == 1


@pytest.mark.parametrize("page", [0, 1, 2])
def test_pages_render(qtbot, page: int) -> None:  # type: ignore[no-untyped-def]
    wizard = make_wizard(qtbot)
    for _ in range(page):
        wizard.next()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = wizard.grab()
    assert image.width() > 400 and image.height() > 300
    image.save(str(SCREENSHOTS / f"first_run_page{page + 1}.png"))
