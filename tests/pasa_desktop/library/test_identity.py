"""Identity never merges different works: identifiers first, titles with their digits, unknown is unknown."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound
from engine.papers import Paper, normalise_title
from pasa_desktop.cli.main import main
from pasa_desktop.library import Library, LibraryError, NewEntry, identity, merges, open_library
from pasa_desktop.settings import load_settings


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


def test_unmerging_an_import_takes_back_the_tags_and_notes_it_brought(library: Library) -> None:
    lib = library
    [first] = lib.add_entries(
        [NewEntry(Paper(id="f:1", title="Deep Nets", year=2019, authors=("Ann Lee",), source="f"), tags=("shared",), notes=("mine",))]
    )
    lib.add_entries(
        [
            NewEntry(
                Paper(id="g:1", title="Deep nets.", year=2019, authors=("A. Lee",), source="g"),
                tags=("shared", "theirs"),
                notes=("mine", "their note"),
            )
        ]
    )
    kept = lib.paper(first.paper_id)
    assert kept.tags == ("shared", "theirs") and {n.text for n in lib.notes(kept.id)} == {"mine", "their note"}
    [row] = lib.merges()
    back = lib.unmerge(row.record_id)
    # What the record brought goes with it; what the kept paper had before stays (the shared tag too).
    assert lib.paper(kept.id).tags == ("shared",) and [n.text for n in lib.notes(kept.id)] == ["mine"]
    assert lib.paper(back).tags == ("theirs",) and [n.text for n in lib.notes(back)] == ["their note"]
    assert lib.search("their") == [lib.paper(back)]  # the note's words moved in the full-text index too


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


# -- a merge you made, and its undo ---------------------------------------------------------------


def _contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (the full-text index included), read from the file by a separate
    connection; a paper's `updated` stamp is left out (an undo is itself a change)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if not r[0].startswith("paper_fts_") and r[0] != "sqlite_sequence"
        ]
        out: dict[str, list[tuple[object, ...]]] = {}
        for name in names:
            cols = [
                c[1] for c in conn.execute(f"PRAGMA table_info({name})") if not (name == "paper" and c[1] == "updated")
            ]
            if name == "paper_fts":
                cols = ["rowid", *cols]
            out[name] = sorted(conn.execute(f"SELECT {', '.join(cols)} FROM {name}").fetchall(), key=repr)
        return out
    finally:
        conn.close()


def _two_papers_with_everything(lib: Library, tmp_path: Path) -> tuple[int, int]:
    """Two records of one work, each with runs, scores, notes, a file, tags, collections, marks, a push."""
    run = lib.create_run("coded computation", {})
    a = Paper(
        id="a", title="Gradient Coding", authors=("Rashish Tandon",), year=2017, source="local", arxiv_id="1612.03301"
    )
    b = Paper(
        id="b",
        title="Gradient coding: avoiding stragglers",
        authors=("R. Tandon", "Qi Lei"),
        abstract="We propose gradient coding.",
        venue="ICML",
        doi="10.5555/gc",
        url="https://proceedings.mlr.press/v70/tandon17a.html",
        external_ids={"volume": "70", "pages": "3368--3376"},
        source="crossref",
    )
    lib.record(run, PapersFound((a, b), (FoundBy("query", query="q"), FoundBy("query", query="q", rank=1))))
    lib.record(run, PaperScored(a.key, 0.4, False, "weak"))
    lib.record(run, PaperScored(b.key, 0.9, True, "strong"))
    ids = {r.key: r.paper.id for r in lib.run_papers(run)}
    keep, drop = ids[a.key], ids[b.key]
    other = lib.create_run("stragglers", {})
    lib.record(other, PapersFound((b,), (FoundBy("query", query="s"),)))
    lib.add_note(keep, "kept paper's note")
    lib.add_note(drop, "a note only the duplicate had")
    pdf = tmp_path / "gc.txt"
    pdf.write_text("straggler mitigation full text")
    lib.attach(drop, pdf)
    for pid, tag in ((keep, "shared"), (drop, "shared"), (drop, "only-dropped"), (keep, "only-kept")):
        lib.add_tag(pid, tag)
    thesis = lib.create_collection("Thesis")
    chapter = lib.create_collection("Chapter 2", parent=thesis)
    lib.add_to_collection(thesis, [keep, drop])
    lib.add_to_collection(chapter, [drop])
    lib.set_rating(drop, 4)
    lib.set_read(drop, True)
    lib.set_decision(drop, True)
    lib.mark_zotero_pushed("web:/users/1", [(drop, "ABCD1234")])
    return keep, drop


def test_a_merge_you_made_is_listed_and_undone_with_everything_it_moved(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    lib = open_library(path)
    try:
        keep, drop = _two_papers_with_everything(lib, tmp_path)
        before = _contents(path)
        dropped = lib.paper(drop)
        record = lib.merge_papers(keep, drop)
        # Merged: one paper holding everything, its blanks filled from the duplicate.
        merged = lib.paper(keep)
        assert lib.count_papers() == 1 and merged.tags == ("only-dropped", "only-kept", "shared")
        assert merged.abstract == "We propose gradient coding." and merged.rating == 4 and merged.read
        assert lib.details_by_paper([keep])[keep]["volume"] == "70"
        assert {n.text for n in lib.notes(keep)} == {"kept paper's note", "a note only the duplicate had"}
        assert lib.citekey_aliases([keep]) == {keep: [dropped.citekey]}  # \cite{old key} still resolves
        [row] = lib.merges()
        assert (row.record_id, row.paper_id, row.basis, row.reason) == (record, keep, "manual", "merged by you")
        # Undone: the file holds exactly what it held before the merge (ids, keys, links, index rows).
        assert lib.unmerge(record) == drop
        assert _contents(path) == before
        assert lib.merges() == [] and lib.paper(drop) == dropped
        assert [p.id for p in lib.search("straggler mitigation")] == [drop]  # the attachment's text is its own
        with pytest.raises(LibraryError, match="No merged record"):
            lib.unmerge(record + 1000)
    finally:
        lib.close()


def test_undo_keeps_what_you_changed_after_the_merge(library: Library, tmp_path: Path) -> None:
    keep, drop = _two_papers_with_everything(library, tmp_path)
    record = library.merge_papers(keep, drop)
    library.set_rating(keep, 2)  # your later decision on the kept paper stands
    library.add_note(keep, "written after the merge")
    back = library.unmerge(record)
    assert library.paper(keep).rating == 2 and not library.paper(keep).read  # read came from the merge only
    assert library.paper(back).rating == 4 and library.paper(back).read
    assert "written after the merge" in {n.text for n in library.notes(keep)}
    assert library.paper(keep).abstract == ""  # filled by the merge, untouched since: blank again


def test_undo_when_the_merged_papers_id_or_citekey_was_taken_since(library: Library) -> None:
    keep = library.add_paper(Paper(id="k", title="Kept", year=2020, authors=("Ann Lee",))).paper_id
    drop = library.add_paper(Paper(id="d", title="Dropped", year=2020, authors=("Ann Lee",))).paper_id
    key = library.paper(drop).citekey
    record = library.merge_papers(keep, drop)
    newcomer = library.add_paper(Paper(id="n", title="Dropped", year=2020, authors=("Ann Lee",), doi="10.1/new"))
    assert newcomer.created and library.paper(newcomer.paper_id).citekey == key
    back = library.unmerge(record)
    assert back not in (keep, newcomer.paper_id) and library.paper(back).title == "Dropped"
    assert library.paper(back).citekey != key and library.paper(back).citekey.startswith(key)
    assert library.count_papers() == 3


def test_nested_merges_undo_in_any_order(library: Library) -> None:
    a, b, c = (
        library.add_paper(Paper(id=x, title=f"Paper {x}", year=2020, authors=("Ann Lee",), abstract=x)).paper_id
        for x in "abc"
    )
    library.add_tag(a, "from-a")
    first = library.merge_papers(b, a)  # a → b
    second = library.merge_papers(c, b)  # b (holding a) → c
    assert library.count_papers() == 1 and {m.record_id for m in library.merges()} == {first, second}
    assert library.unmerge(first) == a  # a comes back out of c, with its tag
    assert library.paper(a).tags == ("from-a",) and library.paper(a).abstract == "a"
    assert library.unmerge(second) == b
    assert library.count_papers() == 3 and library.merges() == []
    assert [library.paper(p).title for p in (a, b, c)] == ["Paper a", "Paper b", "Paper c"]


def test_every_table_that_points_at_a_paper_is_moved_by_a_merge(library: Library) -> None:
    """A table added later that holds paper ids must be handled by merges.py (or its rows would be lost)."""
    with library._read() as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        pointing = {t for t in tables for fk in conn.execute(f"PRAGMA foreign_key_list({t})") if fk[2] == "paper"}
    assert pointing == set(merges.MOVED_TABLES)


def test_merge_and_unmerge_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = load_settings().library_path()
    lib = open_library(path)
    keep = lib.add_paper(Paper(id="k", title="Same Work", year=2020, authors=("Ann Lee",))).paper_id
    drop = lib.add_paper(Paper(id="d", title="Same work", year=2021, authors=("Ann Lee",), abstract="x")).paper_id
    lib.add_tag(drop, "mine")
    lib.close()
    assert main(["library", "merge", str(keep), str(drop)]) == 0
    out = capsys.readouterr().out
    record = int(out.rsplit("unmerge ", 1)[1].rstrip(")\n"))
    assert main(["library", "duplicates"]) == 0
    listed = capsys.readouterr().out
    assert f"record {record} → paper {keep}: Same work  [merged by you]" in listed
    assert main(["library", "unmerge", str(record)]) == 0
    assert f"record {record} is paper {drop} again" in capsys.readouterr().out
    lib = open_library(path)
    try:
        assert lib.paper(drop).tags == ("mine",) and lib.paper(drop).abstract == "x" and lib.paper(keep).tags == ()
    finally:
        lib.close()
    assert main(["library", "duplicates", "--merge"]) == 0
    merged = capsys.readouterr().out
    assert "same title; years differ (2020 / 2021)" in merged and "1 pair(s) merged" in merged
    assert "merged (undo: pasa library unmerge " in merged
