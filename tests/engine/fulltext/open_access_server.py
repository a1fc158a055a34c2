"""A loopback stand-in for where open-access PDFs live: Semantic Scholar's and OpenAlex's answers (in their
reply format, links pointed at this server), arXiv's PDF path, a publisher link that answers with a web page,
and a small real PDF made with PyMuPDF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.metadata.sources import OPENALEX, S2, app_pointed_at
from tests.engine.sources.fake_server import FakeServer, Reply

__all__ = ["OPENALEX", "S2"]  # the paths the app builds from PASA_METADATA_API (as for completion)

DATA = Path(__file__).parent / "data"
ARXIV_PDF = "/arxiv/pdf"  # pasa_desktop/library/open_access.py: <base>/arxiv/pdf/<id>
# A conference/journal paper known by its DOI only: S2 points at the publisher (a web page here),
# OpenAlex at the arXiv preprint's PDF.
CODED_DOI = "10.1109/TIT.2017.2736066"
CODED_ARXIV = "1512.02673"
CLOSED_DOI = "10.1145/1327452.1327492"  # MapReduce (CACM): no open-access copy known
PDF_WORD = "quokkabyte"  # a word only the served PDF holds (to find it through the library's search)


def small_pdf(title: str, pages: int = 2) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page()
        page.insert_text((72, 96), title, fontsize=14)
        page.insert_text((72, 130), f"Page {i + 1}: coded computation with {PDF_WORD} stragglers.", fontsize=11)
    content: bytes = doc.tobytes()
    doc.close()
    return content


def _pointed(name: str, server: FakeServer) -> bytes:
    """A stored reply with its links moved from the real hosts to this server."""
    body = (DATA / name).read_bytes()
    for host, path in ((b"https://arxiv.org/", b"/arxiv/"), (b"https://ieeexplore.ieee.org/", b"/ieee/")):
        body = body.replace(host, server.url.encode() + path)
    return body


def route_open_access(server: FakeServer) -> bytes:
    """Serve the open-access lookups and files; returns the PDF's bytes."""
    pdf = small_pdf("Speeding Up Distributed Machine Learning Using Codes")
    server.route(f"{ARXIV_PDF}/{CODED_ARXIV}", Reply(200, pdf, content_type="application/pdf"))
    server.route(f"{S2}/paper/DOI:{CODED_DOI.lower()}", Reply(200, _pointed("s2_oa_coded.json", server)))
    server.route(f"{OPENALEX}/works/doi:{CODED_DOI.lower()}", Reply(200, _pointed("openalex_oa_coded.json", server)))
    server.route("/ieee/ielx7/18/8315079/08002642.pdf",
                 Reply(200, b"<!DOCTYPE html><html><body>Sign in to IEEE Xplore</body></html>", content_type="text/html"))
    server.route(f"{S2}/paper/DOI:{CLOSED_DOI}", Reply(200, _pointed("s2_closed.json", server)))
    server.route(f"{OPENALEX}/works/doi:{CLOSED_DOI}", Reply(200, _pointed("openalex_closed.json", server)))
    return pdf


@pytest.fixture
def oa_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """The open-access lookups and files on loopback, the app pointed at them."""
    yield from app_pointed_at(monkeypatch, route_open_access)
