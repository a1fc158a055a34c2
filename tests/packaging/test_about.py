"""The About dialog names the version, the models in use and where the library lives."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine.models.profiles import ModelProfile
from pasa_desktop import __version__
from pasa_desktop.settings import Settings
from ui.about_dialog import AboutDialog

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_about_shows_version_profiles_and_paths(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(profiles=[ModelProfile(), ModelProfile(name="pasa-7b", kind="gguf", path="/models/sel.gguf")],
                        crawler_profile="embedded", selector_profile="pasa-7b")
    settings.paths.library = str(tmp_path / "my library.sqlite")
    dialog = AboutDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    rows = dict(dialog.rows)
    assert rows["Version"].startswith(f"PaSa Desktop {__version__}")
    assert rows["Crawler model"].startswith("embedded — embedded llama.cpp (") and ".gguf" in rows["Crawler model"]
    assert rows["Selector model"] == "pasa-7b — gguf (/models/sel.gguf)"
    assert rows["Library"] == str(tmp_path / "my library.sqlite")
    text = dialog.text.text()
    assert __version__ in text and "my library.sqlite" in text and "pasa-7b" in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SCREENSHOTS / "about.png"))


def test_an_unknown_profile_is_named_not_raised(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = AboutDialog(Settings(selector_profile="gone"))
    qtbot.addWidget(dialog)
    assert "No model profile named 'gone'" in dict(dialog.rows)["Selector model"]


def test_main_window_has_help_about(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pasa_desktop.gui_controller import AppServices
    from ui.main_window import MainWindow

    settings = Settings()
    settings.paths.library = str(tmp_path / "lib.sqlite")
    window = MainWindow(AppServices(settings))
    qtbot.addWidget(window)
    shown: list[AboutDialog] = []
    monkeypatch.setattr(AboutDialog, "exec", lambda self: shown.append(self) or 0)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    help_menu.actions()[0].trigger()
    assert len(shown) == 1 and dict(shown[0].rows)["Library"] == str(tmp_path / "lib.sqlite")


def test_the_default_selector_not_prepared_is_said_so(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The default relevance Selector before its first-use preparation: a search then has no Selector."""
    import numpy as np

    from engine.models.relevance import RelevanceModel, SelectRule
    from pasa_desktop.selector_setup import relevance_dir

    dialog = AboutDialog(Settings())
    qtbot.addWidget(dialog)
    assert "not prepared yet: searches score and select nothing" in dict(dialog.rows)["Selector model"]
    RelevanceModel(weights=np.zeros(4), bias=0.0, mean=np.zeros(4), scale=np.ones(4), idf=np.ones(8, dtype=np.float32),
                   products=False, rule=SelectRule(0.3, 0)).save(relevance_dir())
    ready = AboutDialog(Settings())
    qtbot.addWidget(ready)
    assert dict(ready.rows)["Selector model"] == f"relevance — relevance ({relevance_dir()})"
