"""Document audiences' members: people and Slack user groups added with `rollout audiences add`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create audience_members, keyed by audience and member."""
    op.create_table(
        "audience_members",
        sa.Column("audience", sa.String(80), nullable=False),
        sa.Column("member", sa.String(191), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("audience", "member", name="pk_audience_members"),
    )


def downgrade() -> None:
    """Drop audience_members."""
    op.drop_table("audience_members")
