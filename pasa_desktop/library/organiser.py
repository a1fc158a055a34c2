"""What users add to papers: tags, notes, nested collections, and the attachment listing.

A mix-in of `Library` (kept apart so each file stays readable); every method is one transaction.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pasa_desktop.library import attachments, catalogue, identity, merges
from pasa_desktop.library.database import Db
from pasa_desktop.library.errors import LibraryError
from pasa_desktop.library.rows import AttachmentRow, CollectionRow, DuplicatePair, MergeRow, NoteRow, TagRow


class Organiser:
    path: Path
    files_dir: Path

    def _write(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    @staticmethod
    def _require_paper(conn: Db, paper_id: int) -> None:
        if conn.execute("SELECT 1 FROM paper WHERE id = ?", (paper_id,)).first() is None:
            raise LibraryError(f"No paper {paper_id} in the library", hint="pasa library search")

    # -- tags -------------------------------------------------------------------------------------
    def add_tag(self, paper_id: int, name: str) -> None:
        name = catalogue.squash(name)
        if not name:
            raise LibraryError("A tag needs a name")
        with self._write() as conn:
            self._require_paper(conn, paper_id)
            conn.execute("INSERT OR IGNORE INTO tag(name) VALUES (?)", (name,))
            conn.execute(
                "INSERT OR IGNORE INTO paper_tag(paper_id, tag_id) SELECT ?, id FROM tag WHERE name = ?",
                (paper_id, name),
            )

    def remove_tag(self, paper_id: int, name: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM paper_tag WHERE paper_id = ? AND tag_id = (SELECT id FROM tag WHERE name = ?)",
                (paper_id, catalogue.squash(name)),
            )

    def tags(self) -> list[TagRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT t.name, count(pt.paper_id) FROM tag t LEFT JOIN paper_tag pt ON pt.tag_id = t.id"
                " GROUP BY t.id ORDER BY t.name COLLATE NOCASE"
            ).all()
        return [TagRow(n, int(c)) for n, c in rows]

    # -- notes ------------------------------------------------------------------------------------
    def add_note(self, paper_id: int, text: str) -> int:
        with self._write() as conn:
            self._require_paper(conn, paper_id)
            stamp = catalogue.now()
            cur = conn.execute(
                "INSERT INTO note(paper_id, text, created, updated) VALUES (?, ?, ?, ?)",
                (paper_id, text, stamp, stamp),
            )
            catalogue.reindex(conn, paper_id)
            return cur.new_id

    def update_note(self, note_id: int, text: str) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT paper_id FROM note WHERE id = ?", (note_id,)).first()
            if row is None:
                raise LibraryError(f"No note {note_id}")
            conn.execute("UPDATE note SET text = ?, updated = ? WHERE id = ?", (text, catalogue.now(), note_id))
            catalogue.reindex(conn, int(row[0]))

    def delete_note(self, note_id: int) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT paper_id FROM note WHERE id = ?", (note_id,)).first()
            if row is None:
                raise LibraryError(f"No note {note_id}")
            conn.execute("DELETE FROM note WHERE id = ?", (note_id,))
            catalogue.reindex(conn, int(row[0]))

    def notes(self, paper_id: int) -> list[NoteRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, paper_id, text, created, updated FROM note WHERE paper_id = ? ORDER BY id", (paper_id,)
            ).all()
        return [NoteRow(int(i), int(p), t, c, u) for i, p, t, c, u in rows]

    # -- collections ------------------------------------------------------------------------------
    def create_collection(self, name: str, parent: int | str | None = None) -> int:
        """A collection under `parent` (id or "A/B" path); returns the existing one if it is there."""
        name = catalogue.squash(name)
        if not name or "/" in name:
            raise LibraryError(f"Bad collection name {name!r} (non-empty, no '/')")
        with self._write() as conn:
            parent_id = None if parent is None else self._collection_id(conn, parent)
            row = conn.execute(
                "SELECT id FROM collection WHERE coalesce(parent_id, 0) = ? AND name = ?", (parent_id or 0, name)
            ).first()
            if row:
                return int(row[0])
            cur = conn.execute("INSERT INTO collection(name, parent_id) VALUES (?, ?)", (name, parent_id))
            return cur.new_id

    def ensure_collection_path(self, path: str) -> int:
        """Create every level of "A/B/C" that is missing; returns C's id."""
        parent: int | None = None
        for part in [p for p in path.split("/") if p.strip()]:
            parent = self.create_collection(part, parent)
        if parent is None:
            raise LibraryError(f"Bad collection path {path!r}")
        return parent

    def delete_collection(self, collection: int | str) -> None:
        """Removes the collection and its sub-collections; papers stay in the library."""
        with self._write() as conn:
            conn.execute("DELETE FROM collection WHERE id = ?", (self._collection_id(conn, collection),))

    def add_to_collection(self, collection: int | str, paper_ids: list[int]) -> None:
        with self._write() as conn:
            cid = self._collection_id(conn, collection)
            for pid in paper_ids:
                self._require_paper(conn, pid)
                conn.execute(
                    "INSERT OR IGNORE INTO collection_paper(collection_id, paper_id) VALUES (?, ?)", (cid, pid)
                )

    def remove_from_collection(self, collection: int | str, paper_ids: list[int]) -> None:
        with self._write() as conn:
            cid = self._collection_id(conn, collection)
            for pid in paper_ids:
                conn.execute("DELETE FROM collection_paper WHERE collection_id = ? AND paper_id = ?", (cid, pid))

    def collections(self) -> list[CollectionRow]:
        """Every collection, depth-first by path (a tree view can be built from parent_id). `papers` counts
        what opening the collection lists: its papers and its sub-collections', each once."""
        with self._read() as conn:
            rows = conn.execute(
                "WITH RECURSIVE tree(id, name, parent_id, path) AS ("
                " SELECT id, name, parent_id, name FROM collection WHERE parent_id IS NULL"
                " UNION ALL SELECT c.id, c.name, c.parent_id, tree.path || '/' || c.name"
                " FROM collection c JOIN tree ON c.parent_id = tree.id),"
                " sub(root, id) AS (SELECT id, id FROM collection"
                " UNION ALL SELECT sub.root, c.id FROM collection c JOIN sub ON c.parent_id = sub.id)"
                " SELECT tree.id, tree.name, tree.parent_id, tree.path,"
                " (SELECT count(DISTINCT cp.paper_id) FROM sub JOIN collection_paper cp ON cp.collection_id = sub.id"
                " WHERE sub.root = tree.id)"
                " FROM tree ORDER BY tree.path COLLATE NOCASE"
            ).all()
        return [CollectionRow(int(i), n, p, path, int(c)) for i, n, p, path, c in rows]

    def paper_collections(self, paper_id: int) -> list[int]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT collection_id FROM collection_paper WHERE paper_id = ? ORDER BY collection_id", (paper_id,)
            ).all()
        return [int(r[0]) for r in rows]

    def paper_runs(self, paper_id: int) -> list[int]:
        """The searches that found this paper, newest first (the window's "show the search that found it")."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT run_id FROM run_paper WHERE paper_id = ? ORDER BY run_id DESC", (paper_id,)
            ).all()
        return [int(r[0]) for r in rows]

    @staticmethod
    def _collection_id(conn: Db, collection: int | str) -> int:
        if isinstance(collection, int) or (isinstance(collection, str) and collection.isdigit()):
            cid = int(collection)
            if conn.execute("SELECT 1 FROM collection WHERE id = ?", (cid,)).first() is None:
                raise LibraryError(f"No collection {cid}")
            return cid
        parent: int | None = None
        for part in [p.strip() for p in collection.split("/") if p.strip()]:
            row = conn.execute(
                "SELECT id FROM collection WHERE coalesce(parent_id, 0) = ? AND name = ?", (parent or 0, part)
            ).first()
            if row is None:
                raise LibraryError(f"No collection {collection!r}", hint="pasa library collection list")
            parent = int(row[0])
        if parent is None:
            raise LibraryError(f"No collection {collection!r}")
        return parent

    @staticmethod
    def _collection_tree(conn: Db, root: int) -> list[int]:
        rows = conn.execute(
            "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL SELECT c.id FROM collection c JOIN sub ON c.parent_id = sub.id)"
            " SELECT id FROM sub",
            (root,),
        ).all()
        return [int(r[0]) for r in rows]

    # -- attachments (listing; `Library.attach` adds) ----------------------------------------------
    def attachments(self, paper_id: int) -> list[AttachmentRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, paper_id, path, original_name, sha256, size, mime, added FROM attachment"
                " WHERE paper_id = ? ORDER BY id",
                (paper_id,),
            ).all()
        return [self._attachment_row(r) for r in rows]

    def _attachment_row(self, row: Any) -> AttachmentRow:
        i, pid, rel, original, digest, size, mime, added = row
        return AttachmentRow(
            id=int(i),
            paper_id=int(pid),
            path=attachments.inside(self.files_dir, rel),
            original_name=original,
            sha256=digest,
            size=int(size),
            mime=mime,
            added=added,
        )

    def remove_attachment(self, attachment_id: int) -> None:
        """Forget the attachment and delete its copy (the user's original is never touched)."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, paper_id, path, original_name, sha256, size, mime, added FROM attachment WHERE id = ?",
                (attachment_id,),
            ).first()
            if row is None:
                raise LibraryError(f"No attachment {attachment_id}")
            att = self._attachment_row(row)
            conn.execute("DELETE FROM attachment WHERE id = ?", (attachment_id,))
            catalogue.reindex(conn, att.paper_id)
            shared = conn.execute("SELECT 1 FROM attachment WHERE path = ?", (row[2],)).first()
        if not shared:
            att.path.unlink(missing_ok=True)

    # -- bibliographic details ---------------------------------------------------------------------
    def details_by_paper(self, paper_ids: list[int]) -> dict[int, dict[str, str]]:
        """Volume, issue, pages, publisher, ISBN… (kept in `external_ids`) for many papers at once (exports)."""
        out: dict[int, dict[str, str]] = {}
        with self._read() as conn:
            for start in range(0, len(paper_ids), 500):
                chunk = tuple(paper_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for pid, ext in conn.execute(f"SELECT id, external_ids FROM paper WHERE id IN ({marks})", chunk):
                    data = json.loads(ext or "{}")
                    if isinstance(data, dict) and data:
                        out[int(pid)] = {str(k): str(v) for k, v in data.items()}
        return out

    def citekey_aliases(self, paper_ids: list[int]) -> dict[int, list[str]]:
        """The citation keys that records merged into each paper came with (exports write them as aliases)."""
        out: dict[int, list[str]] = {}
        with self._read() as conn:
            for start in range(0, len(paper_ids), 500):
                chunk = tuple(paper_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    "SELECT paper_id, json_extract(record, '$.merge.citekey') FROM paper_source"
                    f" WHERE paper_id IN ({marks}) AND coalesce(json_extract(record, '$.merge.citekey'), '') != ''"
                    " ORDER BY id",
                    chunk,
                )
                for pid, key in rows:
                    if str(key) not in out.setdefault(int(pid), []):
                        out[int(pid)].append(str(key))
        return out

    # -- duplicates and merges ---------------------------------------------------------------------
    def merges(self) -> list[MergeRow]:
        """Every merge, oldest first: records an import folded into an existing paper (with why) and papers
        you merged (basis "manual", "merged by you"); undo either with `unmerge`."""
        with self._read() as conn:
            rows = catalogue.merged_records(conn)
        return [
            MergeRow(rid, pid, title, str(m.get("basis", "")), str(m.get("reason", "")), str(m.get("at", "")))
            for rid, pid, title, m in rows
        ]

    def unmerge(self, record_id: int) -> int:
        """Undo the merge `merges()[i].record_id` names: the record (an import's) or the paper (yours, with
        its notes, tags, collections, attachments and run links) is its own paper again; returns its id."""
        with self._write() as conn:
            return merges.unmerge(conn, record_id)

    def duplicates(self) -> list[DuplicatePair]:
        """Papers with the same title that the identity rules kept apart, and why (for the user to decide).

        Pairs whose identifiers differ (two DOIs, two arXiv ids, two ISBNs) are different works and not listed.
        """
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join('a.' + c for c in identity.KNOWN_COLUMNS.split(', '))},"
                f" {', '.join('b.' + c for c in identity.KNOWN_COLUMNS.split(', '))}"
                " FROM paper a JOIN paper b ON a.title_key = b.title_key AND a.id < b.id"
                " WHERE a.title_key != '' ORDER BY a.id, b.id"
            ).all()
        width = len(identity.KNOWN_COLUMNS.split(", "))
        out = []
        for row in rows:
            a, b = identity.Known.from_row(row[:width]), identity.Known.from_row(row[width:])
            reason = identity.not_merged_because(a, b)
            if reason is not None:
                out.append(DuplicatePair(a.id, b.id, reason))
        return out

    # -- Zotero pushes ------------------------------------------------------------------------------
    def zotero_pushed(self, destination: str, paper_ids: list[int]) -> set[int]:
        """Which of these papers were already sent to this Zotero destination."""
        out: set[int] = set()
        with self._read() as conn:
            for start in range(0, len(paper_ids), 500):
                chunk = tuple(paper_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT paper_id FROM zotero_item WHERE destination = ? AND paper_id IN ({marks})",
                    (destination, *chunk),
                )
                out.update(int(r[0]) for r in rows)
        return out

    def mark_zotero_pushed(self, destination: str, items: list[tuple[int, str | None]]) -> None:
        """Remember (paper id, Zotero item key or None) as sent to `destination`."""
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO zotero_item(paper_id, destination, item_key, pushed) VALUES (?, ?, ?, ?)",
                [(pid, destination, key, catalogue.now()) for pid, key in items],
            )
