"""Reading a corpus for `build_index`: JSON lines (optionally gzipped) streamed a line at a time, with
the byte offset after every line (so a build can resume where it stopped), and arXiv's category filter.

arXiv's public metadata snapshot (`arxiv-metadata-oai-snapshot.json`, ~4.5 GB for 2.5 million papers)
is one JSON object per line with `id, title, abstract, authors, categories, update_date, versions …`;
this project's own corpus (`papers.jsonl.gz`) has no categories. Nothing here ever holds more than
one line of the file in memory.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from engine.errors import InputError

_PATTERN = re.compile(r"^[A-Za-z*?\[\]-]+(\.[A-Za-z*?\[\]-]+)?$")


def parse_categories(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """Shell-style category patterns from "cs.*,stat.ML" (or a list of such strings); () for none."""
    if spec is None:
        return ()
    parts = [spec] if isinstance(spec, str) else list(spec)
    patterns: list[str] = []
    for part in parts:
        for raw in re.split(r"[,\s]+", part):
            if not raw:
                continue
            if not _PATTERN.match(raw):
                raise InputError(
                    f"not an arXiv category pattern: {raw!r}",
                    hint="patterns look like cs.*, stat.ML, math.* or hep-th (comma-separated)",
                )
            patterns.append(raw)
    return tuple(dict.fromkeys(patterns))


@dataclass(frozen=True, slots=True)
class CategoryFilter:
    """Keeps a row when any of its arXiv categories ("cs.LG stat.ML") matches any pattern; with no
    patterns every row is kept. A row without categories (this project's corpus) is not kept by a
    filter: nothing says it belongs to the categories asked for."""

    patterns: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, categories: str | Iterable[str] | None) -> bool:
        if not self.patterns:
            return True
        if not categories:
            return False
        names = categories.split() if isinstance(categories, str) else list(categories)
        return any(fnmatchcase(name, pattern) for name in names for pattern in self.patterns)

    def keeps(self, row: dict[str, Any]) -> bool:
        return self.matches(row.get("categories"))


@dataclass(frozen=True, slots=True)
class Line:
    row: dict[str, Any] | None  # None: not a JSON object (counted as skipped)
    offset: int  # bytes of the decompressed stream consumed after this line
    position: int  # bytes of the file itself read so far (for progress)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def stream(source: Path, *, start: int = 0) -> Iterator[Line]:
    """The file's lines from decompressed byte offset `start` on, parsed, one at a time.

    A gzipped file cannot be entered in the middle, so resuming one decompresses and discards the
    first `start` bytes (fast next to parsing and indexing them again)."""
    if not source.is_file():
        raise InputError(f"corpus file not found: {source}", hint="pass --from PATH to a JSON-lines corpus")
    compressed = is_gzip(source)
    if source.suffix == ".gz" and not compressed:
        raise InputError(f"{source} is named .gz but is not gzip-compressed", hint="check the file (or rename it)")
    raw = source.open("rb")
    with raw:
        fh: io.BufferedIOBase = gzip.GzipFile(fileobj=raw) if compressed else raw
        if start:
            fh.seek(start)
        offset = start
        for line in fh:
            offset += len(line)
            text = line.strip()
            if not text:
                continue
            try:
                row = json.loads(text)
            except ValueError:
                row = None
            yield Line(row if isinstance(row, dict) else None, offset, raw.tell())


def fingerprint(source: Path, categories: tuple[str, ...]) -> str:
    """What a resumed build must be reading: the same file (size and modification time) and filter."""
    st = source.stat()
    return json.dumps(
        {"path": str(source.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "categories": list(categories)}
    )
