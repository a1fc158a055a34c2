"""Identity never merges different works: identifiers first, titles with their digits, unknown is unknown."""

from __future__ import annotations

import time

import pytest

from engine.papers import Paper, normalise_title
from pasa_desktop.library import Library, LibraryError, NewEntry, identity


def test_title_key_keeps_digits_versions_and_task_numbers() -> None:
    key = identity.title_key
    assert key("Qwen2 Technical Report") != key("Qwen2.5 Technical Report")
    assert key("Qwen2.5 Technical Report") != key("Qwen25 Technical Report")
    assert key("SemEval-2017 Task 1: Semantic Textual Similarity") != key(
        "SemEval-2017 Task 2: Semantic Textual Similarity"
    )
    assert key("α-divergence bounds") != key("β-divergence bounds")
    assert key("C++ templates") != key("C templates")
    # Case, accents, spacing and punctuation do not make two works.
    assert key("Pre-training of Deep Bidirectional Transformers.") == key(
        "Pretraining of deep bidirectional transformers"
    )
    assert key("GPT-4 Technical Report") == key("GPT 4 technical report")
    assert key("Über die Möglichkeit") == key("Uber die Moglichkeit")
    # PaSa's metric key is unchanged: lower-case letters only.
    assert (
        normalise_title("Qwen2.5 Technical Report")
        == normalise_title("Qwen2 Technical Report")
        == "qwentechnicalreport"
    )


def test_isbn_normalisation() -> None:
    assert identity.normalise_isbn("0-306-40615-2") == "9780306406157"
    assert identity.normalise_isbn("978-0-306-40615-7") == "9780306406157"
    assert identity.normalise_isbn("978-0-306-40615-8") is None  # bad check digit
    assert identity.normalise_isbn("not an isbn") is None


def test_family_name_and_author_key() -> None:
    assert identity.family_name("Jan van der Berg") == "Berg"
    assert identity.family_name("van der Berg, Jan") == "Berg"
    assert identity.family_name("Smith, Jr., John") == "Smith"
    assert identity.author_key(["José Müller"]) == identity.author_key(["Jose Muller"]) == "muller"
    assert identity.author_key([]) == ""


QWEN = dict(authors=("An Yang", "Baosong Yang"), year=2024, venue="arXiv")


def test_versions_and_tasks_stay_apart(library: Library) -> None:
    a = library.add_paper(Paper(id="a", title="Qwen2 Technical Report", **QWEN))  # type: ignore[arg-type]
    b = library.add_paper(Paper(id="b", title="Qwen2.5 Technical Report", **QWEN))  # type: ignore[arg-type]
    t1 = library.add_paper(Paper(id="c", title="SemEval-2017 Task 1: STS", year=2017, authors=("Daniel Cer",)))
    t2 = library.add_paper(Paper(id="d", title="SemEval-2017 Task 2: STS", year=2017, authors=("Daniel Cer",)))
    assert a.created and b.created and t1.created and t2.created
    assert library.count_papers() == 4
    assert library.duplicates() == []


def test_missing_fields_are_unknown_not_wildcards(library: Library) -> None:
    full = library.add_paper(Paper(id="a", title="A Study", year=2020, authors=("Ann Lee",)))
    no_year = library.add_paper(Paper(id="b", title="A Study", authors=("Ann Lee",)))
    no_author = library.add_paper(Paper(id="c", title="A Study", year=2020))
    assert no_year.created and no_author.created
    pairs = {(p.keep, p.drop): p.reason for p in library.duplicates()}
    assert pairs[(full.paper_id, no_year.paper_id)] == "same title; year unknown on one side"
    assert pairs[(full.paper_id, no_author.paper_id)] == "same title and year; first author unknown on one side"


