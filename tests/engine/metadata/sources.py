"""The four metadata sources pointed at one loopback server, and its routes for the recorded replies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.metadata import MetadataSources
from engine.papers import Paper
from engine.sources.arxiv import ArxivSource
from engine.sources.crossref import CrossrefSource
from engine.sources.http import HttpFetcher
from engine.sources.openalex import OpenAlexSource
from engine.sources.semantic_scholar import SemanticScholarSource
from pasa_desktop.library.completion import API_BASE_ENV
from tests.engine.sources.fake_server import FakeServer, Reply, serve

DATA = Path(__file__).parent / "data"
ATOM = "application/atom+xml"

ARXIV = "/arxiv/api/query"
S2 = "/s2/graph/v1"
OPENALEX = "/openalex"
CROSSREF = "/crossref"

# As the offline index holds them: an arXiv id, a title, a year, nothing else.
BERT = Paper(
    id="local:1810.04805",
    title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
    year=2018,
    arxiv_id="1810.04805",
    source="local",
)
GPT3 = Paper(
    id="local:2005.14165", title="Language Models are Few-Shot Learners", year=2020, arxiv_id="2005.14165",
    venue="NIPS", source="local",
)  # fmt: skip


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def metadata_sources(server: FakeServer, fetcher: HttpFetcher) -> MetadataSources:
    return MetadataSources(
        arxiv=ArxivSource(fetcher, api_url=f"{server.url}{ARXIV}"),
        semantic_scholar=SemanticScholarSource(fetcher, api_url=f"{server.url}{S2}"),
        openalex=OpenAlexSource(fetcher, api_url=f"{server.url}{OPENALEX}"),
        crossref=CrossrefSource(fetcher, api_url=f"{server.url}{CROSSREF}", mailto="someone@example.org"),
    )


def route_recorded(server: FakeServer) -> None:
    """What the real services answer for BERT, GPT-3 and ResNet (recorded shapes, trimmed)."""
    server.route(ARXIV, Reply(200, data("arxiv_ids.atom"), content_type=ATOM))
    server.route(f"{S2}/paper/ARXIV:1810.04805", Reply(200, data("s2_bert.json")))
    server.route(f"{S2}/paper/ARXIV:2005.14165", Reply(200, data("s2_gpt3.json")))
    server.route(f"{S2}/paper/search/match", Reply(200, data("s2_match_resnet.json")))
    server.route(f"{CROSSREF}/works/10.18653/v1/n19-1423", Reply(200, data("crossref_bert.json")))
    server.route(f"{CROSSREF}/works", Reply(200, data("crossref_search_resnet.json")))
    server.route(f"{OPENALEX}/works/doi:10.1109/cvpr.2016.90", Reply(200, data("openalex_resnet.json")))
    server.route(f"{OPENALEX}/works/doi:10.48550/arxiv.2005.14165", Reply(200, data("openalex_gpt3.json")))


def app_pointed_at(monkeypatch: pytest.MonkeyPatch, route: Callable[[FakeServer], object]) -> Iterator[FakeServer]:
    """A loopback server with `route`'s replies, and the library's online actions pointed at it
    (PASA_METADATA_API)."""
    for server in serve():
        route(server)
        monkeypatch.setenv(API_BASE_ENV, server.url)
        yield server


@pytest.fixture
def metadata_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """The recorded arXiv, Semantic Scholar, OpenAlex and Crossref replies."""
    yield from app_pointed_at(monkeypatch, route_recorded)
