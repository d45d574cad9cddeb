"""The tables behind policy-change recall: what each answer cited (with the section's text then), the section changes
an ingest found, the answers and FAQ entries each change affects, and the messages that tell people about them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utc_now

# pending: waiting for an admin's approval; approved: to send; sending: claimed by one process (claimed_at);
# sent; failed: approved, the last attempt failed (retried by the next `rollout recall send`); superseded: every answer
# it listed was recalled again by a later run before it was sent.
MESSAGE_STATUSES = ("pending", "approved", "sending", "sent", "failed", "superseded")
PERSON, HELPDESK = "person", "helpdesk"


class SectionText(Base):
    """A section's text, stored once by its hash however many answers and changes refer to it."""

    __tablename__ = "section_texts"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class AnswerCitation(Base):
    """One source an answer cited, with the hash of the section's whole text when the answer was given."""

    __tablename__ = "answer_citations"
    __table_args__ = (UniqueConstraint("conversation_id", "number"), Index("ix_answer_citations_path", "path"))

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    number: Mapped[int]
    path: Mapped[str] = mapped_column(String(500))
    section: Mapped[str | None] = mapped_column(String(1000))
    text_hash: Mapped[str] = mapped_column(String(64))


class RecordedChange(Base):
    """A change to one section that an ingest found: before and after (None: removed), once per fingerprint."""

    __tablename__ = "section_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500))
    section: Mapped[str | None] = mapped_column(String(1000))
    before_hash: Mapped[str] = mapped_column(String(64))
    after_hash: Mapped[str | None] = mapped_column(String(64))
    similarity: Mapped[float] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(String(32))  # the ingest run that first found it
    detected_at: Mapped[datetime] = mapped_column(default=utc_now)


class RecallMessage(Base):
    """One message of a run: a DM to a person listing their affected answers, or the helpdesk's FAQ review list."""

    __tablename__ = "recall_messages"
    __table_args__ = (UniqueConstraint("run_id", "recipient", "kind"), Index("ix_recall_messages_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # person | helpdesk
    recipient: Mapped[str] = mapped_column(String(64))  # a user id, or the helpdesk channel id
    status: Mapped[str] = mapped_column(String(16), default="pending")
    approved_by: Mapped[str | None] = mapped_column(String(64))  # an admin's id, "cli" or "auto"
    approved_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Recall(Base):
    """An answer whose cited section changed: told once per change, whatever re-ingests or processes do."""

    __tablename__ = "recalls"
    __table_args__ = (UniqueConstraint("conversation_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))  # section_changes.fingerprint
    cited_hash: Mapped[str] = mapped_column(String(64))  # the section's text the answer relied on
    message_id: Mapped[int] = mapped_column(ForeignKey("recall_messages.id", ondelete="CASCADE"), index=True)
    superseded: Mapped[bool] = mapped_column(default=False)  # recalled again by a later run before this was sent
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class FaqReview(Base):
    """An FAQ entry the helpdesk added that cites a changed section, flagged to the helpdesk once per change."""

    __tablename__ = "faq_reviews"
    __table_args__ = (UniqueConstraint("faq_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(ForeignKey("recall_messages.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
