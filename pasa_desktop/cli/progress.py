"""Live progress on stderr for long commands (rich), quiet when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from engine.events import Counts


def stderr_console() -> Console:
    return Console(file=sys.stderr, stderr=True, highlight=False)


def search_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.fields[stage]:<7}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("q {task.fields[queries]} · found {task.fields[found]} · scored {task.fields[scored]}"),
        TextColumn("· {task.fields[step]}", style="dim"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        refresh_per_second=8,
    )


def counts_fields(counts: Counts) -> dict[str, Any]:
    # Any, not int: these are spread into rich's `add_task`/`update(**fields: Any)`, and a `**dict[str, int]`
    # would be checked against their typed keywords (visible: bool, description: str) too.
    return {"queries": counts.queries, "found": counts.found, "scored": counts.scored}


@contextmanager
def indexing_progress(console: Console) -> Iterator[Callable[[int, int, int], None]]:
    """A bar for `build_index`; yields the `progress(bytes_read, total_bytes, papers_added)` callback."""
    with Progress("{task.description}", BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("indexing", total=None)

        def step(done: int, total: int, added: int) -> None:
            bar.update(task, completed=done, total=total, description=f"indexing ({added:,} papers)")

        yield step
