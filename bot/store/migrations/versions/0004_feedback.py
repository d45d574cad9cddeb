"""Pilot feedback: answer ratings (one per person and answer), survey responses, pulse-survey schedules.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the feedback tables."""
    op.create_table(
        "answer_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("vote", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_answer_ratings_conversation_id_conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_answer_ratings"),
        sa.UniqueConstraint("conversation_id", "user_id", name="uq_answer_ratings_conversation_id_user_id"),
    )
    op.create_index("ix_answer_ratings_updated_at", "answer_ratings", ["updated_at"])
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(191), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("ease", sa.Integer(), nullable=False),
        sa.Column("usefulness", sa.Integer(), nullable=False),
        sa.Column("saved_time", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_responses"),
        sa.UniqueConstraint("key", name="uq_survey_responses_key"),
    )
    op.create_index("ix_survey_responses_user_id_created_at", "survey_responses", ["user_id", "created_at"])
    op.create_table(
        "survey_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cron", sa.String(120), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("remind_after_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_schedules"),
    )


def downgrade() -> None:
    """Drop the feedback tables."""
    for table in ("survey_schedules", "survey_responses", "answer_ratings"):
        op.drop_table(table)
