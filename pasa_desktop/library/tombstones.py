"""The library wins over a running search: papers the user deleted or merged stay deleted or merged.

A search records papers as it finds them (and again at its end), by identity (arXiv id, DOI, title).
Without a memory of what the user removed, a paper deleted while a search runs comes back under a new
id when the search reports it, and a merged one is linked twice. `paper_gone` keeps the identity of
each deleted paper (target NULL) and of each paper merged away (target = the kept paper):

- a merge redirects for good: any later record of the merged-away paper links to the kept one;
- a deletion holds for the runs that existed when it happened (a search started later may find the
  paper again: that is a new question, and the user sees it found anew).

Functions take an open connection inside the caller's transaction.
"""

from __future__ import annotations

from engine.papers import Paper
from pasa_desktop.library import catalogue
from pasa_desktop.library.database import Db

GONE = -1  # `resolve`'s answer for a paper the user deleted


def remember(conn: Db, paper_id: int, target_id: int | None) -> None:
    """Keep the identity of `paper_id` before it is deleted (target None) or merged into `target_id`."""
    conn.execute(
        "INSERT INTO paper_gone(paper_id, target_id, arxiv_id, doi, title_key, first_author_key, year, gone)"
        " SELECT id, ?, arxiv_id, doi, title_key, first_author_key, year, ? FROM paper WHERE id = ?",
        (target_id, catalogue.now(), paper_id),
    )
    # Papers merged into this one earlier now follow it (to its target, or gone with it).
    conn.execute("UPDATE paper_gone SET target_id = ? WHERE target_id = ?", (target_id, paper_id))


def _matches(conn: Db, paper: Paper) -> list[tuple[int | None, str]]:
    """(target_id, gone time) of the removed papers this record describes (paper must be `clean`)."""
    found: list[tuple[int | None, str]] = []
    if paper.arxiv_id:
        found += conn.execute("SELECT target_id, gone FROM paper_gone WHERE arxiv_id = ?", (paper.arxiv_id,)).all()
    if paper.doi:
        found += conn.execute("SELECT target_id, gone FROM paper_gone WHERE doi = ?", (paper.doi,)).all()
    keys = catalogue.title_keys(paper.title)  # the key the catalogue stores, and the older letters-only one
    first = catalogue.author_key(paper.authors)
    if keys[0] and paper.year and first:
        rows = conn.execute(
            "SELECT target_id, gone, year, first_author_key, arxiv_id FROM paper_gone WHERE title_key IN (?, ?)", keys
        ).all()
        for target, gone, year, author, arxiv in rows:
            # A title alone is no identity: the year and first author must be known and agree, and two
            # different arXiv ids are two papers (the catalogue's rule, pasa_desktop/library/identity.py).
            if year != paper.year or author != first or (paper.arxiv_id and arxiv and paper.arxiv_id != arxiv):
                continue
            found.append((target, gone))
    return found


def resolve(conn: Db, run_id: int, paper: Paper) -> int | None:
    """For a paper a search reports: the kept paper's id when the user merged it away, GONE when the
    user deleted it while this run existed, else None (record it as usual)."""
    matches = _matches(conn, catalogue.clean(paper))
    if not matches:
        return None
    for target, _gone in matches:
        if target is not None and conn.execute("SELECT 1 FROM paper WHERE id = ?", (target,)).first():
            return int(target)
    started = conn.execute("SELECT started FROM run WHERE id = ?", (run_id,)).first()
    if started is not None and any(target is None and started[0] <= gone for target, gone in matches):
        return GONE
    return None
