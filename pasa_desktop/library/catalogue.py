"""Papers in the library: cleaning, deduplication, merging, the full-text index, and reading rows back.

A paper lives once however many searches or imports brought it: the same arXiv id (any version), the
same DOI, or the same normalised title with a compatible year and first author. Merging fills blanks
and keeps every source record; nothing a user wrote (notes, tags, scores) is dropped.
Functions here take an open connection inside the caller's transaction.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from engine.papers import Paper, find_doi, normalise_title, strip_arxiv_version
from pasa_desktop.library.citekey import citekey_base, last_name, unique_citekey
from pasa_desktop.library.database import Db
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


def find_existing(conn: Db, paper: Paper) -> int | None:
    """The id of the library paper this record describes, if any (paper must be `clean`)."""
    if paper.arxiv_id:
        row = conn.execute("SELECT id FROM paper WHERE arxiv_id = ? LIMIT 1", (paper.arxiv_id,)).first()
        if row:
            return int(row[0])
    if paper.doi:
        row = conn.execute("SELECT id FROM paper WHERE doi = ? LIMIT 1", (paper.doi,)).first()
        if row:
            return int(row[0])
    key = normalise_title(paper.title)
    if not key:
        return None
    first = author_key(paper.authors)
    rows = conn.execute(
        "SELECT id, year, first_author_key, arxiv_id FROM paper WHERE title_key = ? ORDER BY id", (key,)
    ).all()
    for pid, year, fa, arxiv in rows:
        if paper.year and year and paper.year != year:
            continue
        if first and fa and first != fa:
            continue
        # Two different arXiv ids are two papers even if their titles agree.
        if paper.arxiv_id and arxiv and paper.arxiv_id != arxiv:
            continue
        return int(pid)
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
            normalise_title(paper.title),
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


def add_source(conn: Db, paper_id: int, paper: Paper, *, fresh: bool = False) -> None:
    """Keep this record; the same record again (same source and id) replaces its older copy."""
    source_id = paper.id or paper.key
    record = json.dumps(paper.to_dict(), ensure_ascii=False)
    if not fresh:
        updated = conn.execute(
            "UPDATE paper_source SET record = ? WHERE paper_id = ? AND source = ? AND source_id = ?",
            (record, paper_id, paper.source, source_id),
        )
        if updated.rowcount:
            return
    conn.execute(
        "INSERT INTO paper_source(paper_id, source, source_id, record, added) VALUES (?, ?, ?, ?, ?)",
        (paper_id, paper.source, source_id, record, now()),
    )


def fill_blanks(conn: Db, paper_id: int, paper: Paper, *, keep_source: bool = True) -> None:
    """Complete an existing paper from another record of it; what it already has wins."""
    row = conn.execute(
        "SELECT abstract, authors, year, venue, arxiv_id, doi, url, external_ids FROM paper WHERE id = ?",
        (paper_id,),
    ).one()
    abstract, authors, year, venue, arxiv, doi, url, ext = row
    merged_ext = {**paper.external_ids, **json.loads(ext or "{}")}
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
    if values != (abstract, authors, author_key(json.loads(authors)), year, venue, arxiv, doi, url, ext):
        conn.execute(
            "UPDATE paper SET abstract = ?, authors = ?, first_author_key = ?, year = ?, venue = ?, arxiv_id = ?,"
            " doi = ?, url = ?, external_ids = ?, updated = ? WHERE id = ?",
            (*values, now(), paper_id),
        )
        reindex(conn, paper_id)
    if keep_source:
        add_source(conn, paper_id, paper)


def upsert(conn: Db, paper: Paper, *, citekey: str | None = None) -> UpsertResult:
    paper = clean(paper)
    existing = find_existing(conn, paper)
    if existing is not None:
        fill_blanks(conn, existing, paper)
        return UpsertResult(existing, created=False)
    return UpsertResult(insert(conn, paper, citekey=citekey), created=True)


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


def merge(conn: Db, keep: int, drop: int) -> None:
    """Fold paper `drop` into `keep`: run links, scores, notes, tags, collections, attachments, sources."""
    dropped = conn.execute(f"SELECT {PAPER_COLUMNS} FROM paper p WHERE p.id = ?", (drop,)).one()
    # Its source records move over below; the row itself is not a new source.
    fill_blanks(conn, keep, row_to_paper_row(dropped).to_paper(), keep_source=False)
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
    conn.execute(
        "UPDATE paper SET read = max(read, (SELECT read FROM paper WHERE id = ?)),"
        " rating = coalesce(rating, (SELECT rating FROM paper WHERE id = ?)),"
        " decision = coalesce(decision, (SELECT decision FROM paper WHERE id = ?)) WHERE id = ?",
        (drop, drop, drop, keep),
    )
    conn.execute("DELETE FROM paper_fts WHERE rowid = ?", (drop,))
    conn.execute("DELETE FROM paper WHERE id = ?", (drop,))
    reindex(conn, keep)


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
