"""A paper the user merges into another (`pasa library merge KEEP DROP`), and the way back.

The merge moves everything of DROP to KEEP — its source records, run links (with their scores), notes,
attachments, tags, collections — fills KEEP's blanks from it, and deletes DROP's row. So that it can be
undone, it first writes down what DROP was and what moved, in the merge note of one of DROP's source
records (`paper_source.record.merge`, basis "manual", reason "merged by you"): the same place an
import keeps the note of a record it folded in, so `pasa library duplicates` lists both kinds and
`pasa library unmerge RECORD` undoes either. Undoing a manual merge brings DROP back with its own
fields, citation key and id (when still free), and everything that moved goes back to it; what the
merge filled into KEEP is blanked again where KEEP still holds the copied value.

Functions take an open connection inside the caller's transaction.
"""

from __future__ import annotations

import json
from typing import Any

from engine.papers import Paper
from pasa_desktop.library import catalogue, tombstones
from pasa_desktop.library.citekey import unique_citekey
from pasa_desktop.library.database import Db
from pasa_desktop.library.errors import LibraryError

MANUAL = "manual"
REASON = "merged by you"

# The marks a merge combines (the kept paper's own value wins, else the dropped one's; flags: either set).
# `kept` (the paper is in the library, not only in a run) where the file has that column.
_MARKS = {"read": "max", "rating": "coalesce", "decision": "coalesce", "kept": "max"}

# Every table holding a paper's id, and how the merge treats it (tests check no table is forgotten).
MOVED_TABLES = ("paper_source", "run_paper", "note", "attachment", "paper_tag", "collection_paper", "zotero_item")


def _ids(conn: Db, sql: str, params: tuple[Any, ...]) -> list[Any]:
    return [r[0] for r in conn.execute(sql, params)]


def _as_paper(drop: int, fields: dict[str, Any]) -> Paper:
    """The dropped paper as a record (what `fill_blanks` copies from, and what `unfill` compares to)."""
    ext = json.loads(fields["external_ids"] or "{}")
    return Paper(
        id=f"library:{drop}",
        title=fields["title"],
        abstract=fields["abstract"] or "",
        authors=tuple(json.loads(fields["authors"] or "[]")),
        year=fields["year"],
        venue=fields["venue"],
        arxiv_id=fields["arxiv_id"],
        doi=fields["doi"],
        url=fields["url"],
        source=fields["source"] or "",
        external_ids={str(k): v for k, v in ext.items()} if isinstance(ext, dict) else {},
    )


