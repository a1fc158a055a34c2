"""Each online source against recorded real-format responses served on loopback."""

from __future__ import annotations

import json
from datetime import date

import pytest

from engine.errors import SourceError
from engine.events import Notice
from engine.papers import Paper
from engine.sources.arxiv import ArxivSource, keyword_query
from engine.sources.base import PaperSource, ReferenceSource, TitleMatcher
from engine.sources.catalog import GuardedSource, build_online_sources
from engine.sources.http import HttpFetcher
from engine.sources.keys import env_or_keyring, mask
from engine.sources.openalex import OpenAlexSource, abstract_from_inverted_index
from engine.sources.semantic_scholar import SemanticScholarSource
from engine.sources.serper import SerperSource
from tests.engine.sources.fake_server import FakeServer, Reply, data, free_port

ATOM = "application/atom+xml"
KEYS = {"semantic_scholar": "s2-key", "openalex": "oa-key", "serper": "serper-key"}


def arxiv(server: FakeServer, fetcher: HttpFetcher) -> ArxivSource:
    return ArxivSource(fetcher, api_url=f"{server.url}/api/query")


async def test_arxiv_search_parses_atom_and_sends_a_dated_and_query(server: FakeServer, fetcher: HttpFetcher) -> None:
    server.route("/api/query", Reply(200, data("arxiv_search.atom"), content_type=ATOM))
    papers = await arxiv(server, fetcher).search("coded computation for stragglers", limit=2, before=date(2024, 1, 1))
    assert [p.arxiv_id for p in papers] == ["1512.02673", "1612.03301"]
    first = papers[0]
    assert first.title == "Speeding Up Distributed Machine Learning Using Codes"
    assert first.authors[:2] == ("Kangwook Lee", "Maximilian Lam") and first.year == 2015
    assert first.doi == "10.1109/tit.2017.2736066" and first.venue and "Information Theory" in first.venue
    assert first.abstract.startswith("Codes are widely used") and "\n" not in first.abstract
    query = server.hits("/api/query")[0].query
    assert query["search_query"] == [
        "(all:coded AND all:computation AND all:stragglers) AND submittedDate:[199101010000 TO 202401010000]"
    ]
    assert query["max_results"] == ["2"]


async def test_arxiv_api_error_and_malformed_feeds_are_source_errors(server: FakeServer, fetcher: HttpFetcher) -> None:
    source = arxiv(server, fetcher)
    server.route("/api/query", Reply(200, data("arxiv_error.atom"), content_type=ATOM))
    with pytest.raises(SourceError, match="incorrect id format"):
        await source.by_ids(["1234.12345"])
    server.route("/api/query", Reply(200, data("arxiv_search.atom")[:700], content_type=ATOM))
    with pytest.raises(SourceError, match="malformed Atom"):
        await source.search("gradient coding", limit=5)
    server.route("/api/query", Reply(200, b"<html><body>Service unavailable</body></html>", content_type="text/html"))
    with pytest.raises(SourceError, match="not an Atom feed"):
        await source.search("gradient coding", limit=5)
    with pytest.raises(SourceError, match="no searchable words"):
        keyword_query("?? !!")


async def test_arxiv_by_ids_and_title_match(server: FakeServer, fetcher: HttpFetcher) -> None:
    server.route("/api/query", Reply(200, data("arxiv_search.atom"), content_type=ATOM))
    source = arxiv(server, fetcher)
    papers = await source.by_ids(["1612.03301v2", "arXiv:1512.02673"])
    assert {p.arxiv_id for p in papers} == {"1512.02673", "1612.03301"}
    assert server.hits("/api/query")[0].query["id_list"] == ["1512.02673,1612.03301"]
    match = await source.match_title("Speeding up distributed machine learning using codes")
    assert match is not None and match.arxiv_id == "1512.02673"
    assert await source.match_title("A completely different paper about proteins") is None


async def test_semantic_scholar_search_match_references_and_batch(server: FakeServer, fetcher: HttpFetcher) -> None:
    source = SemanticScholarSource(fetcher, keys=KEYS.get, api_url=f"{server.url}/graph/v1")
    assert isinstance(source, PaperSource) and isinstance(source, TitleMatcher) and isinstance(source, ReferenceSource)
    server.route("/graph/v1/paper/search", Reply(200, data("s2_search.json")))
    papers = await source.search("coded computation", limit=2, before=date(2023, 6, 1))
    assert [p.arxiv_id for p in papers] == ["1512.02673", "1612.03301"]
    assert papers[0].doi == "10.1109/tit.2017.2736066" and papers[0].external_ids["s2"].startswith("8e4a")
    hit = server.hits("/graph/v1/paper/search")[0]
    assert hit.query["publicationDateOrYear"] == [":2023-06-01"] and hit.headers.get("x-api-key") == "s2-key"

    server.route("/graph/v1/paper/search/match", Reply(200, data("s2_match.json")))
    found = await source.match_title("Attention is all you need")
    assert found is not None and found.arxiv_id == "1706.03762"
    server.route("/graph/v1/paper/search/match", Reply(200, data("s2_match_wrong.json")))
    assert await source.match_title("Attention is all you need (again)") is None
    server.route("/graph/v1/paper/search/match", Reply(404, data("s2_not_found.json")))
    assert await source.match_title("An unknown title nobody wrote") is None

    server.route("/graph/v1/paper/ARXIV:2401.00001/references", Reply(200, data("s2_references.json")))
    refs = await source.references(Paper(id="x", title="Citing paper", arxiv_id="2401.00001"))
    assert [r.paper.arxiv_id for r in refs] == ["1706.03762", "1810.04805"]  # the title-less stub is skipped
    assert refs[0].contexts and "Transformer" in refs[0].contexts[0]

    server.route("/graph/v1/paper/batch", Reply(200, data("s2_batch.json")))
    batch = await source.by_ids(["1706.03762", "9999.99999"])
    assert [p.arxiv_id for p in batch] == ["1706.03762"]
    seen = server.hits("/graph/v1/paper/batch")[0]
    assert seen.method == "POST" and json.loads(seen.body) == {"ids": ["ARXIV:1706.03762", "ARXIV:9999.99999"]}


