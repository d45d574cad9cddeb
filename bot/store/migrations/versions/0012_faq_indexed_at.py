"""When each FAQ entry was indexed: one saved while Chroma is down is indexed once it is back (issue 13).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add faq_entries.indexed_at; earlier entries were indexed when added, so theirs is their created_at."""
    with op.batch_alter_table("faq_entries") as batch:
        batch.add_column(sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE faq_entries SET indexed_at = created_at")


def downgrade() -> None:
    """Drop faq_entries.indexed_at."""
    with op.batch_alter_table("faq_entries") as batch:
        batch.drop_column("indexed_at")
