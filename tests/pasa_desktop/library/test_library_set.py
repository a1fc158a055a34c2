"""What the library holds (issue #17): what the user kept or gave something to, plus what the Selector
selected (a setting); everything else a search found stays with its run, one `keep` away.

Real library files; the run is recorded through the same events a search writes; the CLI runs in-process.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound, SearchFinished, SearchStatus
from pasa_desktop.cli.main import main
from pasa_desktop.library import Library, NewEntry, open_library
from pasa_desktop.settings import load_settings, save_settings
from tests.pasa_desktop.library.conftest import make_paper


def found_by_a_search(lib: Library, n: int = 10, selected: frozenset[int] = frozenset({8, 9})) -> list[int]:
    """A finished run that found papers 0..n-1 and selected `selected`; their library ids, in order."""
    run = lib.create_run("coded computation against stragglers", {})
    papers = tuple(make_paper(i) for i in range(n))
    lib.record(run, PapersFound(papers, tuple(FoundBy("query", query="coded computation", rank=i) for i in range(n))))
    for i, p in enumerate(papers):
        lib.record(run, PaperScored(p.key, i / n, i in selected, f"reason {i}"))
    lib.record(run, SearchFinished(SearchStatus.DONE, seconds=2.0))
    return [rp.paper.id for rp in sorted(lib.run_papers(run), key=lambda r: r.paper.title)]


def test_a_search_alone_puts_only_its_selected_papers_in_the_library(library: Library) -> None:
    ids = found_by_a_search(library)
    assert library.count_papers() == 10  # the run keeps all it found
    assert library.count_library() == 2 and library.in_library(ids) == {ids[8], ids[9]}
    assert library.count_library(with_selected=False) == 0
    assert {p.id for p in library.search(library_only=True, limit=None)} == {ids[8], ids[9]}
    assert library.search(library_only=True, with_selected=False, limit=None) == []
    # The run's own view still lists everything it found.
    assert {p.id for p in library.search(run=1, limit=None)} == set(ids)


def test_every_user_action_brings_a_paper_in(library: Library, tmp_path: Path) -> None:
    ids = found_by_a_search(library, selected=frozenset())
    assert library.count_library() == 0
    library.set_decision(ids[0], True)
    library.add_tag(ids[1], "core")
    library.set_rating(ids[2], 3)
    library.add_to_collection(library.ensure_collection_path("Thesis"), [ids[3]])
    library.add_note(ids[4], "the recovery threshold is optimal")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% tiny\n")
    library.attach(ids[5], pdf)
    library.keep([ids[6]])
    library.set_read(ids[7], True)  # reading alone keeps nothing
    library.set_decision(ids[8], False)  # nor does rejecting
    assert library.in_library(ids) == set(ids[:7])
    assert library.count_library() == 7
    # Exactly the same set through search, with text too.
    assert {p.id for p in library.search(library_only=True, limit=None)} == set(ids[:7])
    assert [p.id for p in library.search("recovery threshold", library_only=True)] == [ids[4]]
    assert library.search("Study 9", library_only=True) == []
    # Taking the mark back returns a paper that nothing else holds to its run.
    library.keep([ids[6]], kept=False)
    library.remove_tag(ids[1], "core")
    assert library.in_library(ids) == set(ids[:7]) - {ids[1], ids[6]}
    with pytest.raises(Exception, match="No paper 999"):
        library.keep([999])


def test_a_rejected_selected_paper_leaves_and_imports_and_direct_adds_stay(library: Library) -> None:
    ids = found_by_a_search(library)
    library.set_decision(ids[9], False)
    assert library.in_library(ids) == {ids[8]}
    imported = library.add_entries([NewEntry(paper=make_paper(20, source="import:refs.bib", id="import:refs.bib:k"))])
    added = library.add_paper(make_paper(21))
    assert library.in_library([imported[0].paper_id, added.paper_id]) == {imported[0].paper_id, added.paper_id}
    # An imported record that is a paper a search found brings that paper in (its source says import).
    again = library.add_entries([NewEntry(paper=make_paper(3, source="import:more.bib", id="import:more.bib:k3"))])
    assert again[0].paper_id == ids[3] and ids[3] in library.in_library(ids)


def test_upgrading_keeps_what_no_search_found(tmp_path: Path) -> None:
    """Schema 3 → 4: a paper that no run links to was added directly, so it is kept; run papers are not."""
    path = tmp_path / "library.sqlite"
    lib = open_library(path)
    ids = found_by_a_search(lib, selected=frozenset())
    direct = lib.add_paper(make_paper(30)).paper_id
    lib.close()
    con = sqlite3.connect(path)
    con.execute("UPDATE paper SET kept = 0")
    con.execute("DROP INDEX ix_paper_source_source")
    con.execute("ALTER TABLE paper DROP COLUMN kept")
    con.execute("DELETE FROM schema_history WHERE version = 4")
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    lib = open_library(path)
    try:
        assert lib.in_library([*ids, direct]) == {direct}
    finally:
        lib.close()


def test_the_cli_lists_the_library_and_keeps(capsys: pytest.CaptureFixture[str]) -> None:
    lib = open_library(load_settings().library_path())
    ids = found_by_a_search(lib)
    lib.add_tag(ids[0], "core")
    lib.close()

    assert main(["library", "list"]) == 0
    out = capsys.readouterr().out
    assert "3 paper(s) in the library" in out and "Study 0" in out and "Study 8" in out and "Study 5" not in out
    assert main(["library", "search", "--all", "--limit", "0"]) == 0
    out = capsys.readouterr().out
    assert "10 paper(s) found" in out
    assert out.count("[not kept: pasa library keep]") == 7
    assert main(["library", "search", "--run", "1", "--limit", "0"]) == 0
    assert "10 paper(s) found by search 1" in capsys.readouterr().out

    assert main(["library", "keep", str(ids[5])]) == 0
    assert "1 paper(s) kept" in capsys.readouterr().out
    assert main(["library", "search", "Study", "5"]) == 0
    assert "Study 5" in capsys.readouterr().out
    assert main(["library", "keep", "999"]) == 1
    assert "No paper 999" in capsys.readouterr().err

    # The setting: selected papers no longer join by themselves.
    settings = load_settings()
    settings.library.selected_join = False
    save_settings(settings)
    assert main(["library", "list"]) == 0
    out = capsys.readouterr().out
    assert "2 paper(s) in the library" in out and "Study 8" not in out


def test_a_merge_keeps_the_keep_mark(library: Library) -> None:
    ids = found_by_a_search(library, selected=frozenset())
    library.keep([ids[1]])
    library.merge_papers(ids[0], ids[1])  # the dropped paper was kept: the one it became is too
    assert library.in_library(ids) == {ids[0]}


def test_export_writes_what_the_library_holds(tmp_path: Path) -> None:
    """`pasa export` with no selection writes the library's papers, as `library list` shows them; a search's
    unkept finds need --run or --all (the window exports the rows it is given)."""
    lib = open_library(load_settings().library_path())
    ids = found_by_a_search(lib)
    lib.add_tag(ids[0], "core")
    lib.close()

    def exported(*extra: str) -> str:
        out = tmp_path / "out.bib"
        assert main(["export", "--no-complete", "-o", str(out), *extra]) == 0
        return out.read_text()

    held = exported()
    assert held.count("@") == 3 and "Study 0" in held and "Study 8" in held and "Study 5" not in held
    assert exported("--all").count("@") == 10
    assert exported("--run", "1").count("@") == 10

    settings = load_settings()
    settings.library.selected_join = False
    save_settings(settings)
    assert exported().count("@") == 1
