"""`pasa library keep` counts the papers it kept, not the ids typed (one named twice is one paper); `library
list` prints no empty "()" for a paper without known authors."""

from __future__ import annotations

import pytest

from engine.events import FoundBy, PapersFound
from pasa_desktop.cli.main import main
from pasa_desktop.library import open_library
from pasa_desktop.settings import load_settings
from tests.pasa_desktop.library.conftest import make_paper


def test_a_paper_named_twice_is_kept_once(capsys: pytest.CaptureFixture[str]) -> None:
    lib = open_library(load_settings().library_path())
    run = lib.create_run("coded computation", {})
    papers = (make_paper(1), make_paper(2))
    lib.record(run, PapersFound(papers, tuple(FoundBy("query", query="q", rank=i) for i in range(2))))
    ids = [rp.paper.id for rp in lib.run_papers(run)]
    lib.close()
    assert main(["library", "keep", str(ids[0]), str(ids[0])]) == 0
    assert capsys.readouterr().out.strip() == "1 paper(s) kept in the library"
    with open_library(load_settings().library_path()) as again:
        assert again.count_library() == 1


def test_a_paper_without_authors_is_listed_without_empty_parentheses(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.papers import Paper

    lib = open_library(load_settings().library_path())
    run = lib.create_run("coded computation", {})
    papers = (Paper(id="x1", title="Anonymous paper"), make_paper(2))
    lib.record(run, PapersFound(papers, tuple(FoundBy("query", query="q", rank=i) for i in range(2))))
    lib.close()
    assert main(["library", "list", "--all"]) == 0
    anonymous = next(line for line in capsys.readouterr().out.splitlines() if "Anonymous paper" in line)
    assert "()" not in anonymous
