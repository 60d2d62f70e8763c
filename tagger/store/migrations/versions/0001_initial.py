"""Papers and append-only review decisions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("id", sa.String(512), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("queued", sa.Boolean, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("paper_id", sa.String(512), sa.ForeignKey("papers.id"), nullable=False),
        sa.Column("theme", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("undoes", sa.Integer, sa.ForeignKey("decisions.seq"), nullable=True),
        sa.Column("batch", sa.String(64), nullable=False),
    )
    op.create_index("ix_decisions_paper_theme", "decisions", ["paper_id", "theme"])
    op.create_index("ix_decisions_reviewer", "decisions", ["reviewer", "created_at"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("papers")
