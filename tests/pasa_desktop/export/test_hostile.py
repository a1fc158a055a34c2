"""Hostile and real-world input from issue #16: names, math, DOIs, details, macros, stray braces, garbage
files, deep JSON, control characters, and `--strict` imports — each through the real parsers and CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pasa_desktop.export import bibtex, csljson, import_file, ris
from pasa_desktop.export.record import Record
from pasa_desktop.library import Library
from tests.pasa_desktop.export.conftest import write_file

NAMES_BIB = r"""
@article{k1, title={Names}, author={Smith, Jr., John and van der Berg, Jan and Ludwig van Beethoven and {Barnes and Noble}},
  year=2020, journal={J}}
"""


def test_names_keep_particle_and_suffix_in_every_format(tmp_path: Path) -> None:
    [rec] = bibtex.loads(NAMES_BIB).records
    assert rec.authors == ("Smith, Jr., John", "Jan van der Berg", "Ludwig van Beethoven", "Barnes and Noble,")
    bib = bibtex.dumps([rec])
    assert "Smith, Jr., John and van der Berg, Jan and van Beethoven, Ludwig and {Barnes {and} Noble}" in bib
    assert "AU  - Smith, John, Jr." in ris.dumps([rec]) and "AU  - van der Berg, Jan" in ris.dumps([rec])
    people = json.loads(csljson.dumps([rec]))[0]["author"]
    assert people[0] == {"family": "Smith", "given": "John", "suffix": "Jr."}
    assert people[1] == {"family": "Berg", "given": "Jan", "non-dropping-particle": "van der"}
    for loads, dumps in ((bibtex.loads, bibtex.dumps), (ris.loads, ris.dumps), (csljson.loads, csljson.dumps)):
        assert loads(dumps([rec])).records[0].authors == rec.authors


def test_math_doi_and_details_survive_import_and_export(empty: Library, tmp_path: Path) -> None:
    text = r"""@article{m1, title={Sorting in $O(n \log n)$ time}, author={Knuth, Donald}, year=1998,
      journal={Computing}, volume={3}, number={2}, pages={101--117}, publisher={Addison-Wesley},
      isbn={978-0-306-40615-7}, doi={10.1000/abc\_def}, url={https://example.org/a_b%20c}}"""
    report = import_file(empty, write_file(tmp_path, "m.bib", text))
    [(pid, title)] = report.added
    assert title == r"Sorting in $O(n \log n)$ time"
    paper = empty.paper(pid)
    assert paper.doi == "10.1000/abc_def" and paper.url == "https://example.org/a_b%20c"
    out = tmp_path / "out.bib"
    from pasa_desktop.export import Selection, export

    export(empty, "bibtex", Selection(), out)
    written = out.read_text()
    assert r"{$O(n \log n)$}" in written and "doi = {10.1000/abc_def}" in written
    for field in ("volume = {3}", "number = {2}", "pages = {101--117}", "publisher = {Addison-Wesley}"):
        assert field in written
    [back] = bibtex.loads(written).records
    assert (back.volume, back.issue, back.pages, back.publisher, back.isbn) == (
        "3",
        "2",
        "101-117",
        "Addison-Wesley",
        "978-0-306-40615-7",
    )
    for fmt in ("ris", "csljson"):
        text_out, _ = export(empty, fmt, Selection())
        [again] = (ris.loads if fmt == "ris" else csljson.loads)(text_out).records
        assert (again.volume, again.issue, again.pages, again.isbn) == ("3", "2", "101-117", "978-0-306-40615-7")


def test_string_macros_and_concatenation_are_expanded() -> None:
    text = """@string{foo = "Foo Journal"}
    @string{full = foo # " of Things"}
    @article{a, title = "On " # {Macros}, journal = full # " and more", year = 2020, month = jan}
    @article{b, title = {Unknown}, journal = nosuchmacro}"""
    parsed = bibtex.loads(text)
    a, b = parsed.records
    assert a.title == "On Macros" and a.venue == "Foo Journal of Things and more"
    assert b.venue == "nosuchmacro" and any("undefined @string macro nosuchmacro" in w for w in parsed.warnings)


def test_stray_closing_braces_do_not_lose_the_fields_after_them() -> None:
    text = "@article{b, title={Ends badly}}}, author={Doe, Jane}, year={2021}}\n@misc{c, title={Next}}"
    parsed = bibtex.loads(text)
    b, c = parsed.records
    assert (b.title, b.authors, b.year) == ("Ends badly", ("Jane Doe",), 2021) and c.title == "Next"
    assert parsed.warnings == ["line 1: 2 unbalanced '}' dropped so the entry keeps its fields"]


def test_garbage_ris_is_one_error_and_strict_fails(tmp_path: Path) -> None:
    garbage = write_file(tmp_path, "garbage.ris", os.urandom(200_000).replace(b"\x00", b"x"))
    env = {**os.environ, "PASA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "pasa_desktop.cli.main", "import", "--strict", str(garbage)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "0 added, 0 merged with papers already in the library, 1 skipped" in done.stdout
    assert "not RIS: no record starts with a 'TY  - ' line" in done.stdout
    assert len(done.stdout.splitlines()) <= 5  # not a line per garbage line


def test_deeply_nested_json_is_a_clear_error(empty: Library, tmp_path: Path) -> None:
    deep = write_file(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    report = import_file(empty, deep)
    assert [s.reason for s in report.skipped] == ["JSON nested too deeply to be a bibliography"]


def test_control_characters_never_reach_an_exported_file() -> None:
    rec = Record(
        citekey="c1",
        title="Evil \x1b]0;owned\x07 title \x9b31m",
        authors=("Ann \x1b[2J Lee",),
        abstract="a\x00b",
        tags=("t\x1b",),
    )
    for text in (ris.dumps([rec]), bibtex.dumps([rec]), csljson.dumps([rec])):
        assert not any((ord(ch) < 0x20 and ch not in "\n") or 0x7F <= ord(ch) <= 0x9F for ch in text), repr(text)
    assert "Evil \\x1b]0;owned\\x07 title \\x9b31m" in ris.dumps([rec])
    assert csljson.loads(csljson.dumps([rec])).records == [rec]  # JSON escapes them exactly


def test_strict_import_fails_on_a_merge_without_an_identifier(tmp_path: Path) -> None:
    env = {**os.environ, "PASA_DATA_DIR": str(tmp_path / "data")}
    first = write_file(tmp_path, "a.bib", "@article{x1, title={Deep Nets}, author={Lee, Ann}, year=2019, journal={J}}")
    second = write_file(tmp_path, "b.bib", "@article{y1, title={Deep nets.}, author={Lee, A.}, year=2019, journal={J}}")
    qwen = write_file(
        tmp_path,
        "q.bib",
        "@misc{q2, title={Qwen2 Technical Report}, author={Yang, An}, year=2024}\n"
        "@misc{q25, title={Qwen2.5 Technical Report}, author={Yang, An}, year=2024}\n",
    )

    def pasa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pasa_desktop.cli.main", *args], capture_output=True, text=True, env=env, timeout=120
        )

    assert pasa("import", "--strict", str(first)).returncode == 0
    merged = pasa("import", "--strict", str(second))
    assert merged.returncode == 1 and "merged without a shared identifier" in merged.stderr
    assert "same title, year (2019) and first author; no shared identifier" in merged.stdout
    assert pasa("import", "--strict", str(qwen)).stdout.startswith("q.bib: 2 added, 0 merged")
    listed = pasa("library", "duplicates")
    assert "1 merge(s)" in listed.stdout and "record 2 → paper 1" in listed.stdout
    undone = pasa("library", "unmerge", "2")
    assert undone.returncode == 0 and "is paper 4 again" in undone.stdout
    after = pasa("library", "duplicates").stdout  # apart again, and listed for the user to decide
    assert "merge(s)" not in after and "1 ⟵ 4: Deep Nets / Deep nets." in after


def test_a_merged_records_citekey_stays_citable_through_biblatex_ids(empty: Library, tmp_path: Path) -> None:
    import_file(
        empty, write_file(tmp_path, "a.bib", "@article{x1, title={One}, doi={10.1/same}, year=2020, journal={J}}")
    )
    report = import_file(empty, write_file(tmp_path, "b.bib", "@misc{y1, title={One (preprint)}, doi={10.1/SAME}}"))
    assert report.merges[0].basis == "doi" and report.merges[0].reason == "same DOI 10.1/same"
    from pasa_desktop.export import Selection, export

    text, count = export(empty, "bibtex", Selection())
    assert count == 1 and "@article{x1," in text and "ids = {y1}" in text
