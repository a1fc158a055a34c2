"""The library's tables as sqlmodel models (schema version 1).

These classes define the schema that `migrations.py` creates; queries on hot paths use SQL directly
(the full-text index and the event log are not ORM-shaped). Times are UTC ISO-8601 strings so the
file stays readable with any SQLite tool. JSON columns hold lists/dicts the engine already serialises.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class PaperTable(SQLModel, table=True):
    __tablename__ = "paper"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    title_key: str = Field(index=True)  # identity.title_key(title); letters only in older files
    abstract: str = ""
    authors: str = "[]"  # JSON list of "First Last"
    first_author_key: str = ""  # lower-case letters of the first author's last name
    year: int | None = Field(default=None, index=True)
    venue: str | None = None
    arxiv_id: str | None = Field(default=None, index=True)  # without version
    doi: str | None = Field(default=None, index=True)  # lower-case
    url: str | None = None
    source: str = ""
    external_ids: str = "{}"  # JSON dict
    citekey: str = Field(unique=True)
    read: bool = False
    rating: int | None = None  # 1..5
    decision: int | None = None  # 1 accepted, 0 rejected, NULL undecided
    added: str
    updated: str


class PaperSourceTable(SQLModel, table=True):
    """Every record a paper was built from (merging keeps them all)."""

    __tablename__ = "paper_source"

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="paper.id", index=True, ondelete="CASCADE")
    source: str
    source_id: str
    record: str  # JSON of engine.papers.Paper.to_dict() or the imported fields
    added: str


class RunTable(SQLModel, table=True):
    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    query: str
    settings: str = "{}"
    status: str = "running"  # engine SearchStatus values, plus "running"
    message: str = ""
    started: str
    finished: str | None = None
    seconds: float = 0.0
    last_progress: str | None = None  # JSON of the latest Progress event (not logged individually)


class RunEventTable(SQLModel, table=True):
    """The raw event log: enough to rebuild a run's state (resume)."""

    __tablename__ = "run_event"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True, ondelete="CASCADE")
    type: str
    data: str  # JSON of engine.events.event_to_dict(event)
    created: str


class RunPaperTable(SQLModel, table=True):
    __tablename__ = "run_paper"

    run_id: int = Field(foreign_key="run.id", primary_key=True, ondelete="CASCADE")
    paper_key: str = Field(primary_key=True)  # engine Paper.key inside this run
    paper_id: int = Field(foreign_key="paper.id", index=True, ondelete="CASCADE")
    seq: int = 0  # order of discovery
    found_by: str = "[]"  # JSON list of FoundBy dicts
    score: float | None = None
    selected: bool | None = None
    reason: str = ""
    rank_score: float | None = None
    sections_chosen: str = "[]"
    sections_expanded: str | None = None  # JSON list once expanded
    cited: int | None = None
    resolved: int | None = None


class RunQueryTable(SQLModel, table=True):
    __tablename__ = "run_query"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True, ondelete="CASCADE")
    query: str
    origin: str = "crawler"
    hits: int | None = None  # set by QueryFinished


class TagTable(SQLModel, table=True):
    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)


class PaperTagTable(SQLModel, table=True):
    __tablename__ = "paper_tag"

    paper_id: int = Field(foreign_key="paper.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, index=True, ondelete="CASCADE")


class NoteTable(SQLModel, table=True):
    __tablename__ = "note"

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="paper.id", index=True, ondelete="CASCADE")
    text: str
    created: str
    updated: str


class CollectionTable(SQLModel, table=True):
    __tablename__ = "collection"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    parent_id: int | None = Field(default=None, foreign_key="collection.id", index=True, ondelete="CASCADE")


class CollectionPaperTable(SQLModel, table=True):
    __tablename__ = "collection_paper"

    collection_id: int = Field(foreign_key="collection.id", primary_key=True, ondelete="CASCADE")
    paper_id: int = Field(foreign_key="paper.id", primary_key=True, index=True, ondelete="CASCADE")


class AttachmentTable(SQLModel, table=True):
    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="paper.id", index=True, ondelete="CASCADE")
    path: str  # relative to the library's files folder
    original_name: str
    sha256: str
    size: int
    mime: str = "application/pdf"
    text: str = ""  # extracted full text (also in the FTS index)
    added: str


class ZoteroItemTable(SQLModel, table=True):
    """What was sent where (schema 2): a second push of the same papers sends nothing twice."""

    __tablename__ = "zotero_item"

    paper_id: int = Field(foreign_key="paper.id", primary_key=True, ondelete="CASCADE")
    destination: str = Field(primary_key=True)  # "connector:http://127.0.0.1:23119" or "web:/users/123"
    item_key: str | None = None  # the Zotero item key when the API told us
    pushed: str
