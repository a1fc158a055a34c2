"""The offline index as the app configures it: engine.sources.index_lifecycle with the settings' paths.

One question, "is the index ready?", one answer for `./run.sh`, `pasa search`, `pasa eval`, the
window's search process, the first-run wizard and labelled Selector pairs: `prepare_index`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx

from engine.events import Notice
from engine.sources import index_lifecycle, oai_pmh
from engine.sources.http import Sleep
from engine.sources.index_lifecycle import IndexHealth, UpdateResult
from engine.sources.local_index import BuildReport
from pasa_desktop.settings import Settings


def build_index(
    source: Path,
    target: Path,
    *,
    progress: Callable[[int, int, int], None] | None = None,
    categories: str | None = None,
) -> BuildReport:
    """Build an index from a corpus or arXiv snapshot (streamed; an interrupted build continues)."""
    return index_lifecycle.build(source, target, progress=progress, categories=categories)


def index_health(settings: Settings) -> IndexHealth:
    return index_lifecycle.check(settings.index_path())


def prepare_index(
    settings: Settings,
    *,
    notify: Callable[[Notice], object] | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> IndexHealth:
    """The configured index, ready to search: built from the configured corpus (PASA_CORPUS or
    paths.corpus) when missing, its rankings written or repaired when missing, stale or damaged.
    ConfigError when there is neither an index nor a corpus."""
    return index_lifecycle.ensure_ready(settings.index_path(), settings.corpus_path(), notify=notify, progress=progress)


async def update_index(
    settings: Settings,
    *,
    since: date | None = None,
    categories: str | None = None,
    endpoint: str = oai_pmh.DEFAULT_ENDPOINT,
    notify: Callable[[Notice], None] | None = None,
    progress: oai_pmh.PageProgress | None = None,
    sleep: Sleep | None = None,
) -> UpdateResult:
    """`pasa index update`: harvest arXiv's changes over OAI-PMH into the configured index."""
    async with httpx.AsyncClient() as client:
        fetcher = oai_pmh.fetcher(client, notify=notify, sleep=sleep)
        return await index_lifecycle.update(
            settings.index_path(),
            fetcher,
            since=since,
            categories=categories,
            endpoint=endpoint,
            notify=notify,
            progress=progress,
        )


def describe_update(result: UpdateResult, index: Path) -> str:
    """What an update did, in one line (the command line and the window say the same)."""
    r = result.report
    rankings = {"delta": "delta segment rewritten", "full": "rebuilt", "none": "unchanged"}[r.rankings]
    return (
        f"Updated {index} from {result.since.isoformat()}: {r.added:,} added, {r.changed:,} revised, "
        f"{r.removed:,} removed, {r.unchanged:,} unchanged; rankings: {rankings}. "
        f"Last update: {result.harvest.harvested_until or 'unchanged'}."
    )


def update_index_now(settings: Settings, since: date | None = None, endpoint: str | None = None) -> str:
    """The window's File → Update offline index, run to completion on a worker thread."""
    result = asyncio.run(update_index(settings, since=since, endpoint=endpoint or oai_pmh.DEFAULT_ENDPOINT))
    return describe_update(result, settings.index_path())


def due_update(settings: Settings, today: date | None = None) -> date | None:
    """The window's schedule (sources.index_update_days): the date to harvest from when the index's last
    update is that many days old; None when it is not due, is off, or the index was never updated (the
    first update needs a date only the user can give)."""
    days = settings.sources.index_update_days
    if days <= 0:
        return None
    health = index_health(settings)
    if health.papers is None or not health.last_update:
        return None
    last = date.fromisoformat(health.last_update[:10])
    return last if (today or date.today()) - last >= timedelta(days=days) else None