def merge(conn: Db, keep: int, drop: int) -> int:
    """Fold paper `drop` into `keep`, recording how to undo it; returns the record row that holds the note."""
    columns = _columns(conn)
    row = conn.execute(f"SELECT {', '.join(columns)} FROM paper WHERE id = ?", (drop,)).one()
    fields = dict(zip(columns, row, strict=True))
    marks = [m for m in _MARKS if m in fields]
    kept_marks = conn.execute(f"SELECT {', '.join(marks)} FROM paper WHERE id = ?", (keep,)).one()
    redirected = _ids(conn, "SELECT id FROM paper_gone WHERE target_id = ?", (drop,))
    tombstones.remember(conn, drop, keep)  # a running search links its record to `keep`
    gone = conn.execute("SELECT max(id) FROM paper_gone WHERE paper_id = ?", (drop,)).scalar()
    tags = _ids(conn, "SELECT tag_id FROM paper_tag WHERE paper_id = ?", (drop,))
    kept_tags = set(_ids(conn, "SELECT tag_id FROM paper_tag WHERE paper_id = ?", (keep,)))
    colls = _ids(conn, "SELECT collection_id FROM collection_paper WHERE paper_id = ?", (drop,))
    kept_colls = set(_ids(conn, "SELECT collection_id FROM collection_paper WHERE paper_id = ?", (keep,)))
    sources = conn.execute("SELECT id, record FROM paper_source WHERE paper_id = ? ORDER BY id", (drop,)).all()
    note: dict[str, Any] = {
        "basis": MANUAL,
        "reason": REASON,
        "citekey": fields["citekey"],  # exports keep it citable as an alias of `keep` (biblatex ids)
        "at": catalogue.now(),
        "paper_id": drop,
        "kept_id": keep,
        "paper": fields,
        "kept_marks": dict(zip(marks, kept_marks, strict=True)),
        "filled": catalogue.fill_blanks(conn, keep, _as_paper(drop, fields), keep_source=False),
        "sources": [int(r[0]) for r in sources],
        "runs": [list(r) for r in conn.execute("SELECT run_id, paper_key FROM run_paper WHERE paper_id = ?", (drop,))],
        "notes": _ids(conn, "SELECT id FROM note WHERE paper_id = ?", (drop,)),
        "attachments": _ids(conn, "SELECT id FROM attachment WHERE paper_id = ?", (drop,)),
        "tags": tags,
        "tags_moved": [t for t in tags if t not in kept_tags],
        "collections": colls,
        "collections_moved": [c for c in colls if c not in kept_colls],
        "zotero": [
            list(r)
            for r in conn.execute("SELECT destination, item_key, pushed FROM zotero_item WHERE paper_id = ?", (drop,))
        ],
        "gone": gone,
        "gone_redirected": redirected,
    }
    # The note rides on one of DROP's own records (one an import did not fold in: that one has its own note).
    holder = next((int(rid) for rid, rec in sources if "merge" not in (json.loads(rec or "{}") or {})), None)
    if holder is None:
        paper = _as_paper(drop, fields)
        cur = conn.execute(
            "INSERT INTO paper_source(paper_id, source, source_id, record, added) VALUES (?, ?, ?, ?, ?)",
            (drop, "library", f"paper:{drop}", json.dumps(paper.to_dict(), ensure_ascii=False), catalogue.now()),
        )
        holder = cur.new_id
        note["sources"].append(holder)
    record = json.loads(conn.execute("SELECT record FROM paper_source WHERE id = ?", (holder,)).scalar_one() or "{}")
    record["merge"] = note
    conn.execute("UPDATE paper_source SET record = ? WHERE id = ?", (json.dumps(record, ensure_ascii=False), holder))
    for sql in (
        # A run that found both under different keys keeps both rows (and both scores).
        "UPDATE run_paper SET paper_id = ? WHERE paper_id = ?",
        "UPDATE note SET paper_id = ? WHERE paper_id = ?",
        "UPDATE attachment SET paper_id = ? WHERE paper_id = ?",
        "UPDATE paper_source SET paper_id = ? WHERE paper_id = ?",
        # Rows already present for `keep` stay; the leftovers go with the dropped paper (cascade).
        "UPDATE OR IGNORE paper_tag SET paper_id = ? WHERE paper_id = ?",
        "UPDATE OR IGNORE collection_paper SET paper_id = ? WHERE paper_id = ?",
    ):
        conn.execute(sql, (keep, drop))
    sets = ", ".join(f"{m} = {_MARKS[m]}({m}, ?)" for m in marks)
    conn.execute(f"UPDATE paper SET {sets} WHERE id = ?", (*(fields[m] for m in marks), keep))
    conn.execute("DELETE FROM paper_fts WHERE rowid = ?", (drop,))
    conn.execute("DELETE FROM paper WHERE id = ?", (drop,))
    catalogue.reindex(conn, keep)
    return holder


