"""Attached files: copied into the library's files folder under a safe name, text extracted for search.

File names come from outside (a user's disk, an imported bibliography, a web server) and are never
trusted: only the last path component survives, stripped of separators, control characters, dot
runs and Windows device names, and the final path is checked to lie inside the folder.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from pathlib import Path

from engine.errors import InputError
from pasa_desktop.library.errors import LibraryError

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(1, 10)] + [f"lpt{i}" for i in range(1, 10)]
)
MAX_NAME = 120
PDF_MAGIC = b"%PDF-"


def safe_name(name: str, fallback: str = "attachment.pdf") -> str:
    """A file name that is one plain component on every OS: `../../etc/passwd` → `passwd`."""
    name = unicodedata.normalize("NFC", name or "")
    # Either separator may come from another OS: keep only the last component.
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip().strip(".")
    name = re.sub(r"\.{2,}", ".", name)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.lower() in _WINDOWS_DEVICES or not stem:
        stem = f"_{stem}" if stem else Path(fallback).stem
    ext = ext[:10]
    stem = stem[: MAX_NAME - len(ext) - 1]
    return f"{stem}.{ext}" if ext else stem


def inside(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that resolves outside `root` (symlinks included)."""
    root = root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise LibraryError(f"Attachment path {relative!r} leaves the library folder {root}")
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store(root: Path, paper_id: int, source: Path, name: str | None = None) -> tuple[str, str, int]:
    """Copy `source` into `root/<paper_id>/`; returns (relative path, sha256, size)."""
    if not source.is_file():
        raise InputError(f"No such file: {source}")
    digest = sha256_of(source)
    folder_rel = str(paper_id)
    base = safe_name(name or source.name)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    candidate = base
    n = 1
    while True:
        relative = f"{folder_rel}/{candidate}"
        target = inside(root, relative)
        if not target.exists():
            break
        if sha256_of(target) == digest:
            return relative, digest, target.stat().st_size
        n += 1
        candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return relative, digest, target.stat().st_size


def mime_of(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(PDF_MAGIC):
        return "application/pdf"
    suffix = path.suffix.lower()
    return {".txt": "text/plain", ".html": "text/html", ".htm": "text/html", ".epub": "application/epub+zip"}.get(
        suffix, "application/octet-stream"
    )


def extract_text(path: Path, mime: str, *, max_chars: int = 2_000_000) -> str:
    """Plain text for the full-text index; a broken or encrypted PDF yields "" (the file is still kept)."""
    if mime == "text/plain":
        return path.read_text(encoding="utf-8", errors="replace")[:max_chars]
    if mime != "application/pdf":
        return ""
    import pymupdf  # heavy: only when a PDF is attached

    try:
        with pymupdf.open(path) as doc:  # type: ignore[no-untyped-call]  # pymupdf's Document() has no annotations
            if doc.needs_pass:
                return ""
            parts: list[str] = []
            size = 0
            for page in doc:
                text = page.get_text()
                parts.append(text)
                size += len(text)
                if size >= max_chars:
                    break
            return "".join(parts)[:max_chars]
    except (RuntimeError, ValueError, pymupdf.FileDataError):
        return ""
