"""Processed events, conversations and interactions.

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the first three tables."""
    create_processed_events()
    create_conversations()
    create_interactions()


def downgrade() -> None:
    """Drop the first three tables."""
    op.drop_table("interactions")
    op.drop_table("conversations")
    op.drop_table("processed_events")


def create_processed_events() -> None:
    """Keys of Slack events and actions already handled."""
    op.create_table(
        "processed_events",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_processed_events"),
    )
    op.create_index("ix_processed_events_received_at", "processed_events", ["received_at"])


def create_conversations() -> None:
    """Questions and the answers given, one per Slack message."""
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("answerer", sa.String(64), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=True),
        sa.Column("reply_ts", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        sa.UniqueConstraint("channel_id", "message_ts", name="uq_conversations_channel_id_message_ts"),
    )
    op.create_index("ix_conversations_channel_id_thread_ts", "conversations", ["channel_id", "thread_ts"])
    op.create_index("ix_conversations_user_id_created_at", "conversations", ["user_id", "created_at"])
    op.create_index("ix_conversations_channel_id_reply_ts", "conversations", ["channel_id", "reply_ts"])


def create_interactions() -> None:
    """Feedback and escalations on answers, once per user, answer and action."""
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], ondelete="CASCADE",
            name="fk_interactions_conversation_id_conversations",
        ),
        sa.UniqueConstraint(
            "conversation_id", "user_id", "action", name="uq_interactions_conversation_id_user_id_action"
        ),
    )
