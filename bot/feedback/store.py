"""The tables behind pilot feedback: answer ratings (one per person and answer), survey responses and pulse-survey
schedules; and `FeedbackStore`, the repository over them."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.store.models import Base, Conversation, utc_now
from bot.store.runs import insert_ignoring

VOTES = ("helpful", "not_helpful")
REASONS = ("wrong", "outdated", "not_found", "unclear", "other")


class AnswerRating(Base):
    """One person's 👍 or 👎 on one answer; voting again changes it (and the 👎 modal adds a reason)."""

    __tablename__ = "answer_ratings"
    __table_args__ = (UniqueConstraint("conversation_id", "user_id"), Index("ix_answer_ratings_updated_at", "updated_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    vote: Mapped[str] = mapped_column(String(16))  # helpful | not_helpful
    reason: Mapped[str | None] = mapped_column(String(16))  # REASONS, from the 👎 modal
    comment: Mapped[str | None] = mapped_column(Text)  # redacted
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class SurveyResponse(Base):
    """One submitted survey (the /rollout feedback modal); `key` makes a retried submission a no-op."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(191), unique=True)
    user_id: Mapped[str] = mapped_column(String(64))
    ease: Mapped[int]
    usefulness: Mapped[int]
    saved_time: Mapped[str] = mapped_column(String(16))  # yes | no | unsure
    team: Mapped[str] = mapped_column(String(64))
    problems: Mapped[str | None] = mapped_column(Text)  # redacted
    comment: Mapped[str | None] = mapped_column(Text)  # redacted
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class SurveySchedule(Base):
    """A pulse survey on a cron schedule: every pilot member is DMed, non-responders reminded once."""

    __tablename__ = "survey_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    cron: Mapped[str] = mapped_column(String(120))
    tz: Mapped[str] = mapped_column(String(64))
    remind_after_days: Mapped[int] = mapped_column(default=3)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | cancelled
    revision: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class FeedbackStore:
    """Ratings, survey responses and survey schedules, one short transaction per call."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def rate(self, conversation_id: int, user_id: str, vote: str, now: datetime) -> tuple[AnswerRating, str]:
        """Set this person's vote on an answer: ("new" | "changed" | "same", the rating). Never two rows."""
        if vote not in VOTES:
            raise ValueError(f"unknown vote {vote!r}")
        values = dict(conversation_id=conversation_id, user_id=user_id, vote=vote, created_at=now, updated_at=now)
        with self._sessions.begin() as session:
            if insert_ignoring(session, AnswerRating.__table__, [values], ["conversation_id", "user_id"]):
                return self._rating(session, conversation_id, user_id), "new"
            changed = session.execute(
                update(AnswerRating).filter_by(conversation_id=conversation_id, user_id=user_id)
                .where(AnswerRating.vote != vote).values(vote=vote, reason=None, comment=None, updated_at=now)
            ).rowcount
            return self._rating(session, conversation_id, user_id), "changed" if changed else "same"

    def explain(self, conversation_id: int, user_id: str, reason: str | None, comment: str | None,
                now: datetime) -> bool:
        """Add the 👎 modal's reason and comment to this person's rating; False if there is no 👎 to explain."""
        statement = (update(AnswerRating).filter_by(conversation_id=conversation_id, user_id=user_id,
                                                    vote="not_helpful")
                     .values(reason=reason, comment=comment, updated_at=now))
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1

    def rating(self, conversation_id: int, user_id: str) -> AnswerRating | None:
        """This person's rating of an answer, if any."""
        with self._sessions() as session:
            return self._rating(session, conversation_id, user_id)

    def ratings(self, since: datetime | None = None) -> list[tuple[AnswerRating, Conversation]]:
        """Every rating with its answer, oldest first."""
        statement = select(AnswerRating, Conversation).join(Conversation,
                                                            Conversation.id == AnswerRating.conversation_id)
        if since is not None:
            statement = statement.where(AnswerRating.updated_at >= since)
        with self._sessions() as session:
            return [(r, c) for r, c in session.execute(statement.order_by(AnswerRating.updated_at, AnswerRating.id))]

    def add_response(self, key: str, values: dict[str, Any], now: datetime) -> bool:
        """Store a survey response once per `key` (a retried submission is a no-op); True if it was new."""
        row = dict(values, key=key, created_at=now)
        with self._sessions.begin() as session:
            return insert_ignoring(session, SurveyResponse.__table__, [row], ["key"]) == 1

    def responses(self, since: datetime | None = None) -> list[SurveyResponse]:
        """Survey responses, oldest first."""
        statement = select(SurveyResponse).order_by(SurveyResponse.created_at, SurveyResponse.id)
        if since is not None:
            statement = statement.where(SurveyResponse.created_at >= since)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def responded_since(self, user_ids: Sequence[str], since: datetime) -> set[str]:
        """Which of these people submitted a survey at or after `since`."""
        statement = select(SurveyResponse.user_id).where(SurveyResponse.user_id.in_(list(user_ids)),
                                                         SurveyResponse.created_at >= since)
        with self._sessions() as session:
            return set(session.scalars(statement))

    def add_schedule(self, cron: str, tz: str, remind_after_days: int, created_by: str | None,
                     now: datetime) -> SurveySchedule:
        """A new active pulse-survey schedule."""
        schedule = SurveySchedule(cron=cron, tz=tz, remind_after_days=remind_after_days, created_by=created_by,
                                  created_at=now, status="active", revision=1)
        with self._sessions.begin() as session:
            session.add(schedule)
        return schedule

    def cancel_schedule(self, schedule_id: int) -> bool:
        """Stop a pulse survey; False if there was no active one with this id."""
        statement = (update(SurveySchedule).filter_by(id=schedule_id, status="active")
                     .values(status="cancelled", revision=SurveySchedule.revision + 1))
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1

    def schedules(self, active_only: bool = True) -> list[SurveySchedule]:
        """Pulse-survey schedules, oldest first."""
        statement = select(SurveySchedule).order_by(SurveySchedule.id)
        if active_only:
            statement = statement.where(SurveySchedule.status == "active")
        with self._sessions() as session:
            return list(session.scalars(statement))

    def get_schedule(self, schedule_id: int) -> SurveySchedule | None:
        with self._sessions() as session:
            return session.get(SurveySchedule, schedule_id)

    @staticmethod
    def _rating(session: Session, conversation_id: int, user_id: str) -> AnswerRating | None:
        statement = select(AnswerRating).filter_by(conversation_id=conversation_id, user_id=user_id)
        return session.scalars(statement).first()
