"""The longer extract behind an answer's *Show more*, stored with its conversation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add conversations.more (nullable: earlier answers, and short answers that are all there is, have none)."""
    with op.batch_alter_table("conversations") as batch:  # SQLite adds a column in place; only a drop copies the table
        batch.add_column(sa.Column("more", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop conversations.more."""
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("more")
