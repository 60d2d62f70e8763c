"""The tables, as SQLAlchemy Core metadata. The migrations create exactly these; the code
queries through them so SQLite and PostgreSQL share one code path."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
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

# --- the paper stream (issue 24): papers stored once, tagged, served as feeds -------------
# Which model scored a paper: recorded once per model, referenced by id from every tag row.
stream_models = Table(
    "stream_models", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("version", String(200), nullable=False),
    Column("first_used", DateTime(timezone=True), nullable=False),
    UniqueConstraint("name", "version", name="uq_stream_models_name_version"),
)

# One row per version of a paper: a re-ingest of the same text only moves ``last_seen``; a
# changed title or abstract is a new row (version + 1) and the old one stops being ``latest``.
# ``pk`` is assigned by the writer under the store's write lock, in ingest order, so "newest
# first" is ``pk`` descending. ``model_id`` scored the tags in ``stream_tags``,
# ``previous_model_id`` the ones in ``stream_tags_previous``.
stream_papers = Table(
    "stream_papers", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=False),
    Column("paper_id", String(512), nullable=False),
    Column("version", Integer, nullable=False),
    Column("latest", Boolean, nullable=False),
    Column("digest", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("month", String(7), nullable=False),
    Column("date", String(10), nullable=False),
    Column("categories", Text, nullable=False),  # one a line (a class list has spaces)
    Column("source", String(1024), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("model_id", Integer, ForeignKey("stream_models.id"), nullable=True),
    Column("previous_model_id", Integer, ForeignKey("stream_models.id"), nullable=True),
    UniqueConstraint("paper_id", "version", name="uq_stream_papers_id_version"),
    Index("ix_stream_papers_first_seen", "first_seen"),
)

# Compact tag rows: one per (latest paper version, theme) scoring at least the floor
# (tagger.stream.store.SCORE_FLOOR), so a feed with a lower ``min_score`` than 0.5 can still be
# answered. The feed index serves "newest papers of theme T with score >= s" from the index
# alone: walk (theme, paper_pk) backwards, read the score from the same entry.
stream_tags = Table(
    "stream_tags", metadata,
    Column("paper_pk", Integer, ForeignKey("stream_papers.pk"), primary_key=True),
    Column("theme", String(200), primary_key=True),
    Column("score", Float, nullable=False),
    Index("ix_stream_tags_feed", "theme", "paper_pk", "score"),
)

# The tags of the model before the current one (``tagger retag`` keeps them for comparison).
stream_tags_previous = Table(
    "stream_tags_previous", metadata,
    Column("paper_pk", Integer, ForeignKey("stream_papers.pk"), primary_key=True),
    Column("theme", String(200), primary_key=True),
    Column("score", Float, nullable=False),
)

# Evidence phrases are costly (~1.5 ms a paper, ten times the score), so they are computed for
# the papers a feed, page or digest shows, once per (paper version, theme, model), and kept.
stream_evidence = Table(
    "stream_evidence", metadata,
    Column("paper_pk", Integer, ForeignKey("stream_papers.pk"), primary_key=True),
    Column("theme", String(200), primary_key=True),
    Column("model_id", Integer, ForeignKey("stream_models.id"), primary_key=True),
    Column("phrases", Text, nullable=False),  # JSON list of strings, strongest first
)

# One row (id 1): bumped by every write that changes what a feed shows, so a feed's ETag and
# Last-Modified cost one primary-key read.
stream_state = Table(
    "stream_state", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# Feeds apply reviewers' corrections one theme at a time (tagger.store.labels.verdicts).
Index("ix_decisions_theme", decisions.c.theme, decisions.c.paper_id)
