"""Keeping the index current: OAI-PMH harvests from a loopback server serving arXiv's real reply format,
applied to the papers, FTS5 and every ranking through a delta segment, without a full build."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest

from engine.errors import SourceError
from engine.events import Notice
from engine.papers import Paper
from engine.sources import acronyms, dense, index_lifecycle, oai_pmh
from engine.sources.bm25f import build_postings, postings_dir
from engine.sources.local_index import LocalIndex, apply_updates, row_to_paper
from tests.engine.index.arxiv_rows import snapshot_row
from tests.engine.index.conftest import DATA
from tests.engine.sources.fake_server import FakeServer, Reply, Sleeps

XML = "text/xml;charset=utf-8"


def page(name: str) -> Reply:
    return Reply(200, (DATA / name).read_bytes(), content_type=XML)


def _meta(index: Path) -> dict[str, str]:
    con = sqlite3.connect(index)
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()


def _rowid(index: Path, arxiv_id: str) -> int | None:
    con = sqlite3.connect(index)
    try:
        row = con.execute("SELECT rowid FROM papers WHERE arxiv_id = ?", (arxiv_id,)).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else None


def _new_paper(arxiv_id: str, title: str, abstract: str) -> Paper:
    return Paper(
        id=f"arxiv:{arxiv_id}",
        title=title,
        abstract=abstract,
        authors=("A B",),
        year=2024,
        arxiv_id=arxiv_id,
        source="arxiv",
    )


def _as_built(i: int) -> Paper:
    paper = row_to_paper(snapshot_row(i))
    assert paper is not None
    return paper


def test_updates_reach_papers_fts_and_every_ranking_without_a_full_build(snapshot_index: Path) -> None:
    base_docs = postings_dir(snapshot_index) / "docs.npy"
    before = base_docs.stat().st_mtime_ns
    old_gnn = _rowid(snapshot_index, "1602.10001")
    revised = snapshot_row(1) | {"title": "Hypergraph convolutions for molecules (revised)"}
    report = apply_updates(
        snapshot_index,
        [
            _new_paper("2403.01234", "Speculative decoding with draft trees", "Serving large language models faster."),
            _new_paper("1602.10001", revised["title"], "Hypergraph convolutions replace message passing."),
            _as_built(3),  # unchanged
        ],
        ["1501.10000"],
        last_update="2024-03-05",
    )
    assert (report.added, report.changed, report.unchanged, report.removed, report.rankings) == (1, 1, 1, 1, "delta")
    assert base_docs.stat().st_mtime_ns == before  # the base postings were not rewritten
    health = index_lifecycle.check(snapshot_index)
    assert health.ready and health.papers == 40 and health.last_update == "2024-03-05"

    index = LocalIndex(snapshot_index)
    assert index.bm25f is not None and index.fallback_reason is None
    hits = index.search_sync("speculative decoding draft trees", limit=3)
    assert hits[0][0].arxiv_id == "2403.01234"
    (gnn,) = index.by_ids_sync(["1602.10001"])
    assert gnn.id == "arxiv:1602.10001" and gnn.title == revised["title"]  # same id, new text
    assert index.search_sync("hypergraph convolutions", limit=1)[0][0].arxiv_id == "1602.10001"
    assert not index.by_ids_sync(["1501.10000"])
    # The replaced and the removed rows score nothing in either ranking; the new rows do.
    new_gnn = _rowid(snapshot_index, "1602.10001")
    assert old_gnn is not None and new_gnn is not None and new_gnn > old_gnn
    scores = index.bm25f.scores(["study", "1"])
    assert scores[old_gnn] == 0 and scores[new_gnn] == 0  # the revision no longer says "study 1"
    assert index.bm25f.scores(["hypergraph"])[new_gnn] > 0
    if index.dense is not None:
        semantic = index.dense.scores("hypergraph convolutions replace message passing")
        assert semantic[old_gnn] == 0 and semantic[new_gnn] > 0.5
    # A full build ranks the same papers first.
    delta_top = [p.id for p, _ in index.search_sync("decoding language models molecules", limit=3)]
    build_postings(snapshot_index)
    assert [
        p.id for p, _ in LocalIndex(snapshot_index).search_sync("decoding language models molecules", limit=3)
    ] == delta_top


def test_acronyms_defined_by_new_abstracts_are_learnt(snapshot_index: Path) -> None:
    defined = "We propose speculative decoding trees (SDT) for serving. "
    papers = [_new_paper(f"2403.0{i:04d}", f"Serving paper {i}", defined * 1) for i in range(3)]
    apply_updates(snapshot_index, papers)
    table = LocalIndex(snapshot_index).acronyms
    assert table is not None and table.forms.get("SDT") == "speculative decoding trees"
    # Merging a delta's table into the base's: same long form adds up, a rival form only counts.
    base = {"GNN": ("graph neural networks", 5, 6), "SDT": ("sparse dense transforms", 1, 1)}
    delta = {"GNN": ("graph neural network", 2, 2), "SDT": ("speculative decoding trees", 3, 3)}
    assert acronyms.merge(base, delta) == {
        "GNN": ("graph neural networks", 7, 8),
        "SDT": ("speculative decoding trees", 3, 4),
    }


def test_a_crash_between_the_papers_and_the_rankings_is_repaired(snapshot_index: Path) -> None:
    apply_updates(
        snapshot_index, [_new_paper("2403.01234", "Speculative decoding with draft trees", "Faster serving.")]
    )
    shutil.rmtree(postings_dir(snapshot_index) / "delta")  # as if killed before the delta was written
    health = index_lifecycle.check(snapshot_index)
    assert health.state == "delta_stale"
    assert LocalIndex(snapshot_index).fallback_reason == "the BM25F postings are delta stale"
    notices: list[Notice] = []
    assert index_lifecycle.ensure_ready(snapshot_index, notify=notices.append).ready
    assert LocalIndex(snapshot_index).search_sync("speculative decoding", limit=1)[0][0].arxiv_id == "2403.01234"


def test_a_delta_that_outgrows_its_share_is_folded_into_a_full_build(snapshot_index: Path) -> None:
    papers = [_new_paper(f"2403.1{i:04d}", f"New paper {i} on sparse attention", "Sparse attention.") for i in range(3)]
    report = apply_updates(snapshot_index, papers, compact_share=0.05)
    assert report.rankings == "full" and not (postings_dir(snapshot_index) / "delta").exists()
    meta = json.loads((postings_dir(snapshot_index) / "meta.json").read_text())
    assert meta["delta_id"] == _meta(snapshot_index)["delta_id"]
    assert index_lifecycle.check(snapshot_index).ready
    assert apply_updates(snapshot_index, papers).rankings == "none"  # nothing changed: nothing rewritten


async def _update(index: Path, server: FakeServer, sleeps: Sleeps, **kwargs: object) -> index_lifecycle.UpdateResult:
    async with httpx.AsyncClient() as client:
        fetcher = oai_pmh.fetcher(client, sleep=sleeps)
        return await index_lifecycle.update(index, fetcher, endpoint=server.url + "/oai", **kwargs)  # type: ignore[arg-type]


async def test_oai_harvest_pages_by_resumption_token_and_applies_everything(
    snapshot_index: Path, server: FakeServer, sleeps: Sleeps
) -> None:
    server.route("/oai", page("oai_page1.xml"), page("oai_page2.xml"))
    result = await _update(snapshot_index, server, sleeps, since=date(2024, 3, 1))
    first, second = server.hits("/oai")
    assert first.query == {"verb": ["ListRecords"], "metadataPrefix": ["arXiv"], "from": ["2024-03-01"]}
    assert second.query == {"verb": ["ListRecords"], "resumptionToken": ["6960524|1001"]}
    r = result.report
    assert (r.added, r.changed, r.removed, r.rankings) == (2, 1, 1, "delta") and result.harvest.pages == 2
    index = LocalIndex(snapshot_index)
    (spec,) = index.by_ids_sync(["2403.01234"])
    assert spec.title == "Speculative Decoding with Draft Trees for Serving Large Language Models"
    assert spec.authors == ("Ngozi Okafor", "Erik Lindqvist Jr") and spec.year == 2024
    (revised,) = index.by_ids_sync(["1602.10001"])
    assert revised.year == 2016 and revised.doi == "10.1021/acs.jcim.2024.0001" and revised.venue
    assert not index.by_ids_sync(["1501.10000"])  # the deleted record left the index
    assert index.search_sync("zeolite membranes carbon capture", limit=1)[0][0].arxiv_id == "2403.02468"
    assert index_lifecycle.check(snapshot_index).last_update == "2024-03-05"

    # The next update starts from the date the last one reached; nothing new is not an error.
    server.route("/oai", page("oai_no_records.xml"))
    again = await _update(snapshot_index, server, sleeps)
    assert server.hits("/oai")[-1].query["from"] == ["2024-03-05"]
    assert again.report.rankings == "none" and index_lifecycle.check(snapshot_index).last_update == "2024-03-06"


async def test_a_503_is_retried_after_its_retry_after(snapshot_index: Path, server: FakeServer, sleeps: Sleeps) -> None:
    busy = Reply(503, (DATA / "oai_503.html").read_bytes(), headers={"Retry-After": "7"}, content_type="text/html")
    server.route("/oai", busy, page("oai_page1.xml"), busy, page("oai_page2.xml"))
    result = await _update(snapshot_index, server, sleeps, since=date(2024, 3, 1))
    # Each 503 waited its Retry-After (the host's limiter may ask again for what is left of it).
    assert sleeps.calls and sleeps.calls[0] == 7.0 and all(c <= 7.0 for c in sleeps.calls)
    assert len(server.hits("/oai")) == 4
    assert result.report.added == 2


async def test_endless_503s_give_up_with_nothing_applied(
    snapshot_index: Path, server: FakeServer, sleeps: Sleeps
) -> None:
    server.route("/oai", Reply(503, b"busy", headers={"Retry-After": "3"}, content_type="text/html"))
    with pytest.raises(SourceError, match="503"):
        await _update(snapshot_index, server, sleeps, since=date(2024, 3, 1))
    assert len(server.hits("/oai")) == 6  # one request and five retries, then it gives up


async def test_a_malformed_page_changes_nothing(snapshot_index: Path, server: FakeServer, sleeps: Sleeps) -> None:
    before = (_meta(snapshot_index), index_lifecycle.check(snapshot_index).papers)
    server.route("/oai", page("oai_page1.xml"), page("oai_malformed.xml"))
    with pytest.raises(SourceError, match="malformed OAI-PMH page"):
        await _update(snapshot_index, server, sleeps, since=date(2024, 3, 1))
    assert (_meta(snapshot_index), index_lifecycle.check(snapshot_index).papers) == before
    assert not LocalIndex(snapshot_index).by_ids_sync(["2403.01234"])  # page 1 was not half-applied


async def test_categories_choose_oai_sets_and_filter_records(
    snapshot_index: Path, server: FakeServer, sleeps: Sleeps
) -> None:
    assert oai_pmh.oai_sets(("cs.*", "stat.ML", "hep-th")) == ["cs", "stat", "physics:hep-th"]
    assert oai_pmh.oai_sets(("*.LG",)) == [None]
    server.route("/oai", page("oai_page1.xml"), page("oai_page2.xml"), page("oai_no_records.xml"))
    result = await _update(snapshot_index, server, sleeps, since=date(2024, 3, 1), categories="cs.*,stat.ML")
    assert [h.query.get("set") for h in server.hits("/oai")] == [["cs"], None, ["stat"]]
    assert result.harvest.outside == 1 and result.report.added == 1  # the zeolite paper is cond-mat
    assert not LocalIndex(snapshot_index).by_ids_sync(["2403.02468"])


def test_never_updated_index_needs_a_date(snapshot_index: Path) -> None:
    from engine.errors import InputError

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            await index_lifecycle.update(snapshot_index, oai_pmh.fetcher(client), endpoint="http://127.0.0.1:9/oai")

    import asyncio

    with pytest.raises(InputError, match="--from"):
        asyncio.run(go())


def test_the_command_line_updates_and_reports(snapshot_index: Path, server: FakeServer, tmp_path: Path) -> None:
    server.route("/oai", page("oai_page1.xml"), page("oai_page2.xml"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASA_")}
    env.update(PASA_DATA_DIR=str(snapshot_index.parent), PASA_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="200")

    def pasa(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "pasa_desktop.cli.main", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    done = pasa("index", "update", "--from", "2024-03-01", "--endpoint", server.url + "/oai")
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "2 added, 1 revised, 1 removed" in said and "Last update: 2024-03-05" in said
    shown = pasa("index", "info")
    assert shown.returncode == 0 and "last update: 2024-03-05" in shown.stdout and "ready, 41 papers" in shown.stdout
    bad = pasa("index", "update", "--from", "March")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    if dense.find_model() is not None:
        (postings_dir(snapshot_index) / "delta" / "dense_i8.npy").write_bytes(b"x")
        fixed = pasa("index", "repair")
        assert fixed.returncode == 0 and "damaged" in fixed.stderr and "ready" in fixed.stdout
