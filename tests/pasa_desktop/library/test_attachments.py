"""PDFs are copied into the library folder under safe names, and their text is searchable."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from pasa_desktop.library import Library, LibraryError
from pasa_desktop.library.attachments import inside, safe_name
from tests.pasa_desktop.library.conftest import make_paper


def write_pdf(path: Path, text: str) -> Path:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), text)
    doc.save(path)
    doc.close()
    return path


def test_attach_copies_extracts_and_indexes(library: Library, tmp_path: Path) -> None:
    pid = library.add_paper(make_paper(1)).paper_id
    pdf = write_pdf(tmp_path / "paper.pdf", "Polynomial codes achieve the optimal recovery threshold")
    att_id = library.attach(pid, pdf)
    (att,) = library.attachments(pid)
    assert att.id == att_id and att.mime == "application/pdf"
    assert att.path.is_relative_to(library.files_dir.resolve()) and att.path.read_bytes() == pdf.read_bytes()
    assert [p.id for p in library.search("recovery threshold")] == [pid]
    # The same file again is not copied twice.
    assert library.attach(pid, pdf) == att_id
    assert len(list(library.files_dir.rglob("*.pdf"))) == 1
    pdf.unlink()  # the user's original may go away; the library keeps its copy
    assert att.path.exists()
    library.remove_attachment(att_id)
    assert not att.path.exists() and library.search("recovery threshold") == []


def test_broken_pdf_is_kept_without_text(library: Library, tmp_path: Path) -> None:
    pid = library.add_paper(make_paper(2)).paper_id
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n garbage that is not a pdf")
    library.attach(pid, bad)
    assert library.attachments(pid)[0].path.exists()


def test_missing_file_and_unknown_paper(library: Library, tmp_path: Path) -> None:
    pid = library.add_paper(make_paper(3)).paper_id
    with pytest.raises(InputError):
        library.attach(pid, tmp_path / "nope.pdf")
    with pytest.raises(LibraryError):
        library.attach(999, write_pdf(tmp_path / "x.pdf", "x"))


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\windows\\system32\\cmd.exe",
        "/abs/path.pdf",
        "C:\\x\\..\\y.pdf",
        "..",
        ".",
        "",
        "CON.pdf",
        "nul",
        "a\x00b.pdf",
        "\u202eevil.pdf",
        "x" * 500 + ".pdf",
        "....pdf",
        "~/.ssh/id_rsa",
    ],
)
def test_outside_names_never_escape(library: Library, tmp_path: Path, name: str) -> None:
    pid = library.add_paper(make_paper(4)).paper_id
    pdf = write_pdf(tmp_path / "src.pdf", "text")
    library.attach(pid, pdf, name=name)
    root = library.files_dir.resolve()
    for att in library.attachments(pid):
        assert att.path.resolve().is_relative_to(root)
        assert len(att.path.name) <= 130


@given(st.text(max_size=200))
def test_safe_name_is_one_plain_component(name: str) -> None:
    safe = safe_name(name)
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and not safe.startswith(".")


def test_inside_refuses_traversal_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "files"
    root.mkdir()
    with pytest.raises(LibraryError):
        inside(root, "../outside.pdf")
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(LibraryError):
        inside(root, "link/secret.pdf")
