"""Admin review queue and the registry of Rasa models (desk/admin).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_ref", sa.String(200), nullable=False, unique=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(128)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("intent", sa.String(64)),
        sa.Column("confidence", sa.Float),
        sa.Column("context", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolution", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("resolved_at", sa.DateTime),
        sa.Column("resolved_by", sa.String(64)),
    )
    op.create_index("ix_review_items_sender_id", "review_items", ["sender_id"])
    op.create_index("ix_review_items_status", "review_items", ["status"])
    op.create_table(
        "rasa_models",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("base_id", sa.String(64)),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("stage", sa.String(200)),
        sa.Column("fingerprint", sa.Text),
        sa.Column("metrics", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("train_seconds", sa.Float),
        sa.Column("promoted_at", sa.DateTime),
        sa.Column("created_by", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("rasa_models")
    op.drop_index("ix_review_items_status", "review_items")
    op.drop_index("ix_review_items_sender_id", "review_items")
    op.drop_table("review_items")