def test_identifiers_decide_and_conflicting_identifiers_keep_apart(library: Library) -> None:
    a = library.add_paper(Paper(id="a", title="Introduction", year=2020, authors=("Ann Lee",), doi="10.1/a"))
    b = library.add_paper(Paper(id="b", title="Introduction", year=2020, authors=("Ann Lee",), doi="10.1/b"))
    c = library.add_paper(Paper(id="c", title="A different title, same DOI", doi="10.1/A"))
    assert b.created and not c.created and c.paper_id == a.paper_id and c.basis == "doi"
    assert library.duplicates() == []  # two DOIs: two works, not a possible duplicate
    # arXiv's DOI names the preprint: it agrees with the arXiv id.
    x = library.add_paper(Paper(id="x", title="P", arxiv_id="2101.00001"))
    y = library.add_paper(Paper(id="y", title="Q", doi="10.48550/arXiv.2101.00001"))
    assert y.paper_id == x.paper_id and y.basis == "arxiv"


def test_isbn_needs_the_title_too(library: Library) -> None:
    book = {"isbn": "978-0-306-40615-7"}
    ch1 = library.add_paper(Paper(id="a", title="Chapter One", external_ids=book))
    ch2 = library.add_paper(Paper(id="b", title="Chapter Two", external_ids=book))
    again = library.add_paper(Paper(id="c", title="Chapter one", external_ids={"isbn": "0-306-40615-2"}))
    assert ch2.created and again.paper_id == ch1.paper_id and again.basis == "isbn"


def test_merges_are_logged_listed_and_undone(library: Library) -> None:
    lib = library
    first = lib.add_entries([NewEntry(Paper(id="f:1", title="Deep Nets", year=2019, authors=("Ann Lee",), source="f"))])
    merged = lib.add_entries(
        [
            NewEntry(
                Paper(id="g:1", title="Deep nets.", year=2019, authors=("A. Lee",), abstract="Filled.", source="g"),
                citekey="leeDeep",
            )
        ]
    )[0]
    assert not merged.created and merged.basis == "title"
    assert lib.paper(first[0].paper_id).abstract == "Filled."
    [row] = lib.merges()
    assert row.paper_id == first[0].paper_id and row.basis == "title" and "no shared identifier" in row.reason
    new_id = lib.unmerge(row.record_id)
    assert new_id != first[0].paper_id and lib.count_papers() == 2
    assert lib.paper(first[0].paper_id).abstract == ""  # what the merge filled in went back to blank
    assert lib.paper(new_id).abstract == "Filled." and lib.paper(new_id).citekey == "leeDeep"
    assert lib.merges() == []
    assert [s.id for s in lib.paper_sources(first[0].paper_id)] == ["f:1"]
    with pytest.raises(LibraryError, match="not merged automatically"):
        lib.unmerge(1)


def test_reimporting_the_same_record_is_not_a_new_merge(library: Library) -> None:
    lib = library
    entry = NewEntry(Paper(id="f:x", title="Yearless", source="f"))
    lib.add_entries([entry])
    again = lib.add_entries([entry])[0]
    assert not again.created and again.basis == "record" and lib.merges() == []
    assert lib.count_papers() == 1


def _synthetic(n: int) -> list[NewEntry]:
    """Distinct works whose letters-only titles collide: versions, task numbers, sizes; years and authors
    often missing; the same authors and venue throughout."""
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            title = f"Qwen{i // 4}.{i % 7} Technical Report"
        elif kind == 1:
            title = f"SemEval-{2000 + i % 25} Task {i}: Semantic Textual Similarity"
        elif kind == 2:
            title = f"Scaling Laws for {i}B Parameter Models"
        else:
            title = f"Part {i} of the Benchmark Suite, v{i % 3}"
        year = None if i % 3 == 0 else 2024
        authors = () if i % 5 == 0 else ("An Yang", "Baosong Yang")
        out.append(NewEntry(Paper(id=f"syn:{i}", title=title, authors=authors, year=year, source="syn")))
    return out


def test_twenty_thousand_distinct_entries_stay_twenty_thousand_papers(library: Library) -> None:
    entries = _synthetic(20_000)
    assert len({identity.title_key(e.paper.title) for e in entries}) == 20_000
    start = time.perf_counter()
    results = library.add_entries(entries)
    seconds = time.perf_counter() - start
    assert all(r.created for r in results)
    assert library.count_papers() == 20_000
    assert library.merges() == []
    assert seconds < 300  # one transaction; measured ~1 ms per entry on 2 busy cores
