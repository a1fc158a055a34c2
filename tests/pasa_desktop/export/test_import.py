"""Imports of real-world-broken files: a report of what was skipped and why, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import InputError
from pasa_desktop.export import Selection, export, import_file
from pasa_desktop.library import Library
from tests.pasa_desktop.export.conftest import write_file

BROKEN_BIB = r"""
@article{good1, title={A Good Paper}, author={Smith, John and Doe, Jane}, year={2020}, journal={JMLR}}
@article{broken, title={Unbalanced {braces, year={2021}
@misc{good2, title = "Quoted {T}itle with \"{o}", author = {M{\"u}ller, J{\"o}rg}, year = 2019,
  eprint = {2101.00001v2}, archivePrefix = {arXiv}}
@misc{good1, title={Same key again}}
@misc{twofields, title={One}, title={Two}}
@misc{notitle, author={Nobody}}
@comment{ignored}
@misc{good3, title={\emph{Emphasis} and $\alpha$-nets}, keywords={a; b, c}}
"""


def test_broken_bibtex_report(empty: Library, tmp_path: Path) -> None:
    report = import_file(empty, write_file(tmp_path, "refs.bib", BROKEN_BIB))
    assert report.format == "bibtex"
    titles = sorted(t for _, t in report.added)
    assert titles == ["A Good Paper", "Emphasis and $\\alpha$-nets", "Quoted Title with ö"]  # math kept as math
    reasons = {s.reason.split(" (")[0].split(":")[0] for s in report.skipped}
    assert reasons == {"syntax error", "duplicate citation key", "duplicate field", "no title"}
    assert all(s.where for s in report.skipped)
    good2 = next(p for p in empty.search("Quoted"))
    assert good2.authors == ("Jörg Müller",) and good2.arxiv_id == "2101.00001" and good2.citekey == "good2"
    assert empty.paper(next(pid for pid, t in report.added if t.startswith("Emphasis"))).tags == ("a", "b", "c")
    assert empty.search("Smith")[0].authors == ("John Smith", "Jane Doe")


def test_latin1_file_is_read_with_a_warning(empty: Library, tmp_path: Path) -> None:
    path = write_file(tmp_path, "old.bib", "@misc{k, title={Café Société}, author={Müller, Jürgen}}".encode("latin-1"))
    report = import_file(empty, path)
    assert report.encoding == "cp1252" and "UTF-8" in report.warnings[0]
    assert empty.paper(report.added[0][0]).title == "Café Société"


def test_utf16_and_bom_files(empty: Library, tmp_path: Path) -> None:
    text = "TY  - JOUR\nTI  - Ünïcode Title\nAU  - Łukasz, Anna\nPY  - 2020\nER  - \n"
    import_file(empty, write_file(tmp_path, "a.ris", text.encode("utf-16")))
    report = import_file(empty, write_file(tmp_path, "b.ris", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert report.merged and empty.count_papers() == 1


def test_huge_field_is_skipped(empty: Library, tmp_path: Path) -> None:
    huge = "x " * 200_000
    report = import_file(
        empty,
        write_file(
            tmp_path, "h.bib", f"@misc{{big, title={{Big}}, abstract={{{huge}}}}}\n@misc{{small, title={{Small}}}}"
        ),
    )
    assert [t for _, t in report.added] == ["Small"]
    assert "too large" in report.skipped[0].reason


def test_ris_faults(empty: Library, tmp_path: Path) -> None:
    text = (
        "garbage before\nTY  - GEN\nTI  - Fine\nAU  - Doe, Jane\nPY  - 2020///\nER  - \n"
        "TY  - GEN\nAU  - No Title\nER  - \nTY  - GEN\nTI  - Truncated at the end\n"
    )
    report = import_file(empty, write_file(tmp_path, "x.ris", text))
    assert [t for _, t in report.added] == ["Fine"]
    assert sorted(s.reason for s in report.skipped) == ["file ends before the record's ER line", "no title (TI)"]
    assert report.warnings == ["1 line(s) outside any record ignored (first at line 1)"]
    assert empty.paper(report.added[0][0]).year == 2020


def test_csljson_faults(empty: Library, tmp_path: Path) -> None:
    bad = import_file(empty, write_file(tmp_path, "bad.json", '[{"title": "x",'))
    assert bad.added == [] and "not valid JSON" in bad.skipped[0].reason
    items = [
        {"id": "a", "title": "Fine", "author": [{"literal": "The Consortium"}], "issued": {"raw": "2021-03"}},
        {"id": "b", "author": []},
        42,
        {"id": "c", "title": "T", "author": "not a list"},
        {"id": "a", "title": "Duplicate id"},
    ]
    report = import_file(empty, write_file(tmp_path, "items.json", json.dumps(items)))
    assert [t for _, t in report.added] == ["Fine"]
    assert sorted(s.reason for s in report.skipped) == [
        "'author' is not a list",
        "duplicate id",
        "no title",
        "not an object but int",
    ]
    assert empty.paper(report.added[0][0]).year == 2021


def test_import_is_all_or_nothing(empty: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pasa_desktop.library import catalogue

    calls = {"n": 0}
    real = catalogue.upsert

    def failing(conn, paper, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(conn, paper, **kw)

    monkeypatch.setattr(catalogue, "upsert", failing)
    path = write_file(tmp_path, "five.bib", "\n".join(f"@misc{{k{i}, title={{Paper {i}}}}}" for i in range(5)))
    with pytest.raises(OSError):
        import_file(empty, path)
    assert empty.count_papers() == 0


def test_reimporting_an_export_merges_everything(library: Library, tmp_path: Path) -> None:
    for fmt, ext in (("bibtex", "bib"), ("ris", "ris"), ("csljson", "json")):
        out = tmp_path / f"all.{ext}"
        export(library, fmt, Selection(), out)
        report = import_file(library, out)
        assert report.added == [] and len(report.merged) == 4 and report.skipped == []
    assert library.count_papers() == 4
    assert [n.text for n in library.notes(1)] == ["Read section 3 first."]  # notes not duplicated


def test_unknown_format_and_missing_file(empty: Library, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Cannot tell the format"):
        import_file(empty, write_file(tmp_path, "notes.txt", "just some words"))
    with pytest.raises(InputError, match="No such file"):
        import_file(empty, tmp_path / "missing.bib")
