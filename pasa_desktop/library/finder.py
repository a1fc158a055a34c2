"""The SQL behind `Library.search`: ids first (small sorter rows, filters applied), whole rows after.

Ranking or ordering 50,000 full paper rows is what made a one-word search slow; selecting only ids
(and the bm25 rank) keeps the sort cheap, and the page of results is fetched by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pasa_desktop.library.fts import match_expression

# bm25 weights: title, authors, abstract, notes, full text.
RANK = "bm25(paper_fts, 10.0, 3.0, 1.0, 2.0, 0.5)"


@dataclass(frozen=True, slots=True)
class Filters:
    tag: str | None = None
    collection_ids: tuple[int, ...] | None = None  # the collection and all its sub-collections
    year: int | tuple[int | None, int | None] | None = None
    run: int | None = None
    selected: bool | None = None
    decision: bool | None = None
    read: bool | None = None
    library_only: bool = False  # only papers in the library (library_set_sql); else every paper a run found too
    with_selected: bool = True  # the setting library.selected_join: papers the Selector selected count as kept


# Ranges rather than LIKE 'import:%': a plain index on paper_source(source) serves them.
_IMPORTED = "SELECT paper_id FROM paper_source WHERE source >= 'import:' AND source < 'import;'"


def library_set_sql(with_selected: bool = True) -> str:
    """The ids of the papers the library holds (issue #17), as one SQL set.

    The user put a paper there by keeping it (`paper.kept`: `pasa library keep`, the window's Keep, or an
    explicit add), importing it, accepting, rating, tagging or collecting it, attaching a file or writing a
    note; with `with_selected`, also a paper the Selector selected in any search, unless the user rejected
    it. Derived from those tables (only `kept` is stored for itself), so it can never drift from them:
    untagging a paper that nothing else holds sends it back to its run.
    """
    parts = [
        "SELECT id FROM paper WHERE kept = 1 OR decision = 1 OR rating IS NOT NULL",
        "SELECT paper_id FROM paper_tag",
        "SELECT paper_id FROM collection_paper",
        "SELECT paper_id FROM attachment",
        "SELECT paper_id FROM note",
        _IMPORTED,
    ]
    if with_selected:
        parts.append(
            "SELECT rp.paper_id FROM run_paper rp JOIN paper s ON s.id = rp.paper_id"
            " WHERE rp.selected = 1 AND s.decision IS NOT 0"
        )
    return " UNION ".join(parts)


def id_query(text: str, f: Filters, limit: int | None, offset: int) -> tuple[str, list[Any]]:
    """SQL selecting the matching paper ids, best first (bm25) or newest first without text."""
    match = match_expression(text)
    where: list[str] = []
    params: list[Any] = []
    if match:
        # Unary + keeps SQLite from running the MATCH once per id of an IN list (seconds on big tags).
        pid = "+paper_fts.rowid"
        sql = "SELECT paper_fts.rowid FROM paper_fts"
        where.append("paper_fts MATCH ?")
        params.append(match)
        order = f" ORDER BY {RANK}"
    else:
        pid = "p.id"
        sql = "SELECT p.id FROM paper p"
        # Ids grow with insertion, so this is "newest first" and lets SQLite walk an IN list in order.
        order = " ORDER BY p.id DESC"
    if f.tag is not None:
        where.append(f"{pid} IN (SELECT pt.paper_id FROM paper_tag pt JOIN tag t ON t.id = pt.tag_id WHERE t.name = ?)")
        params.append(f.tag)
    if f.collection_ids is not None:
        marks = ",".join("?" * len(f.collection_ids))
        where.append(f"{pid} IN (SELECT paper_id FROM collection_paper WHERE collection_id IN ({marks}))")
        params.extend(f.collection_ids)
    if f.run is not None or f.selected is not None:
        clause = f"{pid} IN (SELECT rp.paper_id FROM run_paper rp WHERE 1"
        if f.run is not None:
            clause += " AND rp.run_id = ?"
            params.append(f.run)
        if f.selected is not None:
            clause += " AND rp.selected = ?" if f.selected else " AND coalesce(rp.selected, 0) = ?"
            params.append(int(f.selected))
        where.append(clause + ")")
    if f.library_only:
        where.append(f"{pid} IN ({library_set_sql(f.with_selected)})")
    conds: list[str] = []
    cond_params: list[Any] = []
    if isinstance(f.year, tuple):
        lo, hi = f.year
        if lo is not None:
            conds.append("p.year >= ?")
            cond_params.append(lo)
        if hi is not None:
            conds.append("p.year <= ?")
            cond_params.append(hi)
    elif f.year is not None:
        conds.append("p.year = ?")
        cond_params.append(f.year)
    if f.decision is not None:
        conds.append("p.decision = ?")
        cond_params.append(int(f.decision))
    if f.read is not None:
        conds.append("p.read = ?")
        cond_params.append(int(f.read))
    if conds and match:
        # As a set of ids (the year index builds it) rather than a paper-row lookup per text match.
        where.append(f"{pid} IN (SELECT p.id FROM paper p WHERE {' AND '.join(conds)})")
    else:
        where.extend(conds)
    params.extend(cond_params)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += order
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params.extend([limit, offset])
    return sql, params
