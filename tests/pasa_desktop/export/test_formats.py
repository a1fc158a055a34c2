"""Exports parsed back by independent readers: bibtexparser (+ pylatexenc), rispy, citeproc-py."""

from __future__ import annotations

import json

import bibtexparser
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON

from pasa_desktop.export import Selection, export
from pasa_desktop.library import Library


def test_bibtex_arxiv_form_keys_and_escaping(library: Library) -> None:
    text, count = export(library, "bibtex", Selection())
    assert count == 4
    parsed = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors()])
    assert parsed.failed_blocks == []
    entries = {e.key: e for e in parsed.entries}
    assert list(entries) == [
        "vaswaniAttentionAllYou2017",
        "heDeepResidualLearning2016",
        "devlinBERTPretrainingDeep2019",
        "mullerlukaszUberMoglichkeitBeispiel2020",
    ]
    vaswani = entries["vaswaniAttentionAllYou2017"]
    assert vaswani.entry_type == "misc"
    assert vaswani["eprint"] == "1706.03762" and vaswani["archivePrefix"] == "arXiv"
    assert vaswani["url"] == "https://arxiv.org/abs/1706.03762"
    assert vaswani["author"] == ["Vaswani, Ashish", "Shazeer, Noam", "Parmar, Niki"]  # "von Last, First"
    assert entries["heDeepResidualLearning2016"].entry_type == "inproceedings"
    assert entries["heDeepResidualLearning2016"]["doi"] == "10.1109/cvpr.2016.90"
    bert = entries["devlinBERTPretrainingDeep2019"]
    assert bert.entry_type == "article" and bert["eprint"] == "1810.04805"
    # pylatexenc reads our escapes back to the original text (capitals protected, specials escaped).
    assert bert["title"].startswith("BERT: Pre-training of Deep Bidirectional Transformers & 100% of $x_1$")
    # Math stays math (braced against case changes); literal braces never appear bare or as \{ \}.
    assert r"{BERT:}" in text and r"\&" in text and r"\%" in text and r"{$x_1$}" in text
    assert r"\textbraceleft{}braces\textbraceright{}" in text and r"\{" not in text
    assert entries["mullerlukaszUberMoglichkeitBeispiel2020"]["title"] == "Über die Möglichkeit: ein Beispiel"


def test_citekeys_are_stable_across_exports(library: Library) -> None:
    first, _ = export(library, "bibtex", Selection())
    library.add_note(2, "a later note")
    second, _ = export(library, "bibtex", Selection())
    keys = [e.key for e in bibtexparser.parse_string(first).entries]
    assert keys == [e.key for e in bibtexparser.parse_string(second).entries]


def test_ris_read_by_rispy(library: Library) -> None:
    text, _ = export(library, "ris", Selection(run=1))
    entries = rispy.loads(text)
    assert [e["type_of_reference"] for e in entries] == ["GEN", "JOUR", "CPAPER", "GEN"]
    top = entries[0]
    assert top["title"] == "Attention Is All You Need"
    assert top["authors"] == ["Vaswani, Ashish", "Shazeer, Noam", "Parmar, Niki"]
    assert top["year"] == "2017" and top["keywords"] == ["nlp"] and top["notes"] == ["Read section 3 first."]
    assert top["urls"] == ["https://arxiv.org/abs/1706.03762"]
    assert entries[2]["doi"] == "10.1109/cvpr.2016.90"


def test_csljson_rendered_by_citeproc(library: Library) -> None:
    text, _ = export(library, "csljson", Selection(collection="Thesis"))
    items = json.loads(text)
    assert [i["type"] for i in items] == ["article", "paper-conference"]
    assert items[0]["number"] == "arXiv:1706.03762" and items[0]["author"][0] == {
        "family": "Vaswani",
        "given": "Ashish",
    }
    assert items[0]["issued"] == {"date-parts": [[2017]]}
    # citeproc-py ignores fields it does not know; it must still render every item.
    for item in items:
        for unknown in ("abstract", "keyword", "note", "categories"):
            item.pop(unknown, None)
    source = CiteProcJSON(items)
    bibliography = CitationStylesBibliography(
        CitationStylesStyle("harvard-cite-them-right", validate=False), source, formatter.plain
    )
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = [str(r) for r in bibliography.bibliography()]
    assert any("Vaswani, A." in r and "2017" in r and "Attention Is All You Need" in r for r in rendered)
    assert any("He, K." in r and "CVPR" in r for r in rendered)


def test_selection_filters(library: Library) -> None:
    _, n_selected = export(library, "ris", Selection(run=1, selected_only=True))
    _, n_tag = export(library, "ris", Selection(tag="nlp"))
    _, n_ids = export(library, "ris", Selection(paper_ids=(4,)))
    _, n_run_tag = export(library, "ris", Selection(run=1, tag="nlp"))
    assert (n_selected, n_tag, n_ids, n_run_tag) == (2, 2, 1, 2)


def test_selected_without_a_run_means_selected_in_any_search(library: Library) -> None:
    _, count = export(library, "ris", Selection(selected_only=True))
    assert count == 2
