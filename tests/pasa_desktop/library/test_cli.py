"""The commands a user types: pasa history / show / library …, export / import, zotero ping / push."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.events import FoundBy, PaperScored, PapersFound, SearchFinished, SearchStatus
from pasa_desktop.cli.main import main
from pasa_desktop.library import open_library
from pasa_desktop.settings import load_settings
from tests.pasa_desktop.library.conftest import make_paper
from tests.pasa_desktop.zotero.fake_zotero import FakeZotero


@pytest.fixture
def user_library() -> Path:
    """The library at the configured path (PASA_DATA_DIR points into a tmp dir for every test)."""
    path = load_settings().library_path()
    lib = open_library(path)
    run = lib.create_run("coded computation against stragglers", {})
    papers = tuple(make_paper(i) for i in range(5))
    lib.record(run, PapersFound(papers, tuple(FoundBy("query", query="coded computation", rank=i) for i in range(5))))
    for i, p in enumerate(papers):
        lib.record(run, PaperScored(p.key, 0.2 * i, i >= 3, f"reason {i}"))
    cited = make_paper(9)
    lib.record(run, PapersFound((cited,), (FoundBy("expansion", parent_key=papers[4].key, section="2 Related Work"),)))
    lib.record(run, SearchFinished(SearchStatus.DONE, seconds=3.0))
    lib.close()
    return path


def test_history_show_and_search(user_library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert "done" in out and "coded computation against stragglers" in out
    assert main(["show", "1", "--reasons", "--queries", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "6 found, 5 scored, 2 selected" in out and "reason 4" in out and "… 4 more" in out
    assert main(["show", "1", "--tree"]) == 0
    tree = capsys.readouterr().out
    assert 'query "coded computation" (5 papers)' in tree and "*0.80" in tree
    assert "      └ 2 Related Work:    -   [6] Gradient Coding for Straggler Mitigation, Study 9" in tree
    assert main(["library", "search", "Study", "3", "--year", "2015-2030"]) == 0
    assert "Study 3" in capsys.readouterr().out
    assert main(["library", "search", '"unbalanced', "NEAR(", "--selected", "--run", "1"]) == 0
    assert main(["show", "99"]) == 1
    assert "No search run 99" in capsys.readouterr().err


def test_show_says_what_its_scores_mean(capsys: pytest.CaptureFixture[str]) -> None:
    """`pasa show` prints the run's scores with the legend `pasa search` printed for it (its recorded rule)."""
    lib = open_library(load_settings().library_path())
    settings = {"select_rule": "threshold", "select_threshold": 0.125, "select_min": 2, "selector_calibrated": True,
                "score_top": 20}
    run = lib.create_run("coded computation against stragglers", settings)
    paper = make_paper(1)
    lib.record(run, PapersFound((paper,), (FoundBy("query", query="coded computation", rank=1),)))
    lib.record(run, PaperScored(paper.key, 0.2, True, ""))
    lib.record(run, SearchFinished(SearchStatus.DONE, seconds=1.0))
    lib.close()
    assert main(["show", str(run)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the legend is wrapped
    assert "score: P(cited), calibrated on held-out training questions" in out
    assert "sel: score > 0.125, and at least the best 2 by rank" in out and "*0.200" in out


def test_organise_commands(user_library: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["library", "tag", "1", "2", "-t", "core", "-t", "to read"]) == 0
    assert main(["library", "note", "1", "check", "the", "proof"]) == 0
    assert main(["library", "collection", "create", "Thesis/Chapter 1"]) == 0
    assert main(["library", "collection", "add", "Thesis/Chapter 1", "1", "3"]) == 0
    assert main(["library", "read", "1"]) == 0 and main(["library", "accept", "1"]) == 0
    assert main(["library", "rate", "1", "4"]) == 0
    text = tmp_path / "notes.txt"
    text.write_text("a text attachment about polynomial codes")
    assert main(["library", "attach", "1", str(text)]) == 0
    capsys.readouterr()
    assert main(["library", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "tags: core, to read" in out and "check the proof" in out and "Thesis/Chapter 1" in out
    assert "read, accepted, rating 4" in out and "notes.txt" in out
    assert main(["library", "search", "polynomial"]) == 0
    assert "1 paper(s)" in capsys.readouterr().out
    assert main(["library", "search", "--collection", "Thesis", "--tag", "core"]) == 0
    assert "1 paper(s)" in capsys.readouterr().out
    assert main(["library", "collection", "list"]) == 0
    assert "Thesis/Chapter 1" in capsys.readouterr().out
    assert main(["library", "collection", "add"]) == 2
    assert main(["library", "delete", "5", "77"]) == 1
    assert "1 paper(s) removed" in capsys.readouterr().out
    assert main(["library", "rate", "99", "3"]) == 1


def test_export_and_import_commands(user_library: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "run1.bib"
    assert main(["export", "--format", "bibtex", "--run", "1", "--selected", "-o", str(out)]) == 0
    assert "2 entries written" in capsys.readouterr().err
    assert out.read_text().count("@misc{") == 2
    assert main(["export", "-f", "csljson", "-o", "-"]) == 0
    assert '"type": "article"' in capsys.readouterr().out
    broken = tmp_path / "mine.bib"
    broken.write_text("@misc{new1, title={A New Paper}}\n@misc{bad, title={oops}\n@misc{new2, title={Another}}\n")
    assert main(["import", str(broken), "--verbose"]) == 0
    out_text = capsys.readouterr().out
    assert "2 added, 0 merged" in out_text and "skipped block at line 2" in out_text
    assert main(["import", str(out), "--strict", "-t", "from-bib", "--collection", "Imports/2026"]) == 0
    assert "0 added, 2 merged" in capsys.readouterr().out
    assert main(["library", "search", "--tag", "from-bib", "--collection", "Imports"]) == 0
    assert "2 paper(s)" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "missing.ris")]) == 2


def test_zotero_commands(
    user_library: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeZotero() as zotero:
        monkeypatch.setenv("PASA_ZOTERO_URL", zotero.url)
        assert main(["zotero", "ping"]) == 0
        assert "Zotero is running" in capsys.readouterr().out
        assert main(["zotero", "push", "--run", "1", "--selected", "--target", "Reading"]) == 0
        assert "2 item(s) sent to Zotero (My Library/Reading)" in capsys.readouterr().out
        # A second push sends nothing twice; --again does.
        assert main(["zotero", "push", "--run", "1"]) == 0
        assert "4 item(s) sent" in (out := capsys.readouterr().out) and "2 skipped: already sent" in out
        assert main(["zotero", "push", "--run", "1", "--selected", "--again"]) == 0
        assert "2 item(s) sent" in capsys.readouterr().out
        assert len(zotero.state.saved_items) == 8
        monkeypatch.setenv("ZOTERO_API_KEY", "secret-key")
        monkeypatch.setenv("ZOTERO_USER_ID", "123")
        monkeypatch.setenv("PASA_ZOTERO_API_URL", zotero.url)
        assert main(["zotero", "push", "--web", "--paper", "1"]) == 0
        assert main(["zotero", "push", "--web", "--paper", "1", "--paper", "2"]) == 0
        assert "1 skipped" in capsys.readouterr().out
        assert len([i for i in zotero.state.web_items if i["itemType"] != "note"]) == 2
    monkeypatch.setenv("PASA_ZOTERO_URL", "http://127.0.0.1:9")
    assert main(["zotero", "ping"]) == 1
    assert "not reachable" in capsys.readouterr().err
    assert os.environ["PASA_DATA_DIR"] in str(user_library)
