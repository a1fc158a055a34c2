"""Tags, notes, read/rating, nested collections, and search with filters."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.events import FoundBy, PaperScored, PapersFound
from pasa_desktop.library import Library, LibraryError
from tests.pasa_desktop.library.conftest import make_paper


@pytest.fixture
def filled(library: Library) -> Library:
    run = library.create_run("q", {})
    papers = [make_paper(i) for i in range(10)]
    library.record(run, PapersFound(tuple(papers), tuple(FoundBy("query", query="q") for _ in papers)))
    for i, p in enumerate(papers):
        library.record(run, PaperScored(p.key, i / 10, i >= 7))
    return library


def test_tags_notes_read_rating(filled: Library) -> None:
    filled.add_tag(1, "  to  read ")
    filled.add_tag(1, "to read")
    filled.add_tag(2, "to read")
    assert filled.paper(1).tags == ("to read",)
    assert [(t.name, t.papers) for t in filled.tags()] == [("to read", 2)]
    filled.remove_tag(2, "to read")
    assert filled.paper(2).tags == ()
    note = filled.add_note(3, "Compare with the MDS-code baseline")
    assert [p.id for p in filled.search("baseline")] == [3]
    filled.update_note(note, "Compare with polynomial codes")
    assert filled.search("baseline") == [] and [p.id for p in filled.search("polynomial")] == [3]
    filled.delete_note(note)
    assert filled.search("polynomial") == []
    filled.set_read(4)
    filled.set_rating(4, 5)
    row = filled.paper(4)
    assert row.read and row.rating == 5
    with pytest.raises(LibraryError, match="1 to 5"):
        filled.set_rating(4, 9)
    assert [p.id for p in filled.search(read=True)] == [4]


def test_nested_collections_include_children(filled: Library) -> None:
    thesis = filled.ensure_collection_path("Thesis/Chapter 2/Codes")
    chapter = filled.create_collection("Chapter 2", "Thesis")
    assert filled.ensure_collection_path("Thesis/Chapter 2/Codes") == thesis
    filled.add_to_collection(thesis, [1, 2])
    filled.add_to_collection("Thesis/Chapter 2", [3])
    filled.add_to_collection("Thesis/Chapter 2", [1])  # in two of the subtree's collections: counted once
    paths = [(c.path, c.papers) for c in filled.collections()]
    # Each count is what opening that collection lists (it includes sub-collections).
    assert paths == [("Thesis", 3), ("Thesis/Chapter 2", 3), ("Thesis/Chapter 2/Codes", 2)]
    assert {p.id for p in filled.search(collection="Thesis")} == {1, 2, 3}
    assert {p.id for p in filled.search(collection=chapter)} == {1, 2, 3}
    assert {p.id for p in filled.search(collection="Thesis/Chapter 2/Codes")} == {1, 2}
    filled.remove_from_collection(thesis, [2])
    assert {p.id for p in filled.search(collection=thesis)} == {1}
    with pytest.raises(LibraryError, match="No collection"):
        filled.search(collection="Nope")
    with pytest.raises(LibraryError, match="Bad collection name"):
        filled.create_collection("a/b")
    filled.delete_collection("Thesis")
    assert filled.collections() == [] and filled.count_papers() == 10


def test_search_filters_combine(filled: Library) -> None:
    filled.add_tag(8, "core")
    filled.add_tag(9, "core")
    assert {p.id for p in filled.search(selected=True)} == {8, 9, 10}
    assert {p.id for p in filled.search(run=1, selected=False)} == set(range(1, 8))
    assert {p.id for p in filled.search("coded", tag="core")} == {8, 9}
    years = {p.id: p.year for p in filled.search(limit=None)}
    assert {p.id for p in filled.search(year=2016)} == {i for i, y in years.items() if y == 2016}
    assert {p.id for p in filled.search(year=(2020, None))} == {i for i, y in years.items() if y and y >= 2020}
    assert len(filled.search(limit=3)) == 3
    assert filled.search("Study 4")[0].id == 5  # title match ranks first
    assert [p.id for p in filled.search("lovelace3")] == [4]  # authors are searchable
    assert filled.search("strag*")  # prefix search


HOSTILE = [
    '"',
    '"unbalanced',
    "NEAR(a b",
    "a AND OR NOT",
    "*",
    "(((",
    "title:x",
    "a^b",
    "'; DROP TABLE paper;--",
    "-x",
    "NEAR/3",
    "\x00",
    "é ü 中文",
    '"" ""',
    "a*b*",
    "{col}: x",
    "+ -",
    "AND",
    "OR",
    "NOT x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_search_never_raises_on_hostile_input(filled: Library, text: str) -> None:
    filled.search(text)
    assert filled.count_papers() == 10


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40))
def test_search_never_raises_property(filled: Library, text: str) -> None:
    filled.search(text, limit=5)
