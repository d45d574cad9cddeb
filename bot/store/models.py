"""The tables Rollout keeps: processed Slack events, conversations and interactions with answers."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

TERMINAL_SOURCE = "terminal"  # `rollout ask` and `rollout chat`; reports count it apart from Slack
AUTO_SOURCE = "auto"  # a top-level question in a channel whose answer mode is `auto`, asked without a mention
SOURCES = frozenset({"dm", "mention", "thread", "command", AUTO_SOURCE, TERMINAL_SOURCE})

# Explicit constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with our naming convention and UTC timestamps."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, list[dict[str, Any]]: JSON}


WORK_PENDING, WORK_DONE, WORK_ABANDONED = "pending", "done", "abandoned"


class ProcessedEvent(Base):
    """A Slack event or action already handled: its key makes redelivery a no-op.

    A claim that carries work (a question) is also that work's durable record: `status` pending with the `payload`
    needed to do it, leased by one process at a time, until done (payload cleared) or abandoned.
    """

    __tablename__ = "processed_events"

    __table_args__ = (Index("ix_processed_events_user_received", "user_id", "received_at"),
                      Index("ix_processed_events_status_lease", "status", "lease_until"))

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))  # who asked, for a question: the rate limit counts these
    status: Mapped[str | None] = mapped_column(String(16))  # None: a claim without work (clicks, old rows)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the work needs; never a secret
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the process working on it
    lease_until: Mapped[datetime | None]  # after this, any process may take it
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Conversation(Base):
    """One question an employee asked and the answer Rollout gave."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_channel_id_thread_ts", "channel_id", "thread_ts"),
        Index("ix_conversations_user_id_created_at", "user_id", "created_at"),
        Index("ix_conversations_channel_id_reply_ts", "channel_id", "reply_ts"),
        # One conversation per Slack message, however many events announce it.
        UniqueConstraint("channel_id", "message_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)  # already redacted by the caller
    answer: Mapped[str] = mapped_column(Text)
    more: Mapped[str | None] = mapped_column(Text)  # the longer extract behind *Show more*; None when there is none
    sources: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    answered: Mapped[bool]
    latency_ms: Mapped[int]
    answerer: Mapped[str] = mapped_column(String(64))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    reply_ts: Mapped[str | None] = mapped_column(String(32))
    # Shown to the asker alone (`/rollout`, or a channel with private answers), with *Share in channel*. The
    # database's default, not Python's: rows written without the column (before 0007) read as false.
    private: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!r}, user_id={self.user_id!r}, source={self.source!r})"


class Interaction(Base):
    """Something an employee did with an answer (feedback, escalation), recorded once."""

    __tablename__ = "interactions"
    __table_args__ = (UniqueConstraint("conversation_id", "user_id", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