def unmerge(conn: Db, record_id: int) -> int:
    """Undo the merge whose note `record_id` holds (an import's or yours); returns the restored paper's id."""
    row = conn.execute("SELECT paper_id, record FROM paper_source WHERE id = ?", (record_id,)).first()
    data = json.loads(row[1] or "{}") if row is not None else None
    note = data.get("merge") if isinstance(data, dict) else None
    if not isinstance(note, dict) or note.get("basis") != MANUAL:
        return catalogue.unmerge_record(conn, record_id)  # says what is wrong with the id, if anything
    assert isinstance(data, dict)
    holder, drop, fields = int(row[0]), int(note["paper_id"]), dict(note["paper"])
    original = holder == note.get("kept_id")  # else the kept paper was itself merged on since
    catalogue.unfill(conn, holder, note.get("filled") or {}, _as_paper(drop, fields))
    if original:
        _restore_marks(conn, holder, note["kept_marks"], fields)
    taken = conn.execute("SELECT 1 FROM paper WHERE id = ?", (drop,)).first() is not None
    citekey = unique_citekey(
        fields["citekey"], lambda k: conn.execute("SELECT 1 FROM paper WHERE citekey = ?", (k,)).first() is not None
    )
    # Columns the file has now and the snapshot knows (a column added since keeps its default).
    columns = [c for c in _columns(conn) if c in fields] + ([] if taken else ["id"])
    values = [{**fields, "citekey": citekey, "id": drop}[c] for c in columns]
    new_id = conn.execute(
        f"INSERT INTO paper({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values
    ).new_id
    del data["merge"]
    conn.execute("UPDATE paper_source SET record = ? WHERE id = ?", (json.dumps(data, ensure_ascii=False), record_id))
    for table, ids in (("paper_source", note["sources"]), ("note", note["notes"]), ("attachment", note["attachments"])):
        conn.executemany(f"UPDATE {table} SET paper_id = ? WHERE id = ?", [(new_id, i) for i in ids])
    conn.executemany(
        "UPDATE run_paper SET paper_id = ? WHERE run_id = ? AND paper_key = ?",
        [(new_id, r, k) for r, k in note["runs"]],
    )
    for table, column, owner, every, moved in (
        ("paper_tag", "tag_id", "tag", note["tags"], note["tags_moved"]),
        ("collection_paper", "collection_id", "collection", note["collections"], note["collections_moved"]),
    ):
        conn.executemany(
            f"INSERT OR IGNORE INTO {table}(paper_id, {column}) SELECT ?, id FROM {owner} WHERE id = ?",
            [(new_id, i) for i in every],
        )
        if original:  # the kept paper had these only through the merge
            conn.executemany(f"DELETE FROM {table} WHERE paper_id = ? AND {column} = ?", [(holder, i) for i in moved])
    conn.executemany(
        "INSERT OR IGNORE INTO zotero_item(paper_id, destination, item_key, pushed) VALUES (?, ?, ?, ?)",
        [(new_id, *z) for z in note["zotero"]],
    )
    conn.execute("DELETE FROM paper_gone WHERE id = ?", (note.get("gone"),))
    conn.executemany(
        "UPDATE paper_gone SET target_id = ? WHERE id = ?", [(new_id, g) for g in note.get("gone_redirected", [])]
    )
    catalogue.reindex(conn, new_id)
    catalogue.reindex(conn, holder)
    return new_id


def _restore_marks(conn: Db, kept: int, before: dict[str, Any], dropped: dict[str, Any]) -> None:
    """The kept paper's marks (read, rating, decision…) as they were, each unless changed since the merge."""
    for column, old in before.items():
        now = conn.execute(f"SELECT {column} FROM paper WHERE id = ?", (kept,)).scalar()
        if _MARKS[column] == "max":
            merged = max(old, dropped[column])
        else:
            merged = old if old is not None else dropped[column]
        if now == merged and merged != old:
            conn.execute(f"UPDATE paper SET {column} = ? WHERE id = ?", (old, kept))


def _columns(conn: Db) -> list[str]:
    """The paper table's columns but its id, as this file has them."""
    return [str(r[1]) for r in conn.execute("PRAGMA table_info(paper)") if r[1] != "id"]


def require_papers(conn: Db, *paper_ids: int) -> None:
    for pid in paper_ids:
        if conn.execute("SELECT 1 FROM paper WHERE id = ?", (pid,)).first() is None:
            raise LibraryError(f"No paper {pid} in the library", hint="pasa library search")