async def test_semantic_scholar_without_key_sends_no_key_header(server: FakeServer, fetcher: HttpFetcher) -> None:
    source = SemanticScholarSource(fetcher, api_url=f"{server.url}/graph/v1")
    server.route("/graph/v1/paper/search", Reply(200, data("s2_search.json")))
    await source.search("coded computation", limit=2)
    assert "x-api-key" not in {k.lower() for k in server.hits("/graph/v1/paper/search")[0].headers}


async def test_semantic_scholar_unexpected_shape_is_an_error(server: FakeServer, fetcher: HttpFetcher) -> None:
    source = SemanticScholarSource(fetcher, api_url=f"{server.url}/graph/v1")
    server.route("/graph/v1/paper/search", Reply(200, b'{"data": "oops"}'))
    with pytest.raises(SourceError, match="unexpected response shape"):
        await source.search("anything", limit=3)


async def test_openalex_search_abstract_key_and_references(server: FakeServer, fetcher: HttpFetcher) -> None:
    source = OpenAlexSource(fetcher, keys=KEYS.get, api_url=server.url)
    server.route("/works", Reply(200, data("openalex_works.json")))
    papers = await source.search("attention transformer", limit=5, before=date(2020, 1, 1))
    paper = papers[0]
    assert paper.title == "Attention Is All You Need" and paper.arxiv_id == "1706.03762"
    assert paper.abstract == "The dominant sequence transduction models are based on attention."
    assert paper.authors == ("Ashish Vaswani", "Noam Shazeer") and paper.external_ids["openalex"] == "W2963403868"
    query = server.hits("/works")[0].query
    assert query["api_key"] == ["oa-key"] and query["filter"] == ["to_publication_date:2020-01-01"]

    server.route(
        "/works/W2963403868", Reply(200, json.dumps(json.loads(data("openalex_works.json"))["results"][0]).encode())
    )
    server.route("/works", Reply(200, data("openalex_refs.json")))
    refs = await source.references(paper)
    assert [r.paper.title for r in refs] == [
        "Long Short-Term Memory",
        "Neural Machine Translation by Jointly Learning to Align and Translate",
    ]
    assert refs[0].paper.doi == "10.1162/neco.1997.9.8.1735" and refs[1].paper.arxiv_id == "1409.0473"
    assert server.hits("/works")[-1].query["filter"] == ["openalex:W2130942839|W1522301498"]


def test_abstract_inverted_index_tolerates_junk() -> None:
    assert abstract_from_inverted_index({"b": [1], "a": [0], "bad": "x"}) == "a b"
    assert abstract_from_inverted_index(None) == ""


async def test_serper_google_query_filters_arxiv_and_enriches(server: FakeServer, fetcher: HttpFetcher) -> None:
    server.route("/search", Reply(200, data("serper_search.json")))
    server.route("/api/query", Reply(200, data("arxiv_search.atom"), content_type=ATOM))
    source = SerperSource(fetcher, keys=KEYS.get, enrich=arxiv(server, fetcher), api_url=f"{server.url}/search")
    papers = await source.search("coded computation stragglers", limit=10, before=date(2024, 1, 1))
    assert [p.arxiv_id for p in papers] == ["1512.02673", "1612.03301"]  # Wikipedia dropped, v2 deduplicated
    assert papers[0].abstract.startswith("Codes are widely used") and papers[0].source == "serper"
    seen = server.hits("/search")[0]
    assert json.loads(seen.body) == {"q": "coded computation stragglers site:arxiv.org before:2024-01-01", "num": 10}
    assert seen.headers.get("X-API-KEY") == "serper-key"


async def test_serper_without_key_or_with_arxiv_down(server: FakeServer, fetcher: HttpFetcher) -> None:
    with pytest.raises(SourceError, match="no API key"):
        await SerperSource(fetcher, api_url=f"{server.url}/search").search("q", limit=3)
    server.route("/search", Reply(200, data("serper_search.json")))
    server.route("/api/query", Reply(503, b"down"))
    source = SerperSource(fetcher, keys=KEYS.get, enrich=arxiv(server, fetcher), api_url=f"{server.url}/search")
    papers = await source.search("coded computation", limit=10)
    assert papers[0].title == "Speeding Up Distributed Machine Learning Using Codes"  # snippet hit kept
    assert papers[0].abstract.startswith("Dec 8, 2015")


async def test_guarded_source_reports_offline_once_and_returns_nothing(fetcher: HttpFetcher) -> None:
    notices: list[Notice] = []
    source = ArxivSource(fetcher, api_url=f"http://127.0.0.1:{free_port()}/api/query")
    guarded = GuardedSource(source, notices.append)
    for _ in range(3):
        assert await guarded.search("anything at all", limit=5) == []
    assert len([n for n in notices if n.source == "arxiv"]) == 1


def test_catalog_builds_named_sources(fetcher: HttpFetcher) -> None:
    built = build_online_sources(["local", "arxiv", "serper", "openalex", "semantic_scholar"], fetcher)
    assert sorted(built) == ["arxiv", "openalex", "semantic_scholar", "serper"]
    assert all(isinstance(s, PaperSource) for s in built.values())


def test_keys_come_from_env_and_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERPER_API_KEY", " abc123 ")
    assert env_or_keyring("serper") == "abc123"
    assert mask("abc123") == "set" and mask(None) == "not set"
