"""The tables, as SQLAlchemy Core metadata. The migrations create exactly these; the code
queries through them so SQLite and PostgreSQL share one code path."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

papers = Table(
    "papers", metadata,
    Column("id", String(512), primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("abstract", Text, nullable=False),
    Column("source", String(1024), nullable=False, default=""),
    # True while the paper waits in the review queue (``tagger queue add``); papers that only
    # arrived through feedback are stored but not queued.
    Column("queued", Boolean, nullable=False, default=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

# Append-only: rows are inserted, never updated or deleted. An "undo" is a row of its own
# naming the decision it cancels.
decisions = Table(
    "decisions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", String(512), ForeignKey("papers.id"), nullable=False),
    Column("theme", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(200), nullable=True),
    Column("undoes", Integer, ForeignKey("decisions.seq"), nullable=True),
    # Decisions written together (one feedback request, one page action) share a batch id.
    Column("batch", String(64), nullable=False),
    Index("ix_decisions_paper_theme", "paper_id", "theme"),
    Index("ix_decisions_reviewer", "reviewer", "created_at"),
)
