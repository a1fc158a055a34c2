"""PDF full texts built in the test with pymupdf: sections, numeric bibliography, cites; bad files; bounds."""

from __future__ import annotations

import time

import pymupdf
import pytest

from engine.errors import FullTextError
from engine.fulltext.pdf import fulltext_from_pdf

PAGES = [
    [
        "A Study of Citation Parsing",
        "Abstract",
        "We parse references from PDFs.",
        "1 Introduction",
        "Prior work [1, 2] parsed titles badly [3].",
        "Search agents follow citations.",
    ],
    ["2 Method", "We read the references.", "2.1 Parsing", "Numbered styles are handled [2-4]."],
    [
        "References",
        "[1] A. Vaswani, N. Shazeer, and N. Parmar. Attention is all you need. In NeurIPS, 2017.",
        "[2] J. Devlin, M. Chang, K. Lee, and K. Toutanova. BERT: Pre-training of deep bidirectional",
        "transformers for language understanding. arXiv preprint arXiv:1810.04805, 2018.",
        "[3] S. Hochreiter and J. Schmidhuber. Long short-term memory. Neural Computation, 9(8), 1997.",
        "[4] T. Brown et al. Language models are few-shot learners. In NeurIPS, 2020.",
    ],
]


def make_pdf(pages: list[list[str]], *, encrypt: bool = False) -> bytes:
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page()
        y = 72.0
        for line in lines:
            page.insert_text((72, y), line, fontsize=10)
            y += 16
    options = {}
    if encrypt:
        options = {"encryption": pymupdf.PDF_ENCRYPT_AES_256, "user_pw": "secret", "owner_pw": "owner"}
    data: bytes = doc.tobytes(**options)
    doc.close()
    return data


def test_sections_bibliography_and_numeric_cites() -> None:
    ft = fulltext_from_pdf(make_pdf(PAGES), paper_id="arxiv:2401.00002", title="A Study of Citation Parsing")
    assert ft.origin == "pdf" and ft.abstract == "We parse references from PDFs."
    assert ft.section_names() == ["1 Introduction", "2 Method", "2 Method 2.1 Parsing"]
    sections = {s.name: s for s in ft.sections}
    assert sections["1 Introduction"].cites == ("ref.1", "ref.2", "ref.3")
    assert sections["2 Method 2.1 Parsing"].cites == ("ref.2", "ref.3", "ref.4")  # the range [2-4] expanded
    bib = ft.bibliography
    assert bib["ref.1"].title == "Attention is all you need"
    assert bib["ref.2"].arxiv_id == "1810.04805" and "bidirectional transformers" in bib["ref.2"].raw


def test_corrupt_and_non_pdf_bytes_raise() -> None:
    good = make_pdf(PAGES)
    with pytest.raises(FullTextError, match=r"corrupt|no text|no pages"):
        fulltext_from_pdf(good[:200], paper_id="x")
    with pytest.raises(FullTextError, match="not a PDF"):
        fulltext_from_pdf(b"<html>Access denied</html>", paper_id="x")


def test_encrypted_pdf_raises_a_clear_error() -> None:
    with pytest.raises(FullTextError, match="password-protected"):
        fulltext_from_pdf(make_pdf(PAGES, encrypt=True), paper_id="x")


def test_300_page_pdf_is_read_in_bounded_time() -> None:
    pages = [[f"{i} Section number {i}", "Some body text that goes on [1]."] for i in range(1, 300)]
    pages.append(["References", "[1] A. Author. A title that is long enough. In Venue, 2020."])
    data = make_pdf(pages)
    started = time.monotonic()
    ft = fulltext_from_pdf(data, paper_id="x", max_pages=40, max_seconds=5.0)
    assert time.monotonic() - started < 5.0
    assert len(ft.sections) <= 41
    assert "ref.1" in ft.bibliography  # the last pages (references) are read despite the cap


def make_styled_pdf() -> bytes:
    """Headings bold and larger than the body; an author-year bibliography."""
    doc = pymupdf.open()
    page = doc.new_page()
    y = 72.0

    def put(text: str, *, heading: bool = False) -> None:
        nonlocal y
        page.insert_text((72, y), text, fontsize=13 if heading else 10, fontname="hebo" if heading else "helv")
        y += 18

    put("1 Introduction", heading=True)
    put("Transformers (Vaswani et al., 2017) replaced recurrence.")
    put("2 We show that numbered body lines are not headings")
    put("Memory cells (Hochreiter and Schmidhuber, 1997) came first.")
    put("2 Related Work", heading=True)
    put("Pre-training (Devlin et al., 2019) helps.")
    put("References", heading=True)
    put("Devlin, J., Chang, M., Lee, K., and Toutanova, K. BERT: Pre-training of deep")
    put("bidirectional transformers for language understanding. In NAACL, 2019.")
    put("Hochreiter, S. and Schmidhuber, J. Long short-term memory. Neural Computation, 1997.")
    put("Vaswani, A., Shazeer, N., and Parmar, N. Attention is all you need. In NeurIPS, 2017.")
    data: bytes = doc.tobytes()
    doc.close()
    return data


def test_styled_headings_and_author_year_citations() -> None:
    ft = fulltext_from_pdf(make_styled_pdf(), paper_id="x")
    assert ft.section_names() == ["1 Introduction", "2 Related Work"]
    assert "numbered body lines" in ft.sections[0].text
    bib = ft.bibliography
    assert [bib[k].title for k in ("ref.1", "ref.2", "ref.3")] == [
        "BERT: Pre-training of deep bidirectional transformers for language understanding",
        "Long short-term memory",
        "Attention is all you need",
    ]
    assert ft.sections[0].cites == ("ref.3", "ref.2")
    assert ft.sections[1].cites == ("ref.1",)
