"""The tables behind channel settings and private answers (issue 15): each channel's settings keyed on its id, and the
shares of private answers; and `ChannelStore`, the repository over them. Read from the database on every use, so a
change made in one process (a modal, the CLI) applies in every other at once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, String, Text, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.store.models import Base, utc_now
from bot.store.runs import insert_ignoring

ANSWER_MODES = ("mention", "auto", "off")
DEFAULT_MODE = "mention"
SHARE_TAKEOVER = timedelta(minutes=2)  # a share claimed this long ago and never posted was lost with its process


class ChannelSetting(Base):
    """How Rollout behaves in one channel (by id: names change). A channel without a row has the defaults."""

    __tablename__ = "channel_settings"

    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer_mode: Mapped[str] = mapped_column(String(16), default=DEFAULT_MODE)  # ANSWER_MODES
    private_answers: Mapped[bool] = mapped_column(Boolean, default=False)
    audience: Mapped[str] = mapped_column(Text, default="")  # audience names, comma-separated, in order
    escalate_to: Mapped[str | None] = mapped_column(String(64))  # the helpdesk channel for this channel's tickets
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class SharedAnswer(Base):
    """A private answer its asker shared in the channel: one per answer, however often Share is pressed."""

    __tablename__ = "shared_answers"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    shared_by: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    posted_ts: Mapped[str | None] = mapped_column(String(32))  # None while being posted
    claimed_at: Mapped[datetime] = mapped_column(default=utc_now)
    posted_at: Mapped[datetime | None]


@dataclass(frozen=True)
class ChannelSettings:
    """One channel's settings as the product uses them (defaults for a channel never configured)."""

    channel_id: str
    answer_mode: str = DEFAULT_MODE
    private_answers: bool = False
    audience: tuple[str, ...] = ()
    escalate_to: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def configured(self) -> bool:
        return self.updated_at is not None


class ChannelStore:
    """Channel settings and shares, one short transaction per call, safe across threads and processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, channel_id: str) -> ChannelSettings:
        """A channel's settings, the defaults when it has none."""
        with self._sessions() as session:
            row = session.get(ChannelSetting, channel_id)
            return _settings(row) if row else ChannelSettings(channel_id)

    def all(self) -> list[ChannelSettings]:
        """Every configured channel, by id."""
        with self._sessions() as session:
            return [_settings(r) for r in session.scalars(select(ChannelSetting).order_by(ChannelSetting.channel_id))]

    def any_escalation_route(self) -> bool:
        """Whether some channel sends its tickets to a helpdesk channel of its own."""
        with self._sessions() as session:
            statement = select(func.count()).select_from(ChannelSetting).where(ChannelSetting.escalate_to.isnot(None))
            return bool(session.scalar(statement))

    def save(self, settings: ChannelSettings, user_id: str, now: datetime) -> ChannelSettings:
        """Store a channel's settings whole (the last writer wins, as with any settings form)."""
        values = dict(answer_mode=settings.answer_mode, private_answers=settings.private_answers,
                      audience=",".join(settings.audience), escalate_to=settings.escalate_to, updated_by=user_id,
                      updated_at=now)
        with self._sessions.begin() as session:
            if not insert_ignoring(session, ChannelSetting.__table__, [{"channel_id": settings.channel_id, **values}],
                                   ["channel_id"]):
                session.execute(update(ChannelSetting).filter_by(channel_id=settings.channel_id).values(**values))
        return self.get(settings.channel_id)

    # -- shares ------------------------------------------------------------------------------------------------

    def claim_share(self, conversation_id: int, user_id: str, channel_id: str, thread_ts: str | None,
                    now: datetime) -> str:
        """"new" for the one caller who should post the share now, "posted" once it is in the channel, "sharing"
        while another click or process is posting it (a claim older than SHARE_TAKEOVER is taken over)."""
        row = dict(conversation_id=conversation_id, shared_by=user_id, channel_id=channel_id, thread_ts=thread_ts,
                   claimed_at=now)
        with self._sessions.begin() as session:
            if insert_ignoring(session, SharedAnswer.__table__, [row], ["conversation_id"]):
                return "new"
            taken = session.execute(update(SharedAnswer).where(
                SharedAnswer.conversation_id == conversation_id, SharedAnswer.posted_ts.is_(None),
                SharedAnswer.claimed_at < now - SHARE_TAKEOVER).values(claimed_at=now, shared_by=user_id))
            if taken.rowcount == 1:
                return "new"
            posted = session.scalar(select(SharedAnswer.posted_ts).filter_by(conversation_id=conversation_id))
            return "posted" if posted else "sharing"

    def shared(self, conversation_id: int, posted_ts: str, now: datetime) -> None:
        """Record where the share was posted."""
        with self._sessions.begin() as session:
            session.execute(update(SharedAnswer).filter_by(conversation_id=conversation_id)
                            .values(posted_ts=posted_ts, posted_at=now))

    def release_share(self, conversation_id: int) -> None:
        """The post failed: the next click may try again."""
        with self._sessions.begin() as session:
            session.execute(delete(SharedAnswer).where(SharedAnswer.conversation_id == conversation_id,
                                                       SharedAnswer.posted_ts.is_(None)))

    def share_of(self, conversation_id: int) -> SharedAnswer | None:
        """The share of an answer, if it was shared (or is being shared)."""
        with self._sessions() as session:
            return session.get(SharedAnswer, conversation_id)


def _settings(row: ChannelSetting) -> ChannelSettings:
    audience = tuple(a for a in (row.audience or "").split(",") if a)
    return ChannelSettings(row.channel_id, row.answer_mode, bool(row.private_answers), audience, row.escalate_to,
                           row.updated_by, row.updated_at)
