"""The training panel, offscreen: preview, form, live plots from a growing metrics stream, checkpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Run directly (`pytest tests/training`) on a machine with no display, Qt would abort the whole session.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from engine.models.profiles import ModelProfile
from training.data import SelectorPair, selector_row
from training.metrics import MetricsWriter, write_status
from ui.training_panel import TrainingPanel


def _job_with_metrics(root: Path) -> tuple[Path, MetricsWriter]:
    job = root / "job"
    writer = MetricsWriter(job)
    (job / "job.json").write_text(json.dumps({"mode": "local", "pid": os.getpid()}))
    write_status(job, "running", "sft selector started", pid=os.getpid())
    for step in range(1, 6):
        writer.write(step=step, loss=2.0 / step, lr=1e-5, tokens_per_s=900 + step, reward=0.1 * step, kl=0.01 * step,
                     value_loss=1.0 / step)
    writer.event("checkpoint", "saved step-5")
    (job / "checkpoints" / "step-5").mkdir(parents=True)
    return job, writer


def test_panel_plots_a_live_job_and_registers_a_checkpoint(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = TrainingPanel(poll_ms=50)
    qtbot.addWidget(panel)
    panel.resize(1200, 760)
    job, writer = _job_with_metrics(tmp_path)
    panel.attach(job)
    assert list(panel.curves["loss"].getData()[0]) == [1.0, 2.0, 3.0, 4.0, 5.0]
    # A metric this job never reports reads "no data", not an axis from 0 to 1 that looks measured.
    assert panel.plot_widgets["loss"].getPlotItem().getAxis("left").isVisible()
    assert not panel.plot_widgets["gpu_mem"].getPlotItem().getAxis("left").isVisible()
    # The stream grows while the panel watches: new points arrive on the timer, the GUI never blocks.
    writer.write(step=6, loss=0.3, lr=9e-6, reward=0.7, kl=0.07, value_loss=0.2)
    qtbot.waitUntil(lambda: len(panel.curves["loss"].getData()[0]) == 6, timeout=5000)
    qtbot.waitUntil(lambda: panel.state == "running", timeout=5000)
    assert panel.pause_button.isEnabled() and not panel.launch_button.isEnabled()
    assert panel.checkpoint_list.count() == 1
    with qtbot.waitSignal(panel.profile_requested, timeout=2000) as blocker:
        panel.register_selected()
    profile = blocker.args[0]
    assert isinstance(profile, ModelProfile) and profile.kind == "transformers"
    assert profile.path.endswith("step-5")
    write_status(job, "finished", "finished; checkpoint step-5")
    qtbot.waitUntil(lambda: panel.state == "finished", timeout=5000)
    assert panel.launch_button.isEnabled()
    image = panel.grab()
    assert not image.isNull()
    image.save(str(tmp_path / "training_panel.png"))
    if os.environ.get("PASA_SAVE_SCREENSHOTS"):
        image.save(os.environ["PASA_SAVE_SCREENSHOTS"])
    writer.close()
    panel.shutdown()


def test_panel_preview_and_form(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = TrainingPanel(poll_ms=50)
    qtbot.addWidget(panel)
    rows = tmp_path / "rows.jsonl"
    pairs = [SelectorPair("q", "T1", "A", True, "gold"), SelectorPair("q", "T2", "B", False, "retrieved")]
    rows.write_text("".join(json.dumps(selector_row(p)) + "\n" for p in pairs) + "broken\n")
    panel.data_file.setText(str(rows))
    panel.load_preview()
    qtbot.waitUntil(lambda: panel.preview_table.rowCount() == 2, timeout=5000)
    assert "selector-true: 1" in panel.counts_label.text() and "1 skipped" in panel.counts_label.text()
    panel.kind.setCurrentText("ppo")
    assert panel.role.currentText() == "crawler" and panel.lr.value() == pytest.approx(1e-6)
    panel.model_path.setText(str(tmp_path))
    panel.fulltext_file.setText(str(tmp_path / "unarxive.jsonl"))
    config = panel.job_config()
    assert config.job.kind == "ppo" and config.ppo.learning_rate == pytest.approx(1e-6)
    assert config.data.fulltext == str(tmp_path / "unarxive.jsonl")  # expand sessions read full texts from it
    panel.launch()  # no queries file: refused with a message, nothing started
    assert "Cannot launch" in panel.log_view.toPlainText() and panel.job_dir is None
    panel.shutdown()


def test_panel_converts_a_checkpoint_to_gguf_and_registers_it(qtbot, tmp_path: Path, tiny_qwen2: Path) -> None:  # type: ignore[no-untyped-def]
    """One click: the selected checkpoint becomes a quantized GGUF beside it and a `gguf` profile that loads."""
    import shutil

    from engine.models.profiles import load_model

    job = tmp_path / "job"
    writer = MetricsWriter(job)
    write_status(job, "finished", "finished; checkpoint step-2")
    shutil.copytree(tiny_qwen2, job / "checkpoints" / "step-2")
    panel = TrainingPanel(poll_ms=50)
    qtbot.addWidget(panel)
    panel.attach(job)
    qtbot.waitUntil(lambda: panel.checkpoint_list.count() == 1, timeout=5000)
    assert panel.gguf_button.isEnabled()
    panel.gguf_quant.setCurrentText("q8_0")
    with qtbot.waitSignal(panel.profile_requested, timeout=120_000) as blocker:
        panel.convert_selected()
        assert not panel.gguf_button.isEnabled()  # one conversion at a time
    profile = blocker.args[0]
    assert isinstance(profile, ModelProfile) and profile.kind == "gguf"
    gguf = Path(profile.path)
    assert gguf == job / "checkpoints" / "step-2.q8_0.gguf" and gguf.stat().st_size > 0
    assert panel.gguf_button.isEnabled()
    model = load_model(profile)
    assert model.count_tokens("hello world") > 0
    writer.close()
    panel.shutdown()


def test_panel_reports_a_failed_gguf_conversion(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    job, writer = _job_with_metrics(tmp_path)  # step-5 is an empty directory: not a checkpoint
    panel = TrainingPanel(poll_ms=50)
    qtbot.addWidget(panel)
    panel.attach(job)
    panel.convert_selected()
    qtbot.waitUntil(lambda: "GGUF conversion failed" in panel.log_view.toPlainText(), timeout=10_000)
    assert "config.json" in panel.log_view.toPlainText()
    assert panel.gguf_button.isEnabled()
    writer.close()
    panel.shutdown()


def test_plots_follow_the_theme(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """#17: the plots were white in the dark theme (a global pyqtgraph background). They take the app
    palette when built, and a theme switch (View → Theme restyles the window's plots) recolours them."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from ui.colors import restyle_plots
    from ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "dark", force="dark")
    try:
        panel = TrainingPanel(poll_ms=50)
        qtbot.addWidget(panel)
        panel.resize(1024, 700)
        job, writer = _job_with_metrics(tmp_path)
        panel.attach(job)
        panel.show()
        dark_base = app.palette().color(QPalette.ColorRole.Base)
        for plot in panel.plot_widgets.values():
            assert plot.backgroundBrush().color().name() == dark_base.name()
        corner = panel.plot_widgets["loss"].grab().toImage().pixelColor(3, 3)
        assert corner.lightness() < 80  # what is on screen is dark, not white
        apply_theme(app, "light", force="light")
        assert restyle_plots(panel) == len(panel.plot_widgets)
        corner = panel.plot_widgets["loss"].grab().toImage().pixelColor(3, 3)
        assert corner.lightness() > 200
        writer.close()
        panel.shutdown()
    finally:
        apply_theme(app, force="light")
