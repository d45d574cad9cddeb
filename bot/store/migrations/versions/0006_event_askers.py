"""Who sent each claimed question, so the rate limit counts questions when they are accepted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add processed_events.user_id (nullable: clicks, retries of old events and other kinds have none), indexed with
    the time for the per-person count."""
    with op.batch_alter_table("processed_events") as batch:
        batch.add_column(sa.Column("user_id", sa.String(64), nullable=True))
    op.create_index("ix_processed_events_user_received", "processed_events", ["user_id", "received_at"])


def downgrade() -> None:
    """Drop processed_events.user_id and its index."""
    op.drop_index("ix_processed_events_user_received", table_name="processed_events")
    with op.batch_alter_table("processed_events") as batch:
        batch.drop_column("user_id")
