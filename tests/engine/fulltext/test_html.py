"""LaTeXML HTML → sections with two-level names, bibliography and citations (groups kept whole)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import FullTextError
from engine.fulltext.html import fulltext_from_html

DATA = Path(__file__).parent / "data"
PAGE = (DATA / "latexml_2401.00001.html").read_text(encoding="utf-8")


def test_sections_get_pasa_two_level_names_and_their_own_citations() -> None:
    ft = fulltext_from_html(PAGE, paper_id="arxiv:2401.00001")
    assert ft.title == "Robust Citation Expansion for Paper-Search Agents"
    assert ft.abstract.startswith("Agents that follow citations") and " k references" in ft.abstract
    assert ft.section_names() == [
        "1 Introduction",
        "2 Method",
        "2 Method 2.1 Parsing",
        "2 Method 2.2 Guarantees",
        "A Proofs",
    ]
    cites = {s.name: s.cites for s in ft.sections}
    # A citation group [1, 2, 3] yields all three entries (PaSa's parser kept only the first).
    assert cites["1 Introduction"] == ("bib.bib1", "bib.bib2", "bib.bib3")
    assert cites["2 Method"] == ()
    assert cites["2 Method 2.1 Parsing"] == ("bib.bib4", "bib.bib5")  # the subsubsection folds into 2.1
    assert cites["2 Method 2.2 Guarantees"] == ("bib.bib3", "bib.bib2")  # "[3,2]" without a space
    assert [e.id for e in ft.cited_in(["2 Method 2.2 Guarantees", "A Proofs"])] == ["bib.bib3", "bib.bib2", "bib.bib5"]


def test_bibliography_titles_ids_and_dois() -> None:
    bib = fulltext_from_html(PAGE, paper_id="arxiv:2401.00001").bibliography
    assert list(bib) == [f"bib.bib{i}" for i in range(1, 6)]
    assert bib["bib.bib1"].title == "Attention is all you need" and bib["bib.bib1"].year == 2017
    assert bib["bib.bib2"].arxiv_id == "1810.04805"
    assert bib["bib.bib2"].title == "BERT: Pre-training of deep bidirectional transformers for language understanding"
    assert bib["bib.bib3"].arxiv_id == "2005.14165"  # from the link
    assert bib["bib.bib4"].doi == "10.1162/neco.1997.9.8.1735"
    assert bib["bib.bib5"].title is None  # a physics-style entry with no title: unresolved, not guessed
    assert not bib["bib.bib1"].raw.startswith(" ") and "[1]" not in bib["bib.bib1"].raw


def test_page_without_bibliography_still_has_sections() -> None:
    ft = fulltext_from_html((DATA / "latexml_no_bib.html").read_text(encoding="utf-8"), paper_id="x")
    assert ft.section_names() == ["1 Introduction", "2 Result"] and ft.bibliography == {}
    assert ft.cited_in(ft.section_names()) == []


def test_truncated_page_keeps_what_arrived() -> None:
    cut = PAGE[: PAGE.index('<section class="ltx_subsection" id="S2.SS2">') + 120]
    ft = fulltext_from_html(cut, paper_id="x")
    assert ft.section_names()[:3] == ["1 Introduction", "2 Method", "2 Method 2.1 Parsing"]
    assert ft.bibliography == {}


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><h1>Article not found</h1><p>No HTML for this paper.</p></body></html>",
        "",
        "<<<>>> </div></section> garbage \x00 bytes",
    ],
)
def test_pages_without_an_article_raise_a_clear_error(page: str) -> None:
    with pytest.raises(FullTextError, match="no LaTeXML article"):
        fulltext_from_html(page, paper_id="arxiv:0000.00000")


def test_chapters_are_the_first_level_in_a_thesis() -> None:
    page = """<article class="ltx_document">
    <section class="ltx_chapter" id="Ch1"><h2 class="ltx_title"><span class="ltx_tag">Chapter 1 </span>Background</h2>
      <div class="ltx_para"><p>Intro <cite class="ltx_cite">[<a class="ltx_ref" href="#bib.bib1">1</a>]</cite></p></div>
      <section class="ltx_section" id="Ch1.S1"><h3 class="ltx_title"><span class="ltx_tag">1.1 </span>Models</h3>
        <p>See <cite class="ltx_cite">[<a class="ltx_ref" href="#bib.bib2">2</a>]</cite>.</p>
        <section class="ltx_subsection" id="Ch1.S1.SS1"><h4 class="ltx_title">1.1.1 Details</h4><p>More.</p></section>
      </section>
    </section>
    <section class="ltx_bibliography"><ul class="ltx_biblist">
      <li class="ltx_bibitem" id="bib.bib1"><span class="ltx_bibblock">A. B. Title one here. 2020.</span></li>
      <li class="ltx_bibitem" id="bib.bib2"><span class="ltx_bibblock">C. D. Title two here. 2021.</span></li>
    </ul></section></article>"""
    ft = fulltext_from_html(page, paper_id="x")
    assert ft.section_names() == ["1 Background", "1 Background 1.1 Models"]
    assert [s.cites for s in ft.sections] == [("bib.bib1",), ("bib.bib2",)]
    assert "More." in ft.sections[1].text
