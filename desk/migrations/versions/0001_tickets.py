"""Tickets, their status history and the per-day ticket number counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("scenario", sa.String(64)),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("district", sa.String(64)),
        sa.Column("street", sa.String(64)),
        sa.Column("location", sa.Text),
        sa.Column("occurred_at", sa.Text),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("contact_anonymous", sa.Boolean, nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("respond_by", sa.DateTime, nullable=False),
        sa.Column("resolve_by", sa.DateTime, nullable=False),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.Column("request_hash", sa.String(64)),
    )
    op.create_index("ix_tickets_sender_id", "tickets", ["sender_id"])
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(32), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_ticket_history_ticket_id", "ticket_history", ["ticket_id"])
    op.create_table(
        "ticket_counters",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ticket_counters")
    op.drop_index("ix_ticket_history_ticket_id", "ticket_history")
    op.drop_table("ticket_history")
    op.drop_index("ix_tickets_sender_id", "tickets")
    op.drop_table("tickets")
