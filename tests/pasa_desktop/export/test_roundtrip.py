"""Property tests: what goes out comes back identical (BibTeX, CSL-JSON; RIS up to its one-line fields)."""

from __future__ import annotations

import dataclasses
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pasa_desktop.export import bibtex, csljson, latex, ris
from pasa_desktop.export.record import Record
from tests.pasa_desktop.export.strategies import LINE, records


@pytest.mark.parametrize("fmt", [bibtex, csljson], ids=["bibtex", "csljson"])
@settings(max_examples=50, deadline=None)
@given(st.lists(records(), max_size=3, unique_by=lambda r: r.citekey))
def test_round_trip(fmt: ModuleType, recs: list[Record]) -> None:
    parsed = fmt.loads(fmt.dumps(recs))
    assert parsed.skipped == []
    assert parsed.records == recs


def test_bibtex_field_line_starting_with_at_sign_round_trips() -> None:
    """Found by hypothesis: a note line beginning with "@" read as a new entry and the record was lost."""
    rec = Record(citekey="key2020", title="0", notes=("0", "@("))
    parsed = bibtex.loads(bibtex.dumps([rec]))
    assert parsed.skipped == []
    assert parsed.records == [rec]


def _one_line(r: Record) -> Record:
    # RIS fields are single lines and authors are "Family, Given": single-token names and commas aside.
    return dataclasses.replace(r, abstract=" ".join(r.abstract.split()))


@settings(max_examples=50, deadline=None)
@given(st.lists(records(), max_size=3))
def test_ris_round_trip(recs: list[Record]) -> None:
    parsed = ris.loads(ris.dumps(recs))
    assert parsed.skipped == [] and parsed.warnings == []
    assert parsed.records == [_one_line(r) for r in recs]


@given(st.text())
def test_latex_decode_inverts_encode(text: str) -> None:
    assert latex.decode(latex.encode(text)) == text
    assert latex.decode(latex.encode(text, protect_capitals=True)) == text


@given(LINE)
def test_latex_decode_never_fails_on_anything(text: str) -> None:
    latex.decode(text)


@given(st.text(max_size=300))
def test_parsers_never_raise_on_garbage(text: str) -> None:
    for loads in (bibtex.loads, ris.loads, csljson.loads):
        result = loads(text)
        assert isinstance(result.records, list)
