"""Policy-change recall: the section text each answer cited, the section changes ingests found, the answers and FAQ
entries they affect, and the messages (DMs, the helpdesk's review list) that tell about them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the recall tables."""
    op.create_table(
        "section_texts",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_section_texts"),
    )
    op.create_table(
        "answer_citations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("section", sa.String(1000), nullable=True),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_answer_citations_conversation_id_conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_answer_citations"),
        sa.UniqueConstraint("conversation_id", "number", name="uq_answer_citations_conversation_id_number"),
    )
    op.create_index("ix_answer_citations_path", "answer_citations", ["path"])
    op.create_table(
        "section_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("section", sa.String(1000), nullable=True),
        sa.Column("before_hash", sa.String(64), nullable=False),
        sa.Column("after_hash", sa.String(64), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("detected_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_section_changes"),
        sa.UniqueConstraint("fingerprint", name="uq_section_changes_fingerprint"),
    )
    op.create_table(
        "recall_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", TIMESTAMP, nullable=True),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recall_messages"),
        sa.UniqueConstraint("run_id", "recipient", "kind", name="uq_recall_messages_run_id_recipient_kind"),
    )
    op.create_index("ix_recall_messages_status", "recall_messages", ["status"])
    op.create_table(
        "recalls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("cited_hash", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_recalls_conversation_id_conversations"),
        sa.ForeignKeyConstraint(["message_id"], ["recall_messages.id"], ondelete="CASCADE",
                                name="fk_recalls_message_id_recall_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_recalls"),
        sa.UniqueConstraint("conversation_id", "fingerprint", name="uq_recalls_conversation_id_fingerprint"),
    )
    op.create_index("ix_recalls_message_id", "recalls", ["message_id"])
    op.create_table(
        "faq_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("faq_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["recall_messages.id"], ondelete="CASCADE",
                                name="fk_faq_reviews_message_id_recall_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_faq_reviews"),
        sa.UniqueConstraint("faq_id", "fingerprint", name="uq_faq_reviews_faq_id_fingerprint"),
    )
    op.create_index("ix_faq_reviews_message_id", "faq_reviews", ["message_id"])


def downgrade() -> None:
    """Drop the recall tables."""
    for table in ("faq_reviews", "recalls", "recall_messages", "section_changes", "answer_citations",
                  "section_texts"):
        op.drop_table(table)
