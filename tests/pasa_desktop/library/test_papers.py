"""Papers live once: dedup by arXiv id / DOI / title+year+first author (all known); merging keeps everything."""

from __future__ import annotations

from engine.events import FoundBy, PaperScored, PapersFound
from engine.papers import Paper
from pasa_desktop.library import Library
from tests.pasa_desktop.library.conftest import make_paper


def test_dedup_by_arxiv_id_any_version(library: Library) -> None:
    a = library.add_paper(make_paper(1, arxiv_id="2101.10001v1", abstract=""))
    b = library.add_paper(
        make_paper(1, id="s2:1", arxiv_id="arXiv:2101.10001v4", title="Another Title", abstract="Filled.")
    )
    assert a.created and not b.created and a.paper_id == b.paper_id
    row = library.paper(a.paper_id)
    assert row.title == "Gradient Coding for Straggler Mitigation, Study 1"  # first record's title wins
    assert row.abstract == "Filled."  # blanks are filled from the second record
    assert len(library.paper_sources(a.paper_id)) == 2


def test_dedup_by_doi_case_insensitive(library: Library) -> None:
    a = library.add_paper(Paper(id="x", title="One", doi="10.1145/ABC.123"))
    b = library.add_paper(Paper(id="y", title="Uno", doi="https://doi.org/10.1145/abc.123"))
    assert a.paper_id == b.paper_id


def test_dedup_by_title_year_and_first_author(library: Library) -> None:
    base = Paper(id="a", title="Deep Residual Learning for Image Recognition", authors=("Kaiming He",), year=2016)
    first = library.add_paper(base)
    same = library.add_paper(base.with_updates(id="b", title="Deep residual learning for image recognition."))
    other_year = library.add_paper(base.with_updates(id="c", year=2019))
    other_author = library.add_paper(base.with_updates(id="d", authors=("Someone Else",)))
    unknown_year = library.add_paper(base.with_updates(id="e", year=None, authors=()))
    assert same.paper_id == first.paper_id
    assert same.basis == "title" and "no shared identifier" in same.reason
    # A missing year or author is unknown, not a wildcard: kept apart, listed as a possible duplicate.
    assert other_year.created and other_author.created and unknown_year.created
    reasons = {(p.keep, p.drop): p.reason for p in library.duplicates()}
    assert reasons[(first.paper_id, unknown_year.paper_id)] == "same title; year unknown on one side"


def test_different_arxiv_ids_with_same_title_stay_apart(library: Library) -> None:
    a = library.add_paper(Paper(id="a", title="Introduction", arxiv_id="2101.00001"))
    b = library.add_paper(Paper(id="b", title="Introduction", arxiv_id="2101.00002"))
    assert a.paper_id != b.paper_id


def test_citekeys_are_better_bibtex_style_stable_and_suffixed(library: Library) -> None:
    vaswani = Paper(id="v", title="Attention Is All You Need", authors=("Ashish Vaswani",), year=2017)
    first = library.paper(library.add_paper(vaswani).paper_id)
    assert first.citekey == "vaswaniAttentionAllYou2017"
    second = library.paper(library.add_paper(vaswani.with_updates(id="w", year=2017, doi="10.1/w")).paper_id)
    # A record that merges into the same paper keeps its key: stable.
    assert second.citekey == first.citekey
    clash = library.add_paper(vaswani.with_updates(id="z", authors=("Ashish Vaswani", "X"), arxiv_id="1706.0376"))
    other = library.paper(
        library.add_paper(
            Paper(id="q", title="Attention: All You Need?", authors=("B Vaswani",), year=2017, doi="10.1/other")
        ).paper_id
    )
    assert clash.paper_id == first.id
    assert other.citekey == "vaswaniAttentionAllYou2017a"


def test_merge_keeps_runs_scores_notes_tags_collections(library: Library) -> None:
    run = library.create_run("q", {})
    a, b = make_paper(1), make_paper(2)
    library.record(run, PapersFound((a, b), (FoundBy("query", query="q"), FoundBy("query", query="q"))))
    library.record(run, PaperScored(b.key, 0.7, True, "why"))
    rows = {r.key: r.paper.id for r in library.run_papers(run)}
    keep, drop = rows[a.key], rows[b.key]
    library.add_note(drop, "my note on the duplicate")
    library.add_tag(drop, "to-read")
    library.add_tag(keep, "to-read")
    coll = library.create_collection("Thesis")
    library.add_to_collection(coll, [drop])
    library.set_rating(drop, 4)
    library.merge_papers(keep, drop)
    assert library.count_papers() == 1
    merged_rows = library.run_papers(run)
    assert {r.paper.id for r in merged_rows} == {keep}
    # The run found both records: one paper now, listed once, with the score it got.
    assert [r.score for r in merged_rows] == [0.7]
    assert [n.text for n in library.notes(keep)] == ["my note on the duplicate"]
    assert library.paper(keep).tags == ("to-read",)
    assert library.paper(keep).rating == 4
    assert library.paper_collections(keep) == [coll]
    assert [p.id for p in library.search("duplicate")] == [keep]  # the moved note is searchable
    assert len(library.paper_sources(keep)) == 2


def test_duplicates_lists_candidates(library: Library) -> None:
    with library._write() as conn:  # two records that slipped in before dedup rules existed
        from pasa_desktop.library import catalogue

        catalogue.insert(conn, catalogue.clean(Paper(id="a", title="Same Paper", year=2020, authors=("A B",))))
        catalogue.insert(conn, catalogue.clean(Paper(id="b", title="Same paper!", year=2020, authors=("C B",))))
    assert [(p.keep, p.drop, p.reason) for p in library.duplicates()] == [(1, 2, "same title, year and first author")]


def test_delete_papers_removes_everything_attached(library: Library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = library.create_run("q", {})
    a, b = make_paper(1), make_paper(2)
    library.record(run, PapersFound((a, b), (FoundBy("query", query="q"), FoundBy("query", query="q"))))
    ids = {r.key: r.paper.id for r in library.run_papers(run)}
    library.add_note(ids[a.key], "a searchable note")
    library.add_tag(ids[a.key], "x")
    note_file = tmp_path / "n.txt"
    note_file.write_text("attached text")
    library.attach(ids[a.key], note_file)
    stored = library.attachments(ids[a.key])[0].path
    assert library.delete_papers([ids[a.key], 999]) == 1
    assert [r.key for r in library.run_papers(run)] == [b.key]
    assert library.search("searchable") == [] and library.search("attached") == []
    assert not stored.exists() and library.tags()[0].papers == 0
