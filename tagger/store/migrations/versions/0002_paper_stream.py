"""The paper stream: stored paper versions, their tags (current and previous model), the
models that scored them, cached evidence and a change counter for feeds (issue 24).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("first_used", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_stream_models_name_version"),
    )
    op.create_table(
        "stream_papers",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("paper_id", sa.String(512), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("latest", sa.Boolean, nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("stream_models.id"), nullable=True),
        sa.Column("previous_model_id", sa.Integer, sa.ForeignKey("stream_models.id"),
                  nullable=True),
        sa.UniqueConstraint("paper_id", "version", name="uq_stream_papers_id_version"),
    )
    op.create_index("ix_stream_papers_first_seen", "stream_papers", ["first_seen"])
    for name in ("stream_tags", "stream_tags_previous"):
        op.create_table(
            name,
            sa.Column("paper_pk", sa.Integer, sa.ForeignKey("stream_papers.pk"),
                      primary_key=True),
            sa.Column("theme", sa.String(200), primary_key=True),
            sa.Column("score", sa.Float, nullable=False),
        )
    op.create_index("ix_stream_tags_feed", "stream_tags", ["theme", "paper_pk", "score"])
    op.create_table(
        "stream_evidence",
        sa.Column("paper_pk", sa.Integer, sa.ForeignKey("stream_papers.pk"), primary_key=True),
        sa.Column("theme", sa.String(200), primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("stream_models.id"), primary_key=True),
        sa.Column("phrases", sa.Text, nullable=False),
    )
    op.create_table(
        "stream_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_decisions_theme", "decisions", ["theme", "paper_id"])


def downgrade() -> None:
    op.drop_index("ix_decisions_theme", "decisions")
    for name in ("stream_state", "stream_evidence", "stream_tags_previous", "stream_tags",
                 "stream_papers", "stream_models"):
        op.drop_table(name)
