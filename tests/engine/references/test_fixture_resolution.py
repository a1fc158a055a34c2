"""Resolution on the real unarXive sample against a small real index: linked papers found, nothing wrong."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from engine.fulltext.unarxive import UnarxiveFullTexts
from engine.papers import Paper, find_arxiv_id
from engine.references import LocalReferenceResolver
from engine.sources.local_index import LocalIndex, build_index
from tests.conftest import shared_data

ARXIV_FIELD = re.compile(r'"arxiv_id": "([^"]+)"')


@pytest.mark.data
async def test_linked_papers_in_the_index_resolve_by_title_and_none_wrongly(tmp_path: Path) -> None:
    provider = UnarxiveFullTexts(shared_data("fixtures/unarXive_data_sample.tar.gz"))
    texts = [ft for ft in (provider.fulltext_sync(i) for i in provider.ids()) if ft is not None]
    linked = {
        (ft.paper_id, e.id): find_arxiv_id(e.ids["linked_arxiv_id"]) or ""
        for ft in texts
        for e in ft.bibliography.values()
        if e.ids.get("linked_arxiv_id")
    }
    wanted = set(linked.values())
    # The linked papers the corpus holds, plus 3,000 other real papers as distractors.
    corpus = tmp_path / "slice.jsonl"
    kept = others = 0
    with gzip.open(shared_data("corpus/papers.jsonl.gz"), "rt", encoding="utf-8") as src, corpus.open("w") as out:
        for line in src:
            match = ARXIV_FIELD.search(line)
            hit = match is not None and match.group(1) in wanted
            if hit or others < 3000:
                out.write(line)
                kept += 1
                others += not hit
    build_index(corpus, tmp_path / "index.sqlite")
    index = LocalIndex(tmp_path / "index.sqlite")
    in_index = {k: v for k, v in linked.items() if index.by_ids_sync([v])}
    assert len(in_index) >= 7

    resolver = LocalReferenceResolver(index, use_entry_links=False)
    found = wrong = 0
    for ft in texts:
        citing = Paper(id=ft.paper_id, title=ft.title, arxiv_id=ft.paper_id.split(":", 1)[1])
        for res in await resolver.resolve(citing, list(ft.bibliography.values())):
            gold = linked.get((ft.paper_id, res.entry.id)) or res.entry.arxiv_id
            got = res.paper.arxiv_id if res.paper is not None else None
            if gold and got and got != gold:
                wrong += 1
            if (ft.paper_id, res.entry.id) in in_index and got == gold:
                found += 1
    assert wrong == 0
    assert found == len(in_index)
