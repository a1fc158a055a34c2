"""Guard against a PySide6 build that drops a reference to each Python slot's return value.

PySide6 6.12.0 on Python 3.11 (where None is not immortal) decrements None's reference count once per
slot call from a QTimer: a window with a 100 ms timer aborts with "deallocating None" within hours,
a 10 ms probe within minutes. pyproject.toml pins PySide6 below 6.12 for this; this test fails if an
affected version is installed again.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer


def test_timer_slots_keep_none_alive(qapp) -> None:  # type: ignore[no-untyped-def]
    calls = []
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: calls.append(1))
    before = sys.getrefcount(None)
    timer.start()
    while len(calls) < 300:
        qapp.processEvents()
    timer.stop()
    assert sys.getrefcount(None) - before > -100, "this PySide6 build leaks None references per slot call"
