"""Limit marks for help requests, incident reports and relayed messages, counted when each is accepted (issue 13).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create limit_marks, indexed for one person's count of one action over a window."""
    op.create_table(
        "limit_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_limit_marks"),
    )
    op.create_index("ix_limit_marks_action_user_id_at", "limit_marks", ["action", "user_id", "at"])


def downgrade() -> None:
    """Drop limit_marks."""
    op.drop_index("ix_limit_marks_action_user_id_at", table_name="limit_marks")
    op.drop_table("limit_marks")
