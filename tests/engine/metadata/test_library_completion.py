"""`pasa library complete` and the completion before `pasa export`, on a real library file, against the
recorded arXiv, Semantic Scholar, OpenAlex and Crossref replies served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.events import FoundBy, PapersFound
from engine.papers import Paper
from pasa_desktop.cli.main import main
from pasa_desktop.library import Library, NewEntry, open_library
from pasa_desktop.library.completion import complete_library_papers
from pasa_desktop.settings import load_settings, settings_file
from tests.engine.metadata.sources import ARXIV, BERT, GPT3, OPENALEX, S2, metadata_api

__all__ = ["metadata_api"]  # the shared fixture
from tests.engine.sources.fake_server import FakeServer, Reply

# Imported from the user's own .bib: their venue wording stays, what it lacks is filled.
RESNET = Paper(
    id="import:mine.bib:he2016",
    title="Deep Residual Learning for Image Recognition",
    year=2016,
    venue="CVPR 2016 (oral)",
    source="import:mine.bib",
)


@pytest.fixture
def library() -> Iterator[Library]:
    """The user's library (PASA_DATA_DIR is a tmp dir per test): papers 1-3 as the index and a .bib left them."""
    lib = open_library(load_settings().library_path())
    lib.add_paper(BERT)
    lib.add_paper(GPT3)
    lib.add_entries([NewEntry(paper=RESNET, citekey="he2016resnet")])
    yield lib
    lib.close()


def test_completion_writes_what_changed_in_one_go(metadata_api: FakeServer, library: Library) -> None:
    before = library.paper(1)
    assert before.authors == () and before.citekey == "BERTPretrainingDeep2018"
    report = complete_library_papers(library, load_settings(), [1, 2, 3])
    assert report.applied and len(report.changed) == 3
    bert, gpt3, resnet = library.papers([1, 2, 3])
    assert bert.authors[0] == "Jacob Devlin" and bert.doi == "10.18653/v1/n19-1423" and bert.venue == "NAACL"
    assert bert.citekey == "devlinBERTPretrainingDeep2018"  # the name-less key the library made, remade
    assert library.details_by_paper([1])[1]["pages"] == "4171-4186"
    assert gpt3.venue == "NeurIPS" and gpt3.authors[0] == "Tom B. Brown"
    # The user's venue and key stay; the DOI, URL, authors and pages they lacked are filled.
    assert resnet.venue == "CVPR 2016 (oral)" and resnet.citekey == "he2016resnet"
    assert resnet.doi == "10.1109/cvpr.2016.90" and resnet.url == "https://doi.org/10.1109/cvpr.2016.90"
    assert resnet.authors[0] == "Kaiming He" and library.details_by_paper([3])[3]["pages"] == "770-778"
    fields = {c.field for c in report.papers[2].changes}
    assert "venue" not in fields and {"doi", "url", "authors", "pages"} <= fields
    # Where the values came from is kept with the paper, and the full-text index knows the new authors.
    assert any(p.source == "completion" for p in library.paper_sources(1))
    assert [r.id for r in library.search("Toutanova")] == [1]


def test_dry_run_writes_nothing_and_an_identifier_another_paper_has_is_not_copied(
    metadata_api: FakeServer, library: Library
) -> None:
    dry = complete_library_papers(library, load_settings(), [1], dry_run=True)
    assert not dry.applied and dry.changed and library.paper(1).authors == ()
    owner = library.add_paper(Paper(id="x:1", title="Some other record", doi="10.1109/cvpr.2016.90", source="x"))
    report = complete_library_papers(library, load_settings(), [3])
    assert library.paper(3).doi is None
    assert any(f"paper {owner.paper_id} already has doi" in m for m in report.messages)


def test_cli_reports_changes_and_failures(
    metadata_api: FakeServer, library: Library, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["library", "complete", "--paper", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "[2] Language Models are Few-Shot Learners" in out
    assert "venue: 'NIPS' -> 'NeurIPS' (venue names)" in out and "(dry run: nothing was written)" in out
    assert library.paper(2).venue == "NIPS"
    assert main(["library", "complete", "--offline", "--all"]) == 0
    assert "completed 1 of 3 papers (1 field) (offline: venue names only)" in capsys.readouterr().out
    assert library.paper(2).venue == "NeurIPS"
    # Every service answering garbage: nothing changes, and each says why once.
    for path in (ARXIV, f"{S2}/paper/ARXIV:1810.04805", f"{OPENALEX}/works/doi:10.48550/arxiv.1810.04805"):
        metadata_api.route(path, Reply(200, b"<html>Service Unavailable</html>", content_type="text/html"))
    assert main(["library", "complete", "--paper", "1", "--sources", "arxiv,semantic_scholar,openalex"]) == 1
    out = capsys.readouterr().out
    assert "note: arxiv: not an Atom feed" in out and "note: semantic_scholar: malformed JSON" in out
    assert "completed 0 of 1 paper (0 fields)" in out and library.paper(1).authors == ()
    assert main(["library", "complete"]) == 2
    assert "--paper ID" in capsys.readouterr().err
    run = library.create_run("language models", {})
    library.record(run, PapersFound((GPT3,), (FoundBy("query", query="language models", rank=0),)))
    assert main(["library", "complete", "--run", str(run), "--offline", "-v"]) == 0
    out = capsys.readouterr().out
    assert "[2] Language Models are Few-Shot Learners\n    (nothing to add)" in out and "[1]" not in out
    assert main(["library", "complete", "--run", "99"]) == 1
    asked = len(metadata_api.seen)
    assert main(["library", "complete", "--all", "--sources", "google"]) == 2
    assert len(metadata_api.seen) == asked  # refused before any request


def test_export_completes_first_only_when_online_sources_are_enabled(
    metadata_api: FakeServer, library: Library, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "refs.bib"
    assert main(["export", "--paper", "1", "-o", str(out)]) == 0
    assert "author" not in out.read_text() and not metadata_api.seen  # only the offline index enabled: no request
    settings_file().parent.mkdir(parents=True, exist_ok=True)
    settings_file().write_text(json.dumps({"sources": {"enabled": ["local", "arxiv"]}}))
    assert main(["export", "--paper", "1", "--no-complete", "-o", str(out)]) == 0
    assert not metadata_api.seen
    assert main(["export", "--paper", "1", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Completing metadata of 1 paper first" in err and "completed 1 of 1 paper" in err
    bib = out.read_text()
    assert "@inproceedings{devlinBERTPretrainingDeep2018," in bib and "Devlin, Jacob" in bib
    assert "10.18653/v1/n19-1423" in bib and "4171--4186" in bib
    asked = len(metadata_api.seen)
    assert main(["export", "--paper", "1", "-o", str(out)]) == 0  # completed once: not asked again
    assert len(metadata_api.seen) == asked


def test_a_paper_edited_while_the_sources_answer_keeps_the_edit(metadata_api: FakeServer, library: Library) -> None:
    def meanwhile(done: int, total: int) -> None:
        if done == 1:
            library.set_decision(1, True)  # not metadata: the completion still applies
            library.add_paper(GPT3.with_updates(id="import:x", authors=("Tom Brown",), source="import:x.bib"))

    report = complete_library_papers(library, load_settings(), [1, 2], progress=meanwhile)
    assert library.paper(1).authors[0] == "Jacob Devlin" and library.paper(1).decision is True
    assert library.paper(2).authors == ("Tom Brown",) and library.paper(2).venue == "NIPS"
    assert "paper 2 changed while the sources were asked; left as it is" in report.messages
