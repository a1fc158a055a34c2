"""One engine event → its effect on the library, inside the caller's transaction.

The raw event goes to the run's event log (the source of truth for resume); the normalised effect
(papers, run↔paper links, scores, sections, status) is what the history, tables and exports read.
"""

from __future__ import annotations

import json
from typing import Any, assert_never

from engine.events import (
    Event,
    FoundBy,
    Notice,
    PaperExpanded,
    PaperScored,
    PapersFound,
    Progress,
    QueryFinished,
    QueryIssued,
    SearchFinished,
    SearchStarted,
    SectionsChosen,
    event_to_dict,
)
from engine.papers import Paper
from engine.redact import redact
from pasa_desktop.library import catalogue, tombstones
from pasa_desktop.library.database import Db
from pasa_desktop.library.eventlog import event_json


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def log_event(conn: Db, run_id: int, event: Event) -> int:
    cur = conn.execute(
        "INSERT INTO run_event(run_id, type, data, created) VALUES (?, ?, ?, ?)",
        (run_id, type(event).__name__, event_json(event), catalogue.now()),
    )
    return cur.new_id


def set_progress(conn: Db, run_id: int, progress: Progress) -> None:
    conn.execute("UPDATE run SET last_progress = ? WHERE id = ?", (_dump(event_to_dict(progress)), run_id))


def _found_by_dict(found_by: FoundBy) -> dict[str, Any]:
    data = event_to_dict(found_by)  # type: ignore[arg-type]  # FoundBy is an engine dataclass, not an Event; the encoder handles any of them
    data.pop("type", None)
    return data


def _link(conn: Db, run_id: int, paper: Paper, found_by: FoundBy | None, seq: int) -> None:
    key = paper.key
    row = conn.execute("SELECT found_by FROM run_paper WHERE run_id = ? AND paper_key = ?", (run_id, key)).first()
    entry = [_found_by_dict(found_by)] if found_by else []
    if row is None:
        kept = tombstones.resolve(conn, run_id, paper)
        if kept == tombstones.GONE:  # deleted by the user while this run existed: it stays deleted
            return
        paper_id = kept if kept is not None else catalogue.upsert(conn, paper).paper_id
        conn.execute(
            "INSERT INTO run_paper(run_id, paper_key, paper_id, seq, found_by, reason, sections_chosen)"
            " VALUES (?, ?, ?, ?, ?, '', '[]')",
            (run_id, key, paper_id, seq, _dump(entry)),
        )
    else:
        # Found again (a resumed run replays, or a second path): keep every distinct path.
        _append_found_by(conn, run_id, key, row[0], entry)


def _append_found_by(conn: Db, run_id: int, key: str, current: str, extra: list[dict[str, Any]]) -> None:
    paths = json.loads(current or "[]")
    added = [e for e in extra if e not in paths]
    if added:
        conn.execute(
            "UPDATE run_paper SET found_by = ? WHERE run_id = ? AND paper_key = ?",
            (_dump(paths + added), run_id, key),
        )


def apply(conn: Db, run_id: int, event: Event, seq: int) -> None:
    """Write the normalised effect of `event` (already logged as row `seq`)."""
    match event:
        case PapersFound():
            for i, paper in enumerate(event.papers):
                found_by = event.found_by[i] if i < len(event.found_by) else None
                _link(conn, run_id, paper, found_by, seq)
            for key, found_by in event.also_found:
                row = conn.execute(
                    "SELECT found_by FROM run_paper WHERE run_id = ? AND paper_key = ?", (run_id, key)
                ).first()
                if row is not None:
                    _append_found_by(conn, run_id, key, row[0], [_found_by_dict(found_by)])
        case PaperScored():
            conn.execute(
                "UPDATE run_paper SET score = ?, selected = ?, reason = ? WHERE run_id = ? AND paper_key = ?",
                (float(event.score), bool(event.selected), event.reason, run_id, event.key),
            )
        case SectionsChosen():
            conn.execute(
                "UPDATE run_paper SET sections_chosen = ? WHERE run_id = ? AND paper_key = ?",
                (_dump(list(event.sections)), run_id, event.key),
            )
        case PaperExpanded():
            conn.execute(
                "UPDATE run_paper SET sections_expanded = ?, cited = ?, resolved = ? WHERE run_id = ? AND paper_key = ?",
                (_dump(list(event.sections)), event.cited, event.resolved, run_id, event.key),
            )
        case QueryIssued():
            conn.execute(
                "INSERT INTO run_query(run_id, query, origin) VALUES (?, ?, ?)", (run_id, event.query, event.origin)
            )
        case QueryFinished():
            updated = conn.execute(
                "UPDATE run_query SET hits = ? WHERE id = (SELECT id FROM run_query WHERE run_id = ? AND query = ?"
                " AND hits IS NULL ORDER BY id LIMIT 1)",
                (event.hits, run_id, event.query),
            )
            if not updated.rowcount:
                conn.execute(
                    "INSERT INTO run_query(run_id, query, origin, hits) VALUES (?, ?, 'crawler', ?)",
                    (run_id, event.query, event.hits),
                )
        case SearchStarted():
            conn.execute("UPDATE run SET status = 'running', finished = NULL WHERE id = ?", (run_id,))
            if event.settings:
                conn.execute("UPDATE run SET settings = ? WHERE id = ?", (_dump(event.settings), run_id))
        case SearchFinished():
            _finish(conn, run_id, event, seq)
        case Progress():
            set_progress(conn, run_id, event)  # Library.record keeps only the latest; this is it
        case Notice():
            pass  # only in the event log: a notice is for the person watching, not part of the run's record
        case _:
            assert_never(event)


def _finish(conn: Db, run_id: int, event: SearchFinished, seq: int) -> None:
    # The run has ended: nobody holds it any more (leases.py).
    conn.execute(
        "UPDATE run SET status = ?, message = ?, seconds = seconds + ?, finished = ?, owner_pid = NULL,"
        " owner_host = NULL, heartbeat = NULL WHERE id = ?",
        (event.status.value, redact(event.message), float(event.seconds), catalogue.now(), run_id),
    )
    known = {r[0] for r in conn.execute("SELECT paper_key FROM run_paper WHERE run_id = ?", (run_id,))}
    for ranked in event.results:
        if ranked.paper.key not in known:  # a result the run never reported as found: keep it anyway
            _link(conn, run_id, ranked.paper, ranked.found_by[0] if ranked.found_by else None, seq)
    # The engine's final ranking decides what is selected, and it is stored as it says: a paper the live
    # P(True) rule left out (PaperScored selected=False) may be selected here, and the other way round.
    conn.executemany(
        "UPDATE run_paper SET rank_score = ?, score = coalesce(?, score), selected = ?"
        " WHERE run_id = ? AND paper_key = ?",
        [(r.rank_score, r.selector_score, r.selected, run_id, r.paper.key) for r in event.results],
    )
