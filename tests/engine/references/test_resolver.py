"""CitationResolver: structured sources, identifiers, verified title matching; never a guess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import SourceError
from engine.events import Notice
from engine.fulltext.bibliography import parse_bib_entry
from engine.fulltext.model import BibEntry
from engine.papers import Paper
from engine.references import CitationResolver, LocalReferenceResolver, ReferenceResolver, candidate_segments
from engine.sources.base import CitedReference
from engine.sources.http import HttpFetcher
from engine.sources.local_index import LocalIndex, build_index
from engine.sources.semantic_scholar import SemanticScholarSource
from tests.engine.sources.fake_server import FakeServer, Reply, data

ROWS = [
    {
        "id": "arxiv:1706.03762",
        "arxiv_id": "1706.03762",
        "title": "Attention is All you Need",
        "year": 2017,
        "abstract": "Transformers.",
        "authors": ["Ashish Vaswani"],
        "venue": "NeurIPS",
        "source": "arxiv",
    },
    {"id": "iclr2018:x1", "arxiv_id": None, "title": "Attention Is Not All You Need for Everything", "year": 2018},
    {"id": "nips2015:lstm", "arxiv_id": None, "title": "Deep Learning", "year": 2015},
    {
        "id": "emnlp2021:videoclip",
        "arxiv_id": None,
        "title": "VideoCLIP: Contrastive Pre-training for Zero-shot Video-Text Understanding",
        "year": 2021,
    },
    {
        "id": "arxiv:1810.04805",
        "arxiv_id": "1810.04805",
        "title": "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        "year": 2018,
    },
    {"id": "cvpr2016:resnet", "arxiv_id": None, "title": "Deep Residual Learning for Image Recognition", "year": 2016},
]
CITING = Paper(id="arxiv:2401.00001", title="Citing paper", arxiv_id="2401.00001")


@pytest.fixture
def index(tmp_path: Path) -> LocalIndex:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    build_index(corpus, tmp_path / "index.sqlite")
    return LocalIndex(tmp_path / "index.sqlite")


def entry(raw: str, key: str = "b1", **ids: str) -> BibEntry:
    return parse_bib_entry(key, raw, ids=ids)


async def test_identifiers_resolve_exactly_found_or_not(index: LocalIndex) -> None:
    resolver = LocalReferenceResolver(index)
    assert isinstance(resolver, ReferenceResolver)
    entries = [
        entry("J. Devlin et al. BERT. arXiv preprint arXiv:1810.04805, 2018.", "a"),
        entry("Z. Someone. A paper nobody indexed. arXiv:2101.00042, 2021.", "b"),
        entry("S. Hochreiter, Neural Comput. 9, 1735 (1997), doi:10.1162/neco.1997.9.8.1735", "c"),
    ]
    found, missing, by_doi = await resolver.resolve(CITING, entries)
    assert found.method == "arxiv-id" and found.paper is not None and found.paper.source == "local"
    assert found.paper.title.startswith("BERT") and found.confidence == 1.0
    assert missing.paper is not None and missing.paper.arxiv_id == "2101.00042"
    assert missing.paper.title == "A paper nobody indexed" and missing.paper.key == "arxiv:2101.00042"
    assert by_doi.method == "doi" and by_doi.paper is not None and by_doi.paper.doi == "10.1162/neco.1997.9.8.1735"


async def test_titles_match_fuzzily_but_near_misses_stay_unresolved(index: LocalIndex) -> None:
    resolver = LocalReferenceResolver(index)
    results = await resolver.resolve(
        CITING,
        [
            entry("A. Vaswani, N. Shazeer, and N. Parmar. Attention is all you need. In NIPS, 2017.", "ok"),
            entry(
                "K. He, X. Zhang, S. Ren, and J. Sun, “Deep residual learning for image recognition,” CVPR, 2016.", "q"
            ),
            # The index holds "Attention Is Not All You Need for Everything": similar, but not this paper.
            entry("A. Other. Attention is not all you need. In ICML, 2021.", "near"),
            # "Deep Learning" (2015) occurs in the raw string but is not its title.
            entry("Y. Author. Deep learning for protein folding at scale. Nature, 2019.", "generic"),
            entry("Kristensen, L. E., van Dishoeck, E. F., et al. 2012, , 542, A8", "none"),
        ],
    )
    by_key = {r.entry.id: r for r in results}
    assert by_key["ok"].method == "title-local" and by_key["ok"].paper is not None
    assert by_key["ok"].paper.arxiv_id == "1706.03762" and 0.85 <= by_key["ok"].confidence <= 1.0
    assert by_key["q"].paper is not None and by_key["q"].paper.id == "cvpr2016:resnet"
    for key in ("near", "generic", "none"):
        assert by_key[key].paper is None and by_key[key].method == "none" and by_key[key].confidence == 0.0


async def test_segments_rescue_entries_the_parser_cannot_read(index: LocalIndex) -> None:
    raw = (
        "Hu Xu, Gargi Ghosh, Po-Yao Huang, Dmytro Okhonko, Armen Aghajanyan, and Florian Metze Luke Zettlemoyer "
        "Christoph Feichtenhofer. 2021. Videoclip: Contrastive pre-training for zero-shot video-text "
        "understanding. In EMNLP."
    )
    assert entry(raw).title is None
    assert "Videoclip: Contrastive pre-training for zero-shot video-text understanding" in candidate_segments(raw)
    (result,) = await LocalReferenceResolver(index).resolve(CITING, [entry(raw)])
    assert result.method == "segment-local" and result.paper is not None and result.paper.id == "emnlp2021:videoclip"


async def test_entry_links_are_used_only_when_allowed(index: LocalIndex) -> None:
    linked = entry("A. Author, Some journal 12, 34 (2019).", linked_arxiv_id="1706.03762v5")
    (with_links,) = await LocalReferenceResolver(index).resolve(CITING, [linked])
    assert with_links.method == "entry-link" and with_links.paper is not None
    assert with_links.paper.arxiv_id == "1706.03762"
    (without,) = await LocalReferenceResolver(index, use_entry_links=False).resolve(CITING, [linked])
    assert without.paper is None


class Structured:
    name = "semantic_scholar"

    def __init__(self, refs: list[CitedReference] | None = None, fail: bool = False) -> None:
        self.refs = refs or []
        self.fail = fail
        self.calls = 0

    async def references(self, paper: Paper) -> list[CitedReference]:
        del paper
        self.calls += 1
        if self.fail:
            raise SourceError(self.name, "HTTP 503 after 3 retries", retriable=True)
        return self.refs


async def test_structured_references_come_first_and_failures_are_reported_once(index: LocalIndex) -> None:
    s2_paper = Paper(id="s2:abc", title="Sinkhorn Distances: Lightspeed Computation of Optimal Transport", year=2013)
    resolver = CitationResolver(local=index, reference_sources=[Structured([CitedReference(s2_paper, ("ctx",))])])
    (hit,) = await resolver.resolve(
        CITING, [entry("Marco Cuturi. 2013. Sinkhorn distances: Lightspeed computation of optimal transport. NIPS.")]
    )
    assert hit.method == "s2-references" and hit.paper == s2_paper

    notices: list[Notice] = []
    failing = Structured(fail=True)
    resolver = CitationResolver(local=index, reference_sources=[failing], notify=notices.append)
    for _ in range(2):
        (res,) = await resolver.resolve(CITING, [entry("A. Vaswani. Attention is all you need. NIPS 2017.")])
        assert res.method == "title-local"  # the search goes on without the structured source
    assert len(notices) == 1 and "503" in notices[0].message and failing.calls == 1


async def test_online_title_match_when_the_local_index_misses(
    index: LocalIndex, server: FakeServer, fetcher: HttpFetcher
) -> None:
    server.route("/graph/v1/paper/search/match", Reply(200, data("s2_match.json")))
    s2 = SemanticScholarSource(fetcher, api_url=f"{server.url}/graph/v1")
    resolver = CitationResolver(matchers=[s2])
    (res,) = await resolver.resolve(CITING, [entry("A. Vaswani et al. Attention is all you need. NIPS, 2017.")])
    assert res.method == "title-match" and res.paper is not None and res.paper.arxiv_id == "1706.03762"
    server.route("/graph/v1/paper/search/match", Reply(500, b"{}"))
    resolver = CitationResolver(matchers=[s2])
    (res,) = await resolver.resolve(CITING, [entry("B. Author. Another fine title of a paper. ICML, 2020.")])
    assert res.paper is None


async def test_untitled_entries_match_a_unique_structured_reference_by_authors_and_year(index: LocalIndex) -> None:
    pbe = Paper(
        id="s2:pbe",
        title="Generalized Gradient Approximation Made Simple",
        year=1996,
        authors=("J. Perdew", "K. Burke", "M. Ernzerhof"),
    )
    other = Paper(id="s2:o", title="Something else", year=1996, authors=("J. Perdew", "Y. Wang"))
    resolver = CitationResolver(
        local=index, reference_sources=[Structured([CitedReference(pbe), CitedReference(other)])]
    )
    (hit,) = await resolver.resolve(
        CITING, [entry("J. P. Perdew, K. Burke, and M. Ernzerhof, Phys. Rev. Lett. 77, 3865 (1996).")]
    )
    assert hit.paper == pbe and hit.method == "s2-references" and hit.confidence == 0.9

    twin = Paper(
        id="s2:twin",
        title="Another paper by the same three",
        year=1996,
        authors=("J. Perdew", "K. Burke", "M. Ernzerhof"),
    )
    resolver = CitationResolver(
        local=index, reference_sources=[Structured([CitedReference(pbe), CitedReference(twin)])]
    )
    (ambiguous,) = await resolver.resolve(
        CITING, [entry("J. P. Perdew, K. Burke, and M. Ernzerhof, PRL 77, 3865 (1996).")]
    )
    assert ambiguous.paper is None


async def test_online_title_lookups_are_bounded_per_call(server: FakeServer, fetcher: HttpFetcher) -> None:
    server.route("/graph/v1/paper/search/match", Reply(404, data("s2_not_found.json")))
    s2 = SemanticScholarSource(fetcher, api_url=f"{server.url}/graph/v1")
    resolver = CitationResolver(matchers=[s2], max_online_lookups=2)
    entries = [
        entry(f"A. Author. A distinct paper title number {w}. In ICML, 2020.", w) for w in ("one", "two", "six", "ten")
    ]
    results = await resolver.resolve(CITING, entries)
    assert all(r.paper is None for r in results)
    assert len(server.hits("/graph/v1/paper/search/match")) == 2
    await resolver.resolve(CITING, entries[:1])
    assert len(server.hits("/graph/v1/paper/search/match")) == 3  # the budget is per call


async def test_an_identifier_nobody_knows_is_enriched_by_a_verified_title_match(index: LocalIndex) -> None:
    raw = "K. He, X. Zhang, S. Ren, and J. Sun. Deep residual learning for image recognition. CVPR, 2016. doi:10.1109/CVPR.2016.90"
    (res,) = await LocalReferenceResolver(index).resolve(CITING, [entry(raw)])
    assert res.method == "doi" and res.confidence == 1.0 and res.paper is not None
    assert res.paper.doi == "10.1109/cvpr.2016.90" and res.paper.key == "doi:10.1109/cvpr.2016.90"
    assert res.paper.title == "Deep Residual Learning for Image Recognition" and res.paper.id == "cvpr2016:resnet"
    # An arXiv id that contradicts the title match keeps the exact, bare record.
    raw = "A. Vaswani. Attention is all you need. NIPS 2017. arXiv:1701.00001"
    (res,) = await LocalReferenceResolver(index).resolve(CITING, [entry(raw)])
    assert res.paper is not None and res.paper.arxiv_id == "1701.00001" and res.paper.source == "bibliography"
