"""The tables behind the helpdesk and security incidents: tickets, incident reports, FAQ entries and the audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utc_now

TICKET_STATUSES = ("open", "claimed", "resolved")
INCIDENT_STATUSES = ("pending", "posted", "acknowledged")  # pending: stored, not yet in the security channel


class Ticket(Base):
    """An employee's request for a person, posted to the helpdesk channel and relayed both ways once claimed."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_created_at", "status", "created_at"),
        Index("ix_tickets_helpdesk_channel_helpdesk_ts", "helpdesk_channel", "helpdesk_ts"),
        Index("ix_tickets_asker_channel_asker_thread_ts", "asker_channel", "asker_thread_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))  # escalate | help-me
    conversation_id: Mapped[int | None] = mapped_column(unique=True)  # one ticket per escalated answer
    question: Mapped[str] = mapped_column(Text)  # redacted
    answer: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    permalink: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")
    asker_channel: Mapped[str | None] = mapped_column(String(64))  # where the asker is told and relayed to
    asker_thread_ts: Mapped[str | None] = mapped_column(String(32))
    helpdesk_channel: Mapped[str | None] = mapped_column(String(64))
    helpdesk_ts: Mapped[str | None] = mapped_column(String(32))  # the ticket's message: its thread is the relay
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)  # the agent's last relayed reply, for the FAQ modal
    rating: Mapped[int | None]
    announced_at: Mapped[datetime | None]  # last SLA re-announcement
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Incident(Base):
    """A security incident report: stored (redacted) before anything is posted, posted until Slack takes it."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_severity", "status", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text)
    happened: Mapped[str | None] = mapped_column(String(300))  # when, in the reporter's words
    tool: Mapped[str | None] = mapped_column(String(300))
    data_kind: Mapped[str] = mapped_column(String(32))
    ongoing: Mapped[bool]
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    posted_at: Mapped[datetime | None]  # the latest post (re-posts move it on)
    reporter_told_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class FaqEntry(Base):
    """A helpdesk answer turned into knowledge: a Markdown document under <data dir>/faq/, indexed at once
    (or, if the knowledge base is down then, by the retry job once it is back)."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None]
    path: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    indexed_at: Mapped[datetime | None]  # None: saved while the knowledge base was down, not searchable yet


class AuditEntry(Base):
    """One state change of a ticket, incident or FAQ entry: who, what, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_subject_subject_id", "subject", "subject_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(64))  # a Slack user id, "system" or "cli"
    subject: Mapped[str] = mapped_column(String(16))  # ticket | incident | faq
    subject_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
