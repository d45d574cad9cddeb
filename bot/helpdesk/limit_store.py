"""Marks of limited actions (help requests, incident reports, relayed messages), counted when each is accepted."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.store.models import Base


class LimitMark(Base):
    """One accepted action of a person; the rate limits count these over their window."""

    __tablename__ = "limit_marks"
    __table_args__ = (Index("ix_limit_marks_action_user_id_at", "action", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]


class LimitStore:
    """Count a person's actions across processes, and mark the ones allowed."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def take(self, user_id: str, action: str, now: datetime, window: timedelta, allowed: int) -> datetime | None:
        """Mark one more `action` by `user_id` if fewer than `allowed` were marked in the `window` before `now`;
        else mark nothing and return when the oldest of them leaves the window (when to try again)."""
        since = now - window
        mine = (LimitMark.action == action) & (LimitMark.user_id == user_id)
        with self._sessions.begin() as session:
            session.execute(delete(LimitMark).where(mine, LimitMark.at < since))  # only the window is ever kept
            kept = session.scalars(select(LimitMark.at).where(mine, LimitMark.at >= since)
                                   .order_by(LimitMark.at).limit(allowed)).all()
            if len(kept) >= allowed:
                return kept[0] + window
            session.add(LimitMark(user_id=user_id, action=action, at=now))
            return None

