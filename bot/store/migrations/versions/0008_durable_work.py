"""Acked work kept in the database until it is done: each question's claim carries what is needed to answer it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add processed_events.status (NULL for claims that carry no work), payload, lease_owner, lease_until and
    attempts, and an index for the workers' search for pending work whose lease ran out."""
    with op.batch_alter_table("processed_events") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_processed_events_status_lease", "processed_events", ["status", "lease_until"])


def downgrade() -> None:
    """Drop the work columns and their index."""
    op.drop_index("ix_processed_events_status_lease", table_name="processed_events")
    with op.batch_alter_table("processed_events") as batch:
        for column in ("attempts", "lease_until", "lease_owner", "payload", "status"):
            batch.drop_column(column)
