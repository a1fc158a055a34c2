"""Open-access PDFs (engine.fulltext.open_access) against a loopback server: arXiv's PDF by id, the PDF
Semantic Scholar or OpenAlex name for a DOI, web pages and oversized answers refused, offline told apart
from "none found"."""

from __future__ import annotations

from engine.fulltext.open_access import OpenAccessFinder, is_pdf, openalex_locations, s2_locations
from engine.papers import Paper
from engine.sources.http import HttpFetcher
from engine.sources.openalex import OpenAlexSource
from engine.sources.semantic_scholar import SemanticScholarSource
from tests.engine.fulltext.open_access_server import (
    ARXIV_PDF,
    CLOSED_DOI,
    CODED_ARXIV,
    CODED_DOI,
    OPENALEX,
    S2,
    route_open_access,
)
from tests.engine.sources.fake_server import FakeServer, free_port

CODED = Paper(id="t:1", title="Speeding Up Distributed Machine Learning Using Codes", year=2018, doi=CODED_DOI)


def finder(fetcher: HttpFetcher, base: str, **kwargs: int) -> OpenAccessFinder:
    return OpenAccessFinder(
        fetcher,
        semantic_scholar=SemanticScholarSource(fetcher, api_url=f"{base}{S2}"),
        openalex=OpenAlexSource(fetcher, api_url=f"{base}{OPENALEX}"),
        arxiv_pdf_url=f"{base}{ARXIV_PDF}",
        **kwargs,
    )


async def test_an_arxiv_id_goes_straight_to_arxiv(server: FakeServer, fetcher: HttpFetcher) -> None:
    pdf = route_open_access(server)
    found = await finder(fetcher, server.url).find(CODED.with_updates(doi=None, arxiv_id=f"{CODED_ARXIV}v2"))
    assert found.content == pdf and found.location is not None and found.location.source == "arxiv"
    assert found.location.url.endswith(f"/arxiv/pdf/{CODED_ARXIV}")  # the version dropped: the newest
    assert not [s for s in server.seen if s.path.startswith((S2, OPENALEX))]  # no lookup needed
    assert found.message().startswith("Found the open-access PDF via arXiv")


async def test_a_doi_is_looked_up_and_a_web_page_is_skipped(server: FakeServer, fetcher: HttpFetcher) -> None:
    pdf = route_open_access(server)
    found = await finder(fetcher, server.url).find(CODED)
    # S2 named the publisher's link (a sign-in page here); OpenAlex the arXiv copy, which is a PDF.
    assert found.content == pdf and found.location is not None and found.location.source == "openalex"
    assert "Semantic Scholar's link gave a web page, not a PDF" in found.tried
    assert server.hits("/ieee/ielx7/18/8315079/08002642.pdf")
    assert len(server.hits(f"{ARXIV_PDF}/{CODED_ARXIV}")) == 1  # best_oa_location and oa_url are one link


async def test_none_found_says_why(server: FakeServer, fetcher: HttpFetcher) -> None:
    route_open_access(server)
    found = await finder(fetcher, server.url).find(CODED.with_updates(doi=CLOSED_DOI))
    assert not found.found and not found.offline
    assert found.message() == ("No open-access PDF found (Semantic Scholar lists no open-access PDF; "
                               "OpenAlex lists no open-access PDF)")
    unknown = await finder(fetcher, server.url).find(CODED.with_updates(doi="10.9999/unknown"))
    assert "Semantic Scholar does not know the paper" in unknown.tried and not unknown.offline
    bare = await finder(fetcher, server.url).find(CODED.with_updates(doi=None))
    assert "no arXiv id or DOI" in bare.message() and not server.hits(f"{S2}/paper/DOI:")


async def test_oversized_or_offline(server: FakeServer, fetcher: HttpFetcher) -> None:
    pdf = route_open_access(server)
    small = await finder(fetcher, server.url, max_bytes=len(pdf) - 1).find(CODED.with_updates(arxiv_id=CODED_ARXIV))
    assert not small.found and any("over the" in t for t in small.tried)
    offline = await finder(fetcher, f"http://127.0.0.1:{free_port()}").find(CODED.with_updates(arxiv_id=CODED_ARXIV))
    assert offline.offline and not offline.found
    assert offline.message().startswith("Offline: could not reach arXiv, Semantic Scholar or OpenAlex")


def test_reading_the_services_replies() -> None:
    assert is_pdf(b"%PDF-1.7\n") and is_pdf(b"\xef\xbb\xbf\n%PDF-1.4") and not is_pdf(b"<!DOCTYPE html>")
    assert s2_locations({"openAccessPdf": {"url": "", "status": None}}) == []
    assert s2_locations({"openAccessPdf": None}) == [] and s2_locations(None) == []
    assert [loc.url for loc in openalex_locations(
        {"best_oa_location": {"pdf_url": None}, "open_access": {"oa_url": "https://x.org/a.pdf"}})] == ["https://x.org/a.pdf"]
