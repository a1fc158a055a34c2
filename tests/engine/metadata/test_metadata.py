"""Completing papers' metadata against recorded arXiv, Semantic Scholar, OpenAlex and Crossref replies."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from engine.metadata import (
    Completion,
    MetadataSources,
    complete_paper,
    complete_papers,
    merge,
    offline_completion,
    title_verified,
)
from engine.papers import Paper
from engine.sources.crossref import CrossrefSource
from engine.sources.http import HttpFetcher
from engine.venues import conference_short_name, is_preprint_venue, normalise_venue, venues_conflict
from tests.engine.metadata.sources import (
    ARXIV,
    BERT,
    CROSSREF,
    GPT3,
    OPENALEX,
    S2,
    data,
    metadata_sources,
    route_recorded,
)
from tests.engine.sources.fake_server import FakeServer, Reply

RESNET = Paper(id="import:resnet", title="Deep residual learning for image recognition", year=2016, source="import")


def changes(completion: Completion) -> dict[str, tuple[str, str, str]]:
    return {c.field: (c.old, c.new, c.source) for c in completion.changes}


async def test_identifiers_first_arxiv_id_then_the_publishers_doi(server: FakeServer, fetcher: HttpFetcher) -> None:
    route_recorded(server)
    done = await complete_paper(BERT, metadata_sources(server, fetcher))
    paper = done.paper
    assert paper.authors == ("Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova")
    assert paper.doi == "10.18653/v1/n19-1423" and paper.url == "https://doi.org/10.18653/v1/n19-1423"
    # Crossref's "Proceedings of the 2019 Conference of the North American Chapter … (Long and Short Papers)".
    assert paper.venue == "NAACL"
    assert paper.external_ids["pages"] == "4171-4186"
    assert paper.external_ids["publisher"] == "Association for Computational Linguistics"
    assert paper.year == 2018 and paper.title == BERT.title  # what was known stays
    got = changes(done)
    assert got["authors"][2] == "arxiv" and got["doi"] == ("", "10.18653/v1/n19-1423", "crossref")
    assert got["venue"][2] == "crossref" and got["pages"] == ("", "4171-4186", "crossref")
    assert done.matches[0] == "arxiv: arXiv id 1810.04805" and not done.messages
    # The arXiv id was asked of arXiv (id_list), S2 by ARXIV:, Crossref by the DOI S2 gave; no title search.
    assert server.hits(ARXIV)[0].query["id_list"] == ["1810.04805"]
    assert server.hits(f"{CROSSREF}/works/10.18653/v1/n19-1423")[0].query["mailto"] == ["someone@example.org"]
    assert not server.hits(f"{S2}/paper/search/match") and not server.hits(f"{CROSSREF}/works")


async def test_neurips_2020_paper_reads_neurips_and_keeps_its_arxiv_link(
    server: FakeServer, fetcher: HttpFetcher
) -> None:
    route_recorded(server)
    done = await complete_paper(GPT3, metadata_sources(server, fetcher))
    assert done.paper.venue == "NeurIPS"
    assert changes(done)["venue"] == ("NIPS", "NeurIPS", "venue names")
    assert done.paper.authors[0] == "Tom B. Brown"  # arXiv's list, not OpenAlex's "T. B. Brown"
    # No publisher DOI exists: arXiv's DataCite DOI, the arXiv page as URL, and no "publisher: Cornell".
    assert done.paper.doi == "10.48550/arxiv.2005.14165"
    assert done.paper.url == "https://arxiv.org/abs/2005.14165"
    assert "publisher" not in done.paper.external_ids and "volume" not in done.paper.external_ids


async def test_title_match_is_verified_and_a_wrong_candidate_is_refused(
    server: FakeServer, fetcher: HttpFetcher
) -> None:
    route_recorded(server)
    sources = metadata_sources(server, fetcher)
    done = await complete_paper(RESNET, MetadataSources(crossref=sources.crossref))
    # Crossref's first guess is "… : A Survey" (2022): refused; the second is the CVPR paper.
    assert done.paper.doi == "10.1109/cvpr.2016.90"
    assert done.paper.authors == ("Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun")
    assert done.paper.venue == "CVPR" and done.paper.external_ids["pages"] == "770-778"
    assert any("Survey" in m and "another paper" in m for m in done.messages)
    assert done.matches == ("crossref: title",)
    assert server.hits(f"{CROSSREF}/works")[0].query["query.bibliographic"] == [RESNET.title]

    server.route(f"{CROSSREF}/works", Reply(200, data("crossref_search_wrong.json")))
    other = RESNET.with_updates(id="import:resnet2", title="Deep residual learning for image recognition tasks")
    refused = await complete_paper(
        other, MetadataSources(crossref=CrossrefSource(fetcher, api_url=f"{server.url}{CROSSREF}"))
    )
    assert refused.paper == other and not refused.changes
    assert refused.messages and "refused the match by title" in refused.messages[0]


async def test_title_match_needs_the_year_and_shared_authors(server: FakeServer, fetcher: HttpFetcher) -> None:
    route_recorded(server)
    sources = MetadataSources(semantic_scholar=metadata_sources(server, fetcher).semantic_scholar)
    wrong_year = await complete_paper(RESNET.with_updates(year=2021), sources)
    assert not wrong_year.changes and "from 2015, not 2021" in wrong_year.messages[0]
    wrong_people = await complete_paper(RESNET.with_updates(authors=("Ada Lovelace",)), sources)
    assert not wrong_people.changes and "other authors" in wrong_people.messages[0]
    right = await complete_paper(RESNET.with_updates(authors=("K. He",)), sources)
    # S2 says 2015 (the arXiv preprint); the CVPR paper is 2016: within a year, accepted.
    assert right.paper.doi == "10.1109/cvpr.2016.90" and right.paper.venue == "CVPR"
    # The first author alone was an abbreviation of the full list (the library protects a user's own).
    assert right.paper.authors == ("Kaiming He", "X. Zhang", "Shaoqing Ren", "Jian Sun")


async def test_user_edited_fields_are_never_overwritten(server: FakeServer, fetcher: HttpFetcher) -> None:
    route_recorded(server)
    mine = BERT.with_updates(
        authors=("J. Devlin", "et al."), venue="NAACL-HLT 2019 (best long paper)", url="https://example.org/bert"
    )
    sources = metadata_sources(server, fetcher)
    kept = await complete_paper(mine, sources, protected=frozenset({"authors", "venue", "url"}))
    assert kept.paper.authors == mine.authors and kept.paper.venue == mine.venue and kept.paper.url == mine.url
    assert kept.paper.doi == "10.18653/v1/n19-1423"  # blanks are still filled
    assert {"authors", "venue", "url"}.isdisjoint(changes(kept))
    # Not protected: "et al." gives way to the full list, the user's URL still stays (never replaced).
    free = await complete_paper(mine, sources)
    assert free.paper.authors[-1] == "Kristina Toutanova" and free.paper.url == mine.url


async def test_a_faulty_service_leaves_the_paper_unchanged_with_a_message(
    server: FakeServer, fetcher: HttpFetcher
) -> None:
    server.route(ARXIV, Reply(200, b"<html>Rate exceeded.</html>", content_type="text/html"))
    server.route(f"{S2}/paper/ARXIV:1810.04805", Reply(429, b'{"message": "Too Many Requests"}', {"Retry-After": "0"}))
    server.route(f"{OPENALEX}/works/doi:10.48550/arxiv.1810.04805", Reply(200, b'{"id": "W1", "title": '))
    plain = BERT.with_updates(venue="Proc. of the Thirty-Second Annual Conference")
    done = await complete_paper(plain, metadata_sources(server, fetcher))
    assert done.paper == plain and not done.changes and not done.matches
    text = " | ".join(done.messages)
    assert "arxiv: not an Atom feed" in text
    assert "semantic_scholar: HTTP 429 after 3 retries" in text
    assert "openalex: malformed JSON" in text
    assert len(server.hits(f"{S2}/paper/ARXIV:1810.04805")) == 4  # one try and three retries, then it moved on


async def test_many_papers_share_one_arxiv_request(server: FakeServer, fetcher: HttpFetcher) -> None:
    route_recorded(server)
    seen: list[tuple[int, int]] = []
    done = await complete_papers(
        [BERT, GPT3, RESNET], metadata_sources(server, fetcher), progress=lambda d, t: seen.append((d, t))
    )
    assert [c.original.id for c in done] == [BERT.id, GPT3.id, RESNET.id]
    assert len(server.hits(ARXIV)) == 1 and server.hits(ARXIV)[0].query["id_list"] == ["1810.04805,2005.14165"]
    assert done[0].paper.venue == "NAACL" and done[1].paper.venue == "NeurIPS" and done[2].paper.venue == "CVPR"
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]


def test_offline_completion_only_renames_venues() -> None:
    assert offline_completion(GPT3).paper.venue == "NeurIPS"
    assert offline_completion(GPT3, protected=frozenset({"venue"})).paper == GPT3
    assert not offline_completion(BERT).changes
    assert merge(GPT3.with_updates(venue="arXiv"), []).paper.venue == "arXiv"  # nothing better known


@pytest.mark.parametrize(
    ("venue", "year", "expected"),
    [
        ("NIPS", 2020, "NeurIPS"),
        ("NIPS", 2017, "NIPS"),
        ("Neural Information Processing Systems", 2016, "NIPS"),
        ("Advances in Neural Information Processing Systems 33", 2020, "NeurIPS"),
        ("NeurIPS 2019", None, "NeurIPS"),
        ("Proceedings of the 37th International Conference on Machine Learning", 2020, "ICML"),
        ("International Conference on Learning Representations", 2021, "ICLR"),
        ("2019 IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)", 2019, "CVPR"),
        ("Proceedings of the 58th Annual Meeting of the Association for Computational Linguistics", 2020, "ACL"),
        ("Proceedings of the 2020 Conference on Empirical Methods in Natural Language Processing (EMNLP)", 2020, "EMNLP"),
        ("Thirty-Fourth AAAI Conference on Artificial Intelligence", 2020, "AAAI"),
        ("Proceedings of the 26th ACM SIGKDD International Conference on Knowledge Discovery & Data Mining", 2020, "KDD"),
        # Not the main conference, or not a conference in the table: the name stays.
        ("Findings of the Association for Computational Linguistics: EMNLP 2020", 2020,
         "Findings of the Association for Computational Linguistics: EMNLP 2020"),
        ("ICML Workshop on Uncertainty and Robustness", 2019, "ICML Workshop on Uncertainty and Robustness"),
        ("International Conference on Machine Learning and Applications", 2020,
         "International Conference on Machine Learning and Applications"),
        ("IEEE Transactions on Information Theory", 2018, "IEEE Transactions on Information Theory"),
        ("  Nature   ", 2020, "Nature"),
    ],
)  # fmt: skip
def test_venue_names(venue: str, year: int | None, expected: str) -> None:
    assert normalise_venue(venue, year) == expected


def test_preprint_venues() -> None:
    assert all(is_preprint_venue(v) for v in ("arXiv", "arXiv.org", "ArXiv", "arXiv (Cornell University)", "CoRR"))
    assert not any(is_preprint_venue(v) for v in ("NeurIPS", "", None, "Journal of arXiv studies"))
    assert conference_short_name("ICLR 2024") == "ICLR" and conference_short_name("Nature") is None


def _crossref_list(*items: Mapping[str, object]) -> bytes:
    return json.dumps(
        {"status": "ok", "message-type": "work-list", "message": {"items": [dict(i) for i in items]}}
    ).encode()


async def test_a_journal_version_is_not_taken_for_the_conference_paper(
    server: FakeServer, fetcher: HttpFetcher
) -> None:
    # As the offline index holds a conference paper: authors, year and venue, no identifier.
    paper = Paper(
        id="nips2019:abc", title="Coded Computation Against Straggling Workers", authors=("Ada Lovelace", "Alan Turing"),
        year=2019, venue="NIPS", source="conference",
    )  # fmt: skip
    journal = {
        "DOI": "10.1109/tit.2020.3000001", "type": "journal-article",
        "title": ["Coded computation against straggling workers"],
        "author": [{"given": "Ada", "family": "Lovelace", "sequence": "first", "affiliation": []}],
        "container-title": ["IEEE Transactions on Information Theory"], "issued": {"date-parts": [[2020, 3]]},
        "page": "1-14", "volume": "66", "issue": "3", "publisher": "Institute of Electrical and Electronics Engineers (IEEE)",
    }  # fmt: skip
    server.route(f"{CROSSREF}/works", Reply(200, _crossref_list(journal)))
    sources = MetadataSources(crossref=CrossrefSource(fetcher, api_url=f"{server.url}{CROSSREF}"))
    done = await complete_paper(paper, sources)
    assert done.paper == paper.with_updates(venue="NeurIPS")  # only the venue name, offline knowledge
    assert "was published in 'IEEE Transactions on Information Theory', not 'NIPS'" in done.messages[0]
    # The same record for a paper the library knows only by title and year is accepted (nothing contradicts it).
    bare = paper.with_updates(venue=None, authors=())
    accepted = await complete_paper(bare, sources)
    assert accepted.paper.doi == "10.1109/tit.2020.3000001" and accepted.paper.external_ids["volume"] == "66"


def test_venue_conflicts() -> None:
    assert venues_conflict("ICML", "Advances in Neural Information Processing Systems 32")
    assert not venues_conflict("NIPS", "Advances in Neural Information Processing Systems 32")
    assert venues_conflict("IROS", "IEEE Robotics and Automation Letters", "journal")
    assert not venues_conflict(
        "IROS", "2019 IEEE/RSJ International Conference on Intelligent Robots and Systems", "conference"
    )
    assert not venues_conflict("arXiv", "Nature", "journal") and not venues_conflict(None, "ICML")
    assert not venues_conflict("Nature", "Nature", "journal")


async def test_a_wrong_identifier_is_refused_and_an_unknown_doi_is_no_error(
    server: FakeServer, fetcher: HttpFetcher
) -> None:
    route_recorded(server)
    sources = metadata_sources(server, fetcher)
    # A typo in the user's arXiv id: arXiv and S2 answer with BERT, whose title is plainly another paper's.
    typo = Paper(id="import:x", title="Gradient Coding from Cyclic MDS Codes", year=2018, arxiv_id="1810.04805")
    done = await complete_paper(typo, MetadataSources(arxiv=sources.arxiv, semantic_scholar=sources.semantic_scholar))
    assert done.paper == typo and not done.changes
    assert "arxiv: refused the match by arXiv id 1810.04805: the record found is titled 'BERT" in done.messages[0]
    # Crossref does not know every DOI (DataCite's, a typo): 404 is an answer, not a failure.
    unknown = Paper(id="import:y", title="A dataset", year=2021, doi="10.5281/zenodo.123456")
    done = await complete_paper(unknown, MetadataSources(crossref=sources.crossref))
    assert done.paper == unknown and not done.messages
    assert server.hits(f"{CROSSREF}/works/10.5281/zenodo.123456")


def test_a_title_match_with_another_identifier_is_another_version() -> None:
    cvpr = Paper(id="c", title="Deep Residual Learning for Image Recognition", year=2016, doi="10.1109/cvpr.2016.90")
    assert title_verified(RESNET, cvpr) is None
    why = title_verified(RESNET.with_updates(doi="10.1109/tpami.2016.0001"), cvpr)
    assert why is not None and "has DOI 10.1109/cvpr.2016.90, not 10.1109/tpami.2016.0001" in why
    assert title_verified(RESNET.with_updates(doi="10.48550/arxiv.1512.03385"), cvpr) is None  # the preprint's DOI
    why = title_verified(RESNET.with_updates(arxiv_id="1512.03385"), cvpr.with_updates(arxiv_id="1603.05027"))
    assert why is not None and "is arXiv 1603.05027" in why
