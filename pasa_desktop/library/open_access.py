"""Fetch a library paper's open-access PDF (engine.fulltext.open_access) and attach it, text indexed.

Used by `pasa library fetch-pdf PAPER` and the window's "Find PDF". The HTTP stack is built as for
metadata completion (one httpx client, the disk cache for the lookups, the shared fetcher);
`PASA_METADATA_API` points the lookups at one base URL (`<base>/s2/graph/v1`, `<base>/openalex`) and
arXiv's PDFs at `<base>/arxiv/pdf` — a mirror, or a loopback server in tests.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.fulltext.open_access import ARXIV_PDF_URL, OpenAccessFinder, OpenAccessResult
from engine.papers import Paper
from pasa_desktop.library.completion import API_BASE_ENV, build_sources, library_fetcher
from pasa_desktop.library.library import Library
from pasa_desktop.settings import Settings


@dataclass(frozen=True, slots=True)
class PdfFetch:
    paper_id: int
    result: OpenAccessResult
    attachment_id: int | None = None  # set when the PDF was attached
    path: Path | None = None  # the library's copy

    @property
    def message(self) -> str:
        if self.attachment_id is None or self.result.location is None:
            return self.result.message()
        return f"{self.result.message()}: attached as {self.path.name if self.path else 'a PDF'}, its text searchable"


async def _find(settings: Settings, paper: Paper) -> OpenAccessResult:
    async with library_fetcher(settings) as fetcher:
        base = (os.environ.get(API_BASE_ENV) or "").rstrip("/")
        sources = build_sources(fetcher, ("semantic_scholar", "openalex"), base_url=base or None)
        finder = OpenAccessFinder(
            fetcher,
            semantic_scholar=sources.semantic_scholar,
            openalex=sources.openalex,
            arxiv_pdf_url=f"{base}/arxiv/pdf" if base else ARXIV_PDF_URL,
        )
        return await finder.find(paper)


def fetch_open_access_pdf(library: Library, settings: Settings, paper_id: int) -> PdfFetch:
    """Look for the paper's open-access PDF and attach it (copied into the library, text indexed)."""
    row = library.paper(paper_id)
    result = asyncio.run(_find(settings, row.to_paper()))
    if result.content is None:
        return PdfFetch(paper_id, result)
    stem = row.citekey or (row.arxiv_id or f"paper-{paper_id}").replace("/", "_")
    with tempfile.TemporaryDirectory(prefix="pasa-pdf-") as folder:
        file = Path(folder) / f"{stem}.pdf"
        file.write_bytes(result.content)
        attachment_id = library.attach(paper_id, file)
    stored = next((a.path for a in library.attachments(paper_id) if a.id == attachment_id), None)
    return PdfFetch(paper_id, result, attachment_id, stored)
