"""Desktop-app responsiveness: GUI event-loop stalls during a search, 5,000-row table sorting, cold start.

    QT_QPA_PLATFORM=offscreen python benchmarks/ui_responsiveness.py [--papers 20000] [--search-seconds 40]
        [--skip-embedded] [--runs 5]

1. Stall: a 10 ms QTimer probe on the GUI thread of the real main window while a search runs through
   the app's SearchService in its search process (offline index built from the real corpus, library
   recording on):
   (a) the default search — embedded SmolLM2-135M through llama.cpp, standard preset (cut at
   --search-seconds); (b) a burst search — scripted models that answer instantly, thorough preset, so
   events arrive as fast as the engine makes them (worst case for the GUI). Baseline: the same probe on
   the idle window. Stall = longest gap between probe ticks minus the 10 ms period.
2. Sort: 5,000 real papers in the results table, every column sorted both ways (including the repaint).
   Baseline: the same rows in a QStandardItemModel behind a QSortFilterProxyModel (Qt's stock way).
3. Cold start: `python -m ui.launcher gui --exit-when-ready`, spawn → window shown and event loop
   running, median of --runs. Baseline: a bare PySide6 QMainWindow started the same way.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, benchmarks/ is sys.path[0], and benchmarks/packaging.py would shadow the `packaging` library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CORPUS = REPO.parent / "shared" / "data" / "corpus" / "papers.jsonl.gz"
QUERY = "papers that use coded computation against stragglers in distributed training"
PERIOD_MS = 10


def corpus_slice(path: Path, papers: int) -> Path:
    out = path / "corpus.jsonl"
    with gzip.open(CORPUS, "rt", encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n >= papers:
                break
            dst.write(line)
    return out


class StallProbe:
    """Records gaps between ticks of a 10 ms timer on the GUI thread, and the GUI thread's CPU time in each
    gap (on a loaded machine a gap can be long because the OS ran other processes, not because the GUI
    thread was busy: the CPU time separates the two)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.cpu: list[float] = []
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer = QTimer()
        self.timer.setInterval(PERIOD_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append((now - self._last) * 1000.0)
        self.cpu.append((cpu - self._last_cpu) * 1000.0)
        self._last, self._last_cpu = now, cpu

    def start(self) -> None:
        self.gaps.clear()
        self.cpu.clear()
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        gaps = sorted(self.gaps) or [PERIOD_MS]
        return {
            "max_stall_ms": max(0.0, gaps[-1] - PERIOD_MS),
            "p99_stall_ms": max(0.0, gaps[int(0.99 * (len(gaps) - 1))] - PERIOD_MS),
            "max_gui_cpu_ms": max(self.cpu or [0.0]),
            "ticks": float(len(gaps)),
        }


def run_events(app: object, seconds: float, until: object = None) -> None:
    """Spin the Qt event loop for `seconds` (or until `until()` is true)."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not (until and until()):  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.001)


def stall_benchmark(work: Path, papers: int, search_seconds: float, embedded: bool) -> list[tuple[str, dict]]:
    from pasa_desktop.gui_controller import AppServices
    from pasa_desktop.settings import Settings
    from ui.launcher import prepare_app
    from ui.main_window import MainWindow

    app = prepare_app()
    settings = Settings()
    settings.paths.library = str(work / "library.sqlite")
    settings.paths.index = str(work / "index.sqlite")
    settings.paths.corpus = str(corpus_slice(work, papers))
    settings.sources.enabled = ["local"]
    settings.agent = settings.agent.model_copy(update={"max_seconds": search_seconds})
    from pasa_desktop.search_service import ensure_index

    t0 = time.perf_counter()
    ensure_index(settings)
    print(f"(index of {papers} papers built in {time.perf_counter() - t0:.1f} s)", flush=True)

    def open_window(search_models: Callable[[str], Any] | None) -> MainWindow:
        window = MainWindow(AppServices(settings, search_model_loader=search_models))
        window.resize(1440, 920)
        window.show()
        window.finish_startup()
        run_events(app, 30, lambda: window.search_panel.plots is not None and window.services.library_ready())
        return window

    window = open_window(None)
    probe = StallProbe()
    rows: list[tuple[str, dict]] = []

    probe.start()
    run_events(app, 3.0)
    rows.append(("idle window (baseline)", probe.stop()))

    def search(label: str, preset: str) -> None:
        window.search_panel.query.setPlainText(QUERY)
        window.search_panel.set_preset(preset)
        probe.start()
        t = time.perf_counter()
        window.search_panel.search_button.click()
        run_events(app, search_seconds * 4 + 120, lambda: window.state.finished is not None
                   and not window.services.search.running)
        result = probe.stop()
        result["search_s"] = time.perf_counter() - t
        result["events_papers"] = float(len(window.state.papers))
        result["scored"] = float(len(window.state.scores))
        rows.append((label, result))

    if embedded:
        search("default search: embedded SmolLM2 (llama.cpp), standard", "standard")
    # The burst: instant scripted models in the search process, in a window whose services hand the
    # child this module's burst_models (sent by name, as spawn pickles a module-level function).
    window.close()
    settings.crawler_profile = "burst-crawler"
    window = open_window(burst_models)
    search("burst search: instant scripted models, thorough", "thorough")
    search("burst search again", "thorough")
    window.close()
    return rows


def burst_models(profile: str) -> object:
    """Models that answer at once: events arrive as fast as the engine can make them (GUI worst case)."""
    from pasa_testing.scripted import ScriptedModel

    if profile == "burst-crawler":
        return ScriptedModel(lambda p: "[StopExpand]" if "predict which sections" in p else
                             " coded computation\n[Search] gradient coding stragglers\n[Search] straggler "
                             "mitigation distributed learning\n[Search] erasure codes matrix multiplication\n"
                             "[StopSearch]")
    return ScriptedModel(scorer=lambda p: (sum(map(ord, p[-300:])) % 1000) / 1000.0)


def _rows(n: int) -> list[object]:
    from pasa_desktop.gui_controller import ResultRow

    rng = random.Random(0)
    out = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            score = rng.random()
            out.append(ResultRow(
                key=str(d["id"]), title=str(d.get("title") or ""), authors=tuple(d.get("authors") or ()),
                year=d.get("year") if isinstance(d.get("year"), int) else None, venue=str(d.get("venue") or ""),
                abstract=str(d.get("abstract") or ""), score=score, selected=score > 0.5,
                found_by=f"query: q{rng.randrange(8)}",
            ))
            if len(out) == n:
                break
    return out


def sort_benchmark(n: int) -> list[tuple[str, dict]]:
    from PySide6.QtCore import QSortFilterProxyModel, Qt
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    from ui.paper_table import COLUMNS, PaperTableModel, PaperTableView

    app = QApplication.instance() or QApplication([])
    rows = _rows(n)
    model = PaperTableModel()
    model.set_rows(rows)  # type: ignore[arg-type]
    view = PaperTableView(model)
    view.resize(1000, 700)
    view.show()
    app.processEvents()

    def timed(fn: object, view_: object) -> list[float]:
        times = []
        for col in range(len(COLUMNS)):
            for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
                t = time.perf_counter()
                view_.sortByColumn(col, order)  # type: ignore[attr-defined]
                app.processEvents()  # include the repaint
                times.append((time.perf_counter() - t) * 1000.0)
        return times

    ours = timed(None, view)
    view.selectRow(100)
    t = time.perf_counter()
    model.upsert(rows[:50])  # a live update: 50 rows changed while sorted and selected
    app.processEvents()
    upsert_ms = (time.perf_counter() - t) * 1000.0

    # (Filled through setData: creating QStandardItems in a loop crashes PySide6 6.12 with a refcount error.)
    std = QStandardItemModel(len(rows), len(COLUMNS))
    for r, row in enumerate(rows):
        for c, col in enumerate(COLUMNS):
            index = std.index(r, c)
            key = col.sort_key(row)  # type: ignore[arg-type]
            std.setData(index, col.text(row))  # type: ignore[arg-type]
            std.setData(index, float(key) if isinstance(key, (bool, int, float)) else str(key),
                        Qt.ItemDataRole.UserRole)
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(std)
    proxy.setSortRole(Qt.ItemDataRole.UserRole)
    base_view = QTableView()
    base_view.setModel(proxy)
    base_view.setSortingEnabled(True)
    base_view.resize(1000, 700)
    base_view.show()
    app.processEvents()
    base = timed(None, base_view)
    view.close()
    base_view.close()
    return [
        (f"PaperTableModel, {n} rows", {"median_ms": statistics.median(ours), "max_ms": max(ours),
                                        "live_upsert_50_ms": upsert_ms}),
        (f"QSortFilterProxyModel, {n} rows (baseline)", {"median_ms": statistics.median(base),
                                                         "max_ms": max(base)}),
    ]


def _ready_time(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ready"):
            elapsed = time.perf_counter() - t
            proc.wait(30)
            return elapsed
    raise RuntimeError(f"{cmd} never became ready (exit {proc.wait()})")


BARE = (
    "from PySide6.QtWidgets import QApplication, QMainWindow\nfrom PySide6.QtCore import QTimer\n"
    "app = QApplication([]); w = QMainWindow(); w.resize(1440, 920); w.show()\n"
    "QTimer.singleShot(0, lambda: (print('ready', flush=True), app.quit())); app.exec()\n"
)


def cold_start(work: Path, runs: int) -> list[tuple[str, dict]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PASA_DATA_DIR": str(work / "cold")}
    ours = [_ready_time([sys.executable, "-m", "ui.launcher", "gui", "--exit-when-ready"], env) for _ in range(runs)]
    bare = [_ready_time([sys.executable, "-c", BARE], env) for _ in range(runs)]
    return [
        ("pasa gui → interactive window", {"median_s": statistics.median(ours), "max_s": max(ours)}),
        ("bare PySide6 QMainWindow (baseline)", {"median_s": statistics.median(bare), "max_s": max(bare)}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=20000, help="offline index size for the stall runs")
    parser.add_argument("--search-seconds", type=float, default=40.0, help="time budget of each search")
    parser.add_argument("--skip-embedded", action="store_true", help="skip the llama.cpp default search")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"needs the real corpus at {CORPUS}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pasa-ui-bench-") as tmp:
        work = Path(tmp)
        os.environ["PASA_DATA_DIR"] = str(work / "data")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f},"
              f" Python {sys.version.split()[0]}", flush=True)
        cold = cold_start(work, args.runs)
        sort = sort_benchmark(args.rows)
        stall = stall_benchmark(work, args.papers, args.search_seconds, not args.skip_embedded)
    print("\n| measurement | value | baseline / ratio |\n|---|---|---|")
    idle = stall[0][1]["max_stall_ms"]
    for label, r in stall:
        extra = "" if label.startswith("idle") else (
            f" — search {r['search_s']:.1f} s, {int(r['events_papers'])} papers found, {int(r['scored'])} scored")
        ratio = "" if label.startswith("idle") else f"{r['max_stall_ms'] / max(idle, 0.1):.1f}× idle"
        print(f"| GUI stall, {label} | max {r['max_stall_ms']:.1f} ms, p99 {r['p99_stall_ms']:.1f} ms; GUI thread"
              f" busy at most {r['max_gui_cpu_ms']:.1f} ms CPU between ticks{extra} | {ratio} |")
    ours, base = sort[0][1], sort[1][1]
    print(f"| {sort[0][0]}: sort incl. repaint | median {ours['median_ms']:.1f} ms, max {ours['max_ms']:.1f} ms;"
          f" live upsert of 50 rows {ours['live_upsert_50_ms']:.1f} ms | {sort[1][0]}: median"
          f" {base['median_ms']:.1f} ms, max {base['max_ms']:.1f} ms ({base['max_ms'] / ours['max_ms']:.1f}×) |")
    c_ours, c_bare = cold[0][1], cold[1][1]
    print(f"| cold start, median of {args.runs} | {c_ours['median_s']:.2f} s (max {c_ours['max_s']:.2f} s) |"
          f" bare Qt window {c_bare['median_s']:.2f} s ({c_ours['median_s'] / c_bare['median_s']:.1f}×) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
