"""Papers in the library: cleaning, deduplication, merging, the full-text index, and reading rows back.

A paper lives once however many searches or imports brought it; `identity` decides when two records are
one work (identifiers first; a title only with its digits, year and first author, all known). Merging
fills blanks and keeps every source record; nothing a user wrote (notes, tags, scores) is dropped. A
record folded into an existing paper keeps, in its `paper_source` row, why it was merged and what it
filled in, so the merge is listed by `pasa library duplicates` and can be undone (`unmerge_record`);
a paper the user merges into another is handled by `merges`.
Functions here take an open connection inside the caller's transaction.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from engine.papers import Paper, find_arxiv_id, find_doi, strip_arxiv_version
from pasa_desktop.library import identity
from pasa_desktop.library.citekey import citekey_base, last_name, unique_citekey
from pasa_desktop.library.database import Db
from pasa_desktop.library.errors import LibraryError
from pasa_desktop.library.rows import PaperRow, UpsertResult

_SPACES = re.compile(r"\s+")
_LETTERS = re.compile(r"[^a-z]")

# Columns of a PaperRow, in order, plus the tags (unit separator between names).
PAPER_COLUMNS = (
    "p.id, p.title, p.authors, p.year, p.venue, p.arxiv_id, p.doi, p.url, p.abstract, p.source, "
    "p.citekey, p.read, p.rating, p.decision, p.added, "
    "(SELECT group_concat(t.name, char(31)) FROM paper_tag pt JOIN tag t ON t.id = pt.tag_id "
    "WHERE pt.paper_id = p.id) AS tags"
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def squash(text: str | None) -> str:
    """Collapse runs of whitespace: titles, names and venues are single-line in every export format."""
    return _SPACES.sub(" ", text or "").strip()


def clean(paper: Paper) -> Paper:
    """The canonical form stored in the library (whitespace, ids without versions, lower-case DOIs)."""
    arxiv = strip_arxiv_version(paper.arxiv_id) if paper.arxiv_id else None
    doi = (find_doi(paper.doi) or paper.doi.strip().lower()) if paper.doi else None
    if not arxiv and doi and doi.startswith(identity.ARXIV_DOI_PREFIX):
        # arXiv's DOI names the preprint: one identity, not two.
        arxiv = find_arxiv_id(doi[len(identity.ARXIV_DOI_PREFIX) :])
    return paper.with_updates(
        title=squash(paper.title),
        abstract=(paper.abstract or "").strip(),
        authors=tuple(a for a in (squash(a) for a in paper.authors) if a),
        venue=squash(paper.venue) or None,
        arxiv_id=arxiv or None,
        doi=doi or None,
        url=(paper.url or "").strip() or None,
    )


def author_key(authors: Sequence[str]) -> str:
    if not authors:
        return ""
    folded = unicodedata.normalize("NFKD", last_name(authors[0])).encode("ascii", "ignore").decode("ascii")
    return _LETTERS.sub("", folded.lower())


def title_keys(title: str) -> tuple[str, str]:
    """(identity key stored for new papers, the letters-only key libraries stored before it)."""
    return identity.title_key(title), identity.legacy_title_key(title)


def find_existing(conn: Db, paper: Paper, *, citekey: str | None = None) -> identity.Match | None:
    """The library paper this record describes, and why (paper must be `clean`); None: a new paper."""
    isbn = identity.isbn_of(paper)
    if paper.arxiv_id:
        row = conn.execute("SELECT id FROM paper WHERE arxiv_id = ? ORDER BY id LIMIT 1", (paper.arxiv_id,)).first()
        if row:
            return identity.Match(int(row[0]), "arxiv", f"same arXiv id {paper.arxiv_id}")
    if paper.doi:
        by_doi = conn.execute(f"SELECT {identity.KNOWN_COLUMNS} FROM paper WHERE doi = ? ORDER BY id", (paper.doi,))
        for row in by_doi.all():
            if identity.conflict(paper, isbn, identity.Known.from_row(row)) is None:
                return identity.Match(int(row[0]), "doi", f"same DOI {paper.doi}")
    key, legacy = title_keys(paper.title)
    if not key:
        return None
    rows = conn.execute(
        f"SELECT {identity.KNOWN_COLUMNS} FROM paper WHERE title_key IN (?, ?) ORDER BY id", (key, legacy)
    ).all()
    known = [identity.Known.from_row(r) for r in rows]
    for candidate in known:
        if identity.title_key(candidate.title) != key or identity.conflict(paper, isbn, candidate):
            continue
        # The very record again (a file imported twice): whatever it lacks, it is that paper.
        same = conn.execute(
            "SELECT 1 FROM paper_source WHERE paper_id = ? AND source = ? AND source_id = ?",
            (candidate.id, paper.source, paper.id or paper.key),
        ).first()
        if same and paper.source:
            return identity.Match(candidate.id, "record", "the same record, imported before")
    for candidate in known:
        match = identity.title_match(paper, isbn, citekey, candidate)
        if match is not None:
            return match
    return None


def _citekey_taken(conn: Db, key: str) -> bool:
    return conn.execute("SELECT 1 FROM paper WHERE citekey = ?", (key,)).first() is not None


def insert(conn: Db, paper: Paper, *, citekey: str | None = None) -> int:
    stamp = now()
    base = citekey or citekey_base(paper.authors, paper.title, paper.year)
    key = unique_citekey(base, lambda k: _citekey_taken(conn, k))
    cur = conn.execute(
        "INSERT INTO paper(title, title_key, abstract, authors, first_author_key, year, venue, arxiv_id, doi,"
        " url, source, external_ids, citekey, read, rating, decision, added, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, ?, ?)",
        (
            paper.title,
            identity.title_key(paper.title),
            paper.abstract,
            json.dumps(list(paper.authors), ensure_ascii=False),
            author_key(paper.authors),
            paper.year,
            paper.venue,
            paper.arxiv_id,
            paper.doi,
            paper.url,
            paper.source,
            json.dumps(paper.external_ids, ensure_ascii=False),
            key,
            stamp,
            stamp,
        ),
    )
    paper_id = cur.new_id
    add_source(conn, paper_id, paper, fresh=True)
    reindex(conn, paper_id, fresh=True)
    return paper_id


def add_source(
    conn: Db, paper_id: int, paper: Paper, *, fresh: bool = False, merge: dict[str, Any] | None = None
) -> None:
    """Keep this record; the same record again (same source and id) replaces its older copy.

    `merge` (why the record was folded into this paper, and what it filled in) is kept with the record;
    a record seen before keeps the merge note it came with the first time.
    """
    source_id = paper.id or paper.key
    data: dict[str, Any] = paper.to_dict()
    if not fresh:
        old = conn.execute(
            "SELECT id, record FROM paper_source WHERE paper_id = ? AND source = ? AND source_id = ? LIMIT 1",
            (paper_id, paper.source, source_id),
        ).first()
        if old is not None:
            previous = json.loads(old[1] or "{}")
            if isinstance(previous, dict) and "merge" in previous:
                data["merge"] = previous["merge"]
            conn.execute(
                "UPDATE paper_source SET record = ? WHERE id = ?", (json.dumps(data, ensure_ascii=False), old[0])
            )
            return
    if merge is not None:
        data["merge"] = merge
    conn.execute(
        "INSERT INTO paper_source(paper_id, source, source_id, record, added) VALUES (?, ?, ?, ?, ?)",
        (paper_id, paper.source, source_id, json.dumps(data, ensure_ascii=False), now()),
    )


def note_merge_additions(conn: Db, paper_id: int, paper: Paper, tags: Sequence[str], note_ids: Sequence[int]) -> None:
    """Write down, in the merge note of `paper`'s record, the tags and notes its import gave the kept paper,
    so that `unmerge_record` can take them along (a tag the kept paper already had is not listed)."""
    if not tags and not note_ids:
        return
    paper = clean(paper)
    row = conn.execute(
        "SELECT id, record FROM paper_source WHERE paper_id = ? AND source = ? AND source_id = ? LIMIT 1",
        (paper_id, paper.source, paper.id or paper.key),
    ).first()
    data = json.loads(row[1] or "{}") if row is not None else None
    if not isinstance(data, dict) or not isinstance(data.get("merge"), dict):
        return  # not a logged merge (the same record again): nothing to undo
    merge = data["merge"]
    merge["tags"] = sorted({*merge.get("tags", ()), *tags})
    merge["notes"] = sorted({*merge.get("notes", ()), *note_ids})
    conn.execute("UPDATE paper_source SET record = ? WHERE id = ?", (json.dumps(data, ensure_ascii=False), row[0]))


_FILLABLE = ("abstract", "authors", "year", "venue", "arxiv_id", "doi", "url")


def fill_blanks(conn: Db, paper_id: int, paper: Paper, *, keep_source: bool = True) -> dict[str, Any]:
    """Complete an existing paper from another record of it; what it already has wins.

    Returns what was blank before, per column (`external_ids`: the keys added), so a merge can be undone.
    """
    row = conn.execute(
        "SELECT abstract, authors, year, venue, arxiv_id, doi, url, external_ids FROM paper WHERE id = ?",
        (paper_id,),
    ).one()
    abstract, authors, year, venue, arxiv, doi, url, ext = row
    old_ext = json.loads(ext or "{}")
    merged_ext = {**paper.external_ids, **old_ext}
    new_authors = json.loads(authors) or list(paper.authors)
    values = (
        abstract or paper.abstract,
        json.dumps(new_authors, ensure_ascii=False),
        author_key(new_authors),
        year or paper.year,
        venue or paper.venue,
        arxiv or paper.arxiv_id,
        doi or paper.doi,
        url or paper.url,
        json.dumps(merged_ext, ensure_ascii=False),
    )
    before: dict[str, Any] = {}
    olds = (abstract, authors, year, venue, arxiv, doi, url)
    news = (values[0], values[1], *values[3:8])
    for column, old, new in zip(_FILLABLE, olds, news, strict=True):
        if old != new:
            before[column] = old
    added_ext = sorted(set(merged_ext) - set(old_ext))
    if added_ext:
        before["external_ids"] = added_ext
    if values != (abstract, authors, author_key(json.loads(authors)), year, venue, arxiv, doi, url, ext):
        conn.execute(
            "UPDATE paper SET abstract = ?, authors = ?, first_author_key = ?, year = ?, venue = ?, arxiv_id = ?,"
            " doi = ?, url = ?, external_ids = ?, updated = ? WHERE id = ?",
            (*values, now(), paper_id),
        )
        reindex(conn, paper_id)
    if keep_source:
        add_source(conn, paper_id, paper)
    return before


def upsert(conn: Db, paper: Paper, *, citekey: str | None = None, log_merge: bool = False) -> UpsertResult:
    """Add the paper, or fold it into the library paper it is (see `identity`).

    With `log_merge` (imports), a record folded into an existing paper keeps why and what it filled in,
    for `pasa library duplicates` to list and `unmerge_record` to undo.
    """
    paper = clean(paper)
    match = find_existing(conn, paper, citekey=citekey)
    if match is None:
        return UpsertResult(insert(conn, paper, citekey=citekey), created=True)
    before = fill_blanks(conn, match.paper_id, paper, keep_source=False)
    note = None
    if log_merge and match.basis != "record":
        note = {"basis": match.basis, "reason": match.reason, "citekey": citekey or "", "filled": before, "at": now()}
    add_source(conn, match.paper_id, paper, merge=note)
    return UpsertResult(match.paper_id, created=False, basis=match.basis, reason=match.reason)


def unmerge_record(conn: Db, source_row: int) -> int:
    """Undo an import's merge: the record becomes a paper of its own again; returns its id.

    What the merge filled into the kept paper goes back to blank where it still holds the merged value.
    The tags and notes the import brought (listed in the merge note) go with the record; run links stay.
    """
    row = conn.execute("SELECT paper_id, record FROM paper_source WHERE id = ?", (source_row,)).first()
    if row is None:
        raise LibraryError(f"No merged record {source_row}", hint="pasa library duplicates")
    kept, data = int(row[0]), json.loads(row[1] or "{}")
    merge = data.pop("merge", None) if isinstance(data, dict) else None
    if not isinstance(merge, dict):
        raise LibraryError(
            f"Record {source_row} was not merged automatically (it is what paper {kept} was made from)",
            hint="pasa library duplicates",
        )
    if merge.get("basis") == "manual":  # a paper merged by you: `merges.unmerge` puts all of it back
        raise LibraryError(f"Record {source_row} is a paper merged by you, not an imported record")
    paper = clean(Paper.from_dict(data))
    unfill(conn, kept, merge.get("filled") or {}, paper)
    conn.execute("DELETE FROM paper_source WHERE id = ?", (source_row,))
    new = insert(conn, paper, citekey=merge.get("citekey") or None)
    tags = [str(t) for t in merge.get("tags") or ()]
    for tag in tags:
        conn.execute(
            "INSERT OR IGNORE INTO paper_tag(paper_id, tag_id) SELECT ?, id FROM tag WHERE name = ?", (new, tag)
        )
        conn.execute(
            "DELETE FROM paper_tag WHERE paper_id = ? AND tag_id = (SELECT id FROM tag WHERE name = ?)", (kept, tag)
        )
    notes = [int(n) for n in merge.get("notes") or ()]
    for note in notes:
        conn.execute("UPDATE note SET paper_id = ? WHERE id = ? AND paper_id = ?", (new, note, kept))
    if tags or notes:
        reindex(conn, kept)
        reindex(conn, new)
    return new


def unfill(conn: Db, kept: int, filled: dict[str, Any], paper: Paper) -> None:
    """Blank again what `fill_blanks` copied from `paper` into `kept` (`filled`: its answer), where the
    kept paper still holds the copied value (a value the user or a later record changed stays)."""
    current = conn.execute(
        "SELECT abstract, authors, year, venue, arxiv_id, doi, url, external_ids FROM paper WHERE id = ?", (kept,)
    ).one()
    now_values = dict(zip((*_FILLABLE, "external_ids"), current, strict=True))
    mine = {**paper.to_dict(), "authors": json.dumps(list(paper.authors), ensure_ascii=False)}
    restore: dict[str, Any] = {}
    for column, old in filled.items():
        if column == "external_ids":
            ext = json.loads(now_values["external_ids"] or "{}")
            for key in old:
                if ext.get(key) == paper.external_ids.get(key):
                    ext.pop(key, None)
            restore["external_ids"] = json.dumps(ext, ensure_ascii=False)
        elif column in _FILLABLE and now_values[column] == mine.get(column):
            restore[column] = old
    if restore:
        if "authors" in restore:
            restore["first_author_key"] = author_key(json.loads(restore["authors"] or "[]"))
        sets = ", ".join(f"{c} = ?" for c in restore)
        conn.execute(f"UPDATE paper SET {sets}, updated = ? WHERE id = ?", (*restore.values(), now(), kept))
        reindex(conn, kept)


def merged_records(conn: Db) -> list[tuple[int, int, str, dict[str, Any]]]:
    """(record row id, kept paper id, record title, merge note) for every merge, oldest first: an import's
    (the note's basis says why) and yours (basis "manual", `merges.merge`)."""
    rows = conn.execute(
        "SELECT id, paper_id, record FROM paper_source WHERE json_extract(record, '$.merge') IS NOT NULL ORDER BY id"
    ).all()
    out = []
    for rid, pid, record in rows:
        data = json.loads(record)
        out.append((int(rid), int(pid), str(data.get("title") or ""), dict(data["merge"])))
    return out


def reindex(conn: Db, paper_id: int, *, fresh: bool = False) -> None:
    """Rewrite one paper's full-text row from its title, authors, abstract, notes and attachment text."""
    if not fresh:
        conn.execute("DELETE FROM paper_fts WHERE rowid = ?", (paper_id,))
    conn.execute(
        "INSERT INTO paper_fts(rowid, title, authors, abstract, notes, fulltext)"
        " SELECT p.id, p.title, (SELECT group_concat(value, ', ') FROM json_each(p.authors)), p.abstract,"
        " (SELECT group_concat(text, ' ') FROM note WHERE paper_id = p.id),"
        " (SELECT group_concat(text, ' ') FROM attachment WHERE paper_id = p.id)"
        " FROM paper p WHERE p.id = ?",
        (paper_id,),
    )


def row_to_paper_row(row: Sequence[Any]) -> PaperRow:
    (pid, title, authors, year, venue, arxiv, doi, url, abstract, source, citekey, read, rating, decision,
     added, tags) = row  # fmt: skip
    return PaperRow(
        id=int(pid),
        title=title,
        authors=tuple(json.loads(authors or "[]")),
        year=year,
        venue=venue,
        arxiv_id=arxiv,
        doi=doi,
        url=url,
        abstract=abstract or "",
        source=source or "",
        citekey=citekey,
        read=bool(read),
        rating=rating,
        decision=None if decision is None else bool(decision),
        added=added,
        tags=tuple(sorted(tags.split("\x1f"))) if tags else (),
    )
