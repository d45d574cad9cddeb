"""Channel settings keyed on channel id, shares of private answers, and which answers were private (issue 15).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create channel_settings and shared_answers; add conversations.private (false for every earlier answer)."""
    op.create_table(
        "channel_settings",
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("answer_mode", sa.String(16), nullable=False),
        sa.Column("private_answers", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("escalate_to", sa.String(64), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name="pk_channel_settings"),
    )
    op.create_table(
        "shared_answers",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("shared_by", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("posted_ts", sa.String(32), nullable=True),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.Column("posted_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_shared_answers_conversation_id_conversations"),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_shared_answers"),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("private")
    op.drop_table("shared_answers")
    op.drop_table("channel_settings")
