"""Acronyms mined from the index's abstracts spell out the short forms a question uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from engine.agent.queries import acronym_variant, variants_with
from engine.agent.search import SearchDeps, run_search
from engine.agent.settings import AgentSettings
from engine.events import QueryIssued, SearchFinished
from engine.sources.acronyms import AcronymTable, long_form, mine
from engine.sources.local_index import LocalIndex, build_index
from pasa_testing.scripted import ScriptedModel


def test_long_form_follows_the_initials_back_from_the_parenthesis() -> None:
    assert long_form("we study graph neural networks".split(), "GNN") == "graph neural networks"
    assert long_form("powerful in-context learning".split(), "ICL") == "in-context learning"
    assert long_form("a region of interest".split(), "ROI") == "region of interest"
    assert long_form("we propose a new method".split(), "GNN") is None
    assert long_form("graph".split(), "X") is None  # one capital is not an acronym


def test_mine_counts_spelling_variants_of_one_long_form_together() -> None:
    table = mine(
        [
            "We use Markov decision processes (MDPs) to model it.",
            "A Markov decision process (MDP) is solved.",
            "Markov-decision processes (MDP) again.",
            "An MDP without a definition (see text).",
        ]
    )
    form, count, total = table["MDP"]
    assert form.startswith("markov decision process")
    assert (count, total) == (3, 3)


def test_an_acronym_with_rival_meanings_or_a_single_sighting_is_left_alone() -> None:
    table = AcronymTable.from_mined(
        {
            "VQA": ("visual question answering", 9, 10),
            "AVS": ("audio-visual segmentation", 4, 7),
            "XYZ": ("x y z", 1, 1),
        }
    )
    assert table.forms == {"VQA": "visual question answering"}


def test_expand_appends_long_forms_the_text_does_not_already_spell_out() -> None:
    table = AcronymTable({"GCN": "graph convolutional network", "RL": "reinforcement learning"})
    assert table.expand("Which papers use GCNs and RL?") == (
        "Which papers use GCNs and RL? graph convolutional network reinforcement learning"
    )
    assert table.expand("graph convolutional networks (GCNs) for activity recognition") == ""
    assert table.expand("nothing to see here") == ""


def _corpus(tmp_path: Path) -> Path:
    rows = [
        {
            "id": f"def{i}",
            "title": f"Study {i}",
            "abstract": f"We apply graph convolutional networks (GCNs) to task {i}.",
        }
        for i in range(3)
    ]
    rows.append(
        {
            "id": "answer",
            "title": "Skeleton action recognition with a graph convolutional network",
            "abstract": "Human activity recognition from skeletons with a graph convolutional network.",
        }
    )
    rows += [
        {"id": f"other{i}", "title": f"Unrelated topic {i}", "abstract": "Nothing relevant here."} for i in range(20)
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


async def test_the_index_mines_its_acronyms_and_the_agent_searches_the_long_form(tmp_path: Path) -> None:
    index = LocalIndex(build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path)
    assert index.acronyms is not None
    assert index.acronyms.forms["GCN"] == "graph convolutional networks"
    question = "Which studies use GCNs?"
    expanded = acronym_variant(question, index.acronyms)
    assert expanded == "Which studies use GCNs? graph convolutional networks"
    assert variants_with(index.acronyms)(question)[-1] == expanded
    assert variants_with(None)(question) == []

    model = ScriptedModel([""], lambda _p: 0.05)
    settings = AgentSettings(score_top=0, expand_layers=0, max_queries=0)

    async def found(variants: Callable[[str], list[str]]) -> tuple[list[str], dict[str, list[str]]]:
        deps = SearchDeps(crawler_model=model, selector_model=model, sources=[index], query_variants=variants)
        events = [e async for e in run_search(question, settings, deps)]
        finished = events[-1]
        assert isinstance(finished, SearchFinished)
        issued = [e.query for e in events if isinstance(e, QueryIssued)]
        return issued, {r.paper.id: [f.query for f in r.found_by] for r in finished.results}

    # The answer never says "GCN": only the long form reaches it (feedback and the dense ranking off:
    # both would find it too).
    assert index.bm25f is not None
    index.bm25f = index.bm25f.with_params(index.bm25f.params, feedback=None)
    index.dense = None
    _, without = await found(variants_with(None))
    assert "answer" not in without
    issued, with_acronyms = await found(variants_with(index.acronyms))
    assert expanded in issued
    assert with_acronyms["answer"] == [expanded]


def test_a_damaged_acronym_table_makes_the_index_fall_back_instead_of_crashing(tmp_path: Path) -> None:
    built = build_index(_corpus(tmp_path), tmp_path / "index.sqlite").path
    table = built.with_name(built.name + ".bm25f") / "acronyms.json"
    for damage in ("[1, 2]", '{"GCN": 3}', "not json"):
        table.write_text(damage, encoding="utf-8")
        index = LocalIndex(built)
        assert index.bm25f is None and index.acronyms is None
        assert index.search_sync("graph convolutional networks", limit=3)  # FTS5's bm25() still answers
