"""The online chain arXiv HTML → ar5iv → PDF over loopback, with the parsed result cached on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SourceOffline
from engine.fulltext.model import FullText
from engine.fulltext.online import ChainedFullTexts, OnlineFullTexts, fulltext_from_dict, fulltext_to_dict
from engine.papers import Paper
from engine.sources.cache import DiskCache
from engine.sources.http import HttpFetcher
from tests.engine.fulltext.test_pdf import PAGES, make_pdf
from tests.engine.sources.fake_server import FakeServer, Reply, free_port

DATA = Path(__file__).parent / "data"
HTML = (DATA / "latexml_2401.00001.html").read_bytes()
PAPER = Paper(id="arxiv:2401.00001", title="Robust Citation Expansion", arxiv_id="2401.00001v2")
NOT_FOUND = Reply(404, b"<html>Not found</html>", content_type="text/html")


def provider(server: FakeServer, fetcher: HttpFetcher, tmp_path: Path) -> OnlineFullTexts:
    return OnlineFullTexts(
        fetcher,
        cache=DiskCache(tmp_path),
        html_url=f"{server.url}/html/{{id}}",
        ar5iv_url=f"{server.url}/ar5iv/html/{{id}}",
        pdf_url=f"{server.url}/pdf/{{id}}",
    )


async def test_arxiv_html_first_then_cached(server: FakeServer, fetcher: HttpFetcher, tmp_path: Path) -> None:
    server.route("/html/2401.00001", Reply(200, HTML, content_type="text/html"))
    online = provider(server, fetcher, tmp_path)
    ft = await online.fulltext(PAPER)
    assert ft is not None and ft.origin == "arxiv-html" and ft.paper_id == "arxiv:2401.00001"
    again = await online.fulltext(PAPER)
    assert again == ft and len(server.seen) == 1  # the parsed text came from the disk cache


async def test_ar5iv_when_arxiv_has_no_html(server: FakeServer, fetcher: HttpFetcher, tmp_path: Path) -> None:
    server.route("/html/2401.00001", NOT_FOUND)
    server.route("/ar5iv/html/2401.00001", Reply(200, HTML, content_type="text/html"))
    ft = await provider(server, fetcher, tmp_path).fulltext(PAPER)
    assert ft is not None and ft.origin == "ar5iv"


async def test_pdf_when_ar5iv_redirects_to_the_abstract(
    server: FakeServer, fetcher: HttpFetcher, tmp_path: Path
) -> None:
    server.route("/html/2401.00001", Reply(200, b"<html><body>oops</body></html>", content_type="text/html"))
    server.route("/ar5iv/html/2401.00001", Reply(302, b"", headers={"Location": "/abs/2401.00001"}))
    server.route("/abs/2401.00001", Reply(200, b"<html>abstract page</html>", content_type="text/html"))
    server.route("/pdf/2401.00001", Reply(200, make_pdf(PAGES), content_type="application/pdf"))
    online = provider(server, fetcher, tmp_path)
    ft = await online.fulltext(PAPER)
    assert ft is not None and ft.origin == "pdf" and "ref.1" in ft.bibliography
    assert any("no LaTeXML article" in a for a in online.attempts)
    assert any("redirected" in a for a in online.attempts)


async def test_nothing_available_is_none_and_remembered(
    server: FakeServer, fetcher: HttpFetcher, tmp_path: Path
) -> None:
    for path in ("/html/2401.00001", "/ar5iv/html/2401.00001"):
        server.route(path, NOT_FOUND)
    server.route(
        "/pdf/2401.00001", Reply(200, b"%PDF-1.7 garbage that is not a real PDF", content_type="application/pdf")
    )
    online = provider(server, fetcher, tmp_path)
    assert await online.fulltext(PAPER) is None
    assert any("pdf:" in a for a in online.attempts)
    requests = len(server.seen)
    assert await online.fulltext(PAPER) is None and len(server.seen) == requests


async def test_offline_raises_and_non_arxiv_papers_are_skipped(fetcher: HttpFetcher, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    online = OnlineFullTexts(
        fetcher,
        cache=DiskCache(tmp_path),
        html_url=base + "/html/{id}",
        ar5iv_url=base + "/ar5iv/{id}",
        pdf_url=base + "/pdf/{id}",
    )
    with pytest.raises(SourceOffline):
        await online.fulltext(PAPER)
    assert await online.fulltext(Paper(id="doi:10.1/x", title="No arXiv id")) is None


async def test_chain_takes_the_first_provider_that_has_the_paper(
    server: FakeServer, fetcher: HttpFetcher, tmp_path: Path
) -> None:
    class Nothing:
        async def fulltext(self, paper: Paper) -> FullText | None:
            del paper
            return None

    server.route("/html/2401.00001", Reply(200, HTML, content_type="text/html"))
    chain = ChainedFullTexts([Nothing(), provider(server, fetcher, tmp_path)])
    ft = await chain.fulltext(PAPER)
    assert ft is not None and fulltext_from_dict(fulltext_to_dict(ft)) == ft
