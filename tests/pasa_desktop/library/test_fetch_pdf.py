"""`pasa library fetch-pdf`: the open-access PDF found, downloaded over loopback, attached and its text
searchable; none found and offline each said plainly (exit 1)."""

from __future__ import annotations

import pytest

from engine.papers import Paper
from pasa_desktop.cli.main import main
from pasa_desktop.library import NewEntry, open_library
from pasa_desktop.library.completion import API_BASE_ENV
from pasa_desktop.settings import load_settings
from tests.engine.fulltext.open_access_server import CLOSED_DOI, CODED_DOI, PDF_WORD, oa_api
from tests.engine.sources.fake_server import FakeServer, free_port

__all__ = ["oa_api"]  # the shared fixture

CODED = Paper(id="import:refs.bib:lee", title="Speeding Up Distributed Machine Learning Using Codes", year=2018,
              doi=CODED_DOI, authors=("Kangwook Lee", "Maximilian Lam"), source="import:refs.bib")


def test_fetch_pdf_attaches_and_indexes(oa_api: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    with open_library(load_settings().library_path()) as lib:
        pid, closed = (r.paper_id for r in lib.add_entries([
            NewEntry(paper=CODED),
            NewEntry(paper=CODED.with_updates(id="import:refs.bib:dean", title="MapReduce", doi=CLOSED_DOI)),
        ]))
    assert main(["library", "fetch-pdf", str(pid)]) == 0
    out = capsys.readouterr().out
    assert f"[{pid}] Found the open-access PDF via OpenAlex" in out and "its text searchable" in out
    with open_library(load_settings().library_path()) as lib:
        files = lib.attachments(pid)
        assert len(files) == 1 and files[0].path.read_bytes().startswith(b"%PDF-")
        assert [p.id for p in lib.search(PDF_WORD)] == [pid]
    assert main(["library", "fetch-pdf", str(closed)]) == 1
    assert "No open-access PDF found (Semantic Scholar lists no open-access PDF" in capsys.readouterr().out


def test_fetch_pdf_offline(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(API_BASE_ENV, f"http://127.0.0.1:{free_port()}")
    with open_library(load_settings().library_path()) as lib:
        pid = lib.add_entries([NewEntry(paper=CODED)])[0].paper_id
    assert main(["library", "fetch-pdf", str(pid)]) == 1
    assert "Offline: could not reach arXiv, Semantic Scholar or OpenAlex" in capsys.readouterr().out
