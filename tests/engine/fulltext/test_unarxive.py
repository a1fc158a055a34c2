"""unarXive records → full texts: two-level names, cites in the right sections, bibliography, bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import FullTextError
from engine.fulltext.unarxive import UnarxiveFullTexts, fulltext_from_unarxive
from engine.papers import Paper
from tests.conftest import shared_data


def paragraph(section: str, number: str, kind: str, text: str, cites: list[str] = ()) -> dict[str, object]:  # type: ignore[assignment]
    spans = [{"start": 0, "end": 0, "text": f"{{{{cite:{c}}}}}", "ref_id": c} for c in cites]
    body = text + "".join(f" {{{{cite:{c}}}}}" for c in cites)
    return {
        "section": section,
        "sec_number": number,
        "sec_type": kind,
        "content_type": "paragraph",
        "text": body,
        "cite_spans": spans,
        "ref_spans": [],
    }


RECORD = {
    "paper_id": "2212.00001",
    "metadata": {"title": "A Synthetic\n  Paper", "authors": "A. One, B. Two"},
    "abstract": {"section": "Abstract", "text": "  We test things.\n"},
    "body_text": [
        paragraph("Introduction", "1", "section", "Intro text", ["b1", "b2"]),
        # Section 2 has no text of its own: its subsections must not land under "1 Introduction".
        paragraph("Setting", "2.1", "subsection", "Setting text", ["b2"]),
        paragraph("Details", "2.1.1", "subsubsection", "Deeper text", ["b3"]),
        paragraph("Results", "3", "section", "Results text"),
        paragraph("Relative", "1", "subsection", "Numbered relative to its section", ["b1"]),
        paragraph("Acknowledgments", "-1", "section", "Thanks"),
    ],
    "bib_entries": {
        "b1": {
            "bib_entry_raw": "A. Vaswani et al. Attention is all you need. In NeurIPS, 2017.",
            "contained_arXiv_ids": [],
            "contained_links": [],
            "ids": {"open_alex_id": "https://openalex.org/W1", "arxiv_id": "1706.03762", "doi": ""},
        },
        "b2": {
            "bib_entry_raw": "J. Devlin et al. BERT. arXiv preprint arXiv:1810.04805, 2018.",
            "contained_arXiv_ids": [{"id": "1810.04805"}],
            "contained_links": [],
        },
        "b3": {
            "bib_entry_raw": "Kristensen, L. E., et al. 2012, , 542, A8",
            "contained_arXiv_ids": [],
            "contained_links": [],
        },
    },
}


def test_two_level_names_and_cites_per_section() -> None:
    ft = fulltext_from_unarxive(RECORD)
    assert ft.title == "A Synthetic Paper" and ft.abstract == "We test things."
    assert ft.section_names() == [
        "1 Introduction",
        "2.1 Setting",
        "3 Results",
        "3 Results 3.1 Relative",
        "Acknowledgments",
    ]
    cites = {s.name: s.cites for s in ft.sections}
    assert cites["1 Introduction"] == ("b1", "b2")
    assert cites["2.1 Setting"] == ("b2", "b3")  # the subsubsection folds into its subsection
    assert cites["3 Results 3.1 Relative"] == ("b1",)
    assert "[1]" in ft.section("1 Introduction").text  # type: ignore[union-attr]
    bib = ft.bibliography
    assert bib["b1"].title == "Attention is all you need" and bib["b1"].ids["linked_arxiv_id"] == "1706.03762"
    assert bib["b2"].arxiv_id == "1810.04805" and bib["b3"].title is None


async def test_provider_reads_jsonl_skips_broken_lines_and_keys_by_arxiv_id(tmp_path: Path) -> None:
    path = tmp_path / "sample.jsonl"
    path.write_text(json.dumps(RECORD) + "\n{broken json\n\n", encoding="utf-8")
    provider = UnarxiveFullTexts(path)
    ft = await provider.fulltext(Paper(id="x", title="t", arxiv_id="2212.00001v3"))
    assert ft is not None and ft.origin == "unarxive"
    assert provider.skipped_lines == 1
    assert await provider.fulltext(Paper(id="x", title="t", arxiv_id="2101.99999")) is None
    assert await provider.fulltext(Paper(id="doi:1", title="no arXiv id")) is None
    with pytest.raises(FullTextError):
        UnarxiveFullTexts(tmp_path / "missing.jsonl")


@pytest.mark.data
async def test_every_fixture_paper_yields_sections_with_attached_citations() -> None:
    provider = UnarxiveFullTexts(shared_data("fixtures/unarXive_data_sample.tar.gz"))
    ids = provider.ids()
    assert len(ids) == 49
    entries = cited = 0
    for arxiv_id in ids:
        ft = provider.fulltext_sync(arxiv_id)
        assert ft is not None and ft.sections
        numbers = {key: i for i, key in enumerate(ft.bibliography, start=1)}
        for section in ft.sections:
            for key in section.cites:
                assert f"[{numbers[key]}]" in section.text  # the cite marker is in the section it is attached to
        entries += len(ft.bibliography)
        cited += len({c for s in ft.sections for c in s.cites})
    assert entries == 1786 and cited >= 1700
    ft = provider.fulltext_sync("2212.11790")
    assert ft is not None and "4 Experiments 4.1 Comparison to State of the Art" in ft.section_names()
