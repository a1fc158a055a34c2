"""ui/background.py: blocking calls run off the GUI thread and their outcome arrives on it."""

from __future__ import annotations

import threading
import time
from functools import partial

from PySide6.QtCore import QObject

from ui.background import Background


def test_result_and_error_arrive_on_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    background = Background()
    gui = threading.current_thread()
    seen: list[tuple[str, object, threading.Thread]] = []
    background.run(lambda: threading.current_thread().name, lambda v: seen.append(("ok", v, threading.current_thread())))

    def fail() -> int:
        raise ValueError("no such file")

    background.run(fail, lambda v: seen.append(("ok", v, threading.current_thread())),
                   lambda exc: seen.append(("error", exc, threading.current_thread())))
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    by_kind = {kind: (value, thread) for kind, value, thread in seen}
    assert str(by_kind["ok"][0]).startswith("pasa-background")  # ran on a worker
    assert isinstance(by_kind["error"][0], ValueError)
    assert all(thread is gui for _kind, _value, thread in seen)  # delivered on the GUI thread
    background.shutdown()


def test_one_worker_runs_calls_in_order(qtbot) -> None:  # type: ignore[no-untyped-def]
    background = Background(workers=1)
    order: list[int] = []

    def slower_first(i: int) -> int:
        time.sleep(0.01 * (5 - i))
        return i

    for i in range(5):
        background.run(partial(slower_first, i), order.append)
    qtbot.waitUntil(lambda: len(order) == 5, timeout=5000)
    assert order == [0, 1, 2, 3, 4]


def test_cancel_stops_a_stoppable_call_and_drops_its_outcome(qtbot) -> None:  # type: ignore[no-untyped-def]
    background = Background()
    delivered: list[object] = []
    started = threading.Event()

    def work(stop: threading.Event) -> str:
        started.set()
        stop.wait(5.0)
        return "stopped" if stop.is_set() else "ran out"

    job = background.run_stoppable(work, delivered.append, delivered.append)
    assert started.wait(2.0)
    t0 = time.monotonic()
    job.cancel()
    assert job.wait(2.0) and time.monotonic() - t0 < 1.0
    qtbot.wait(100)
    assert delivered == [] and job.cancelled


def test_posts_from_a_thread_and_nothing_after_its_owner_is_gone(qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = QObject()
    background = Background(owner)
    got: list[str] = []
    threading.Thread(target=lambda: background.post(lambda: got.append(threading.current_thread().name))).start()
    qtbot.waitUntil(lambda: got == [threading.current_thread().name], timeout=5000)
    gate = threading.Event()
    background.run(lambda: gate.wait(5.0), lambda _v: got.append("late"))
    owner.deleteLater()
    qtbot.wait(50)  # the owner (and the Background with it) is deleted here
    gate.set()
    qtbot.wait(100)
    assert got[-1] != "late"
