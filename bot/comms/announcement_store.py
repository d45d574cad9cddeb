"""Announcements and the pilot cohort, one short transaction per call."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.comms.tables import Announcement, AudienceMember, PilotMember
from bot.store.runs import insert_ignoring

SCHEDULE_FIELDS = frozenset({"at", "cron", "tz", "starts_at", "ends_at", "status"})


class AnnouncementStore:
    """What is scheduled to be said, to whom and when; the scheduler follows `schedule_revision`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, announcement: Announcement) -> Announcement:
        """Store a new announcement."""
        with self._sessions.begin() as session:
            session.add(announcement)
        return announcement

    def get(self, announcement_id: str) -> Announcement | None:
        """One announcement, if it exists."""
        with self._sessions() as session:
            return session.get(Announcement, announcement_id)

    def list(self, statuses: Sequence[str] | None = None, plan: str | None = None) -> list[Announcement]:
        """Announcements, oldest first, optionally only some statuses or one plan's."""
        statement = select(Announcement).order_by(Announcement.created_at, Announcement.id)
        if statuses:
            statement = statement.where(Announcement.status.in_(list(statuses)))
        if plan is not None:
            statement = statement.where(Announcement.plan == plan)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def change(self, announcement_id: str, now: datetime, *, when_status: Iterable[str] | None = None,
               **changes: Any) -> Announcement | None:
        """Apply changes, bumping the revisions the scheduler watches; None if missing or not in `when_status`."""
        statement = update(Announcement).where(Announcement.id == announcement_id)
        if when_status is not None:
            statement = statement.where(Announcement.status.in_(list(when_status)))
        values = dict(changes, revision=Announcement.revision + 1, updated_at=now)
        if SCHEDULE_FIELDS & changes.keys():
            values["schedule_revision"] = Announcement.schedule_revision + 1
        with self._sessions.begin() as session:
            if session.execute(statement.values(**values)).rowcount != 1:
                return None
        return self.get(announcement_id)


class PilotCohort:
    """The people in the pilot: who the `pilot` audience reaches."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, user_ids: Iterable[str], added_by: str | None, now: datetime) -> int:
        """Add people (already members are left as they are); returns how many were new."""
        rows = [dict(user_id=u, added_by=added_by, added_at=now) for u in dict.fromkeys(user_ids)]
        with self._sessions.begin() as session:
            return insert_ignoring(session, PilotMember.__table__, rows, ["user_id"])

    def remove(self, user_ids: Iterable[str]) -> int:
        """Take people out of the pilot; returns how many were in it."""
        with self._sessions.begin() as session:
            return session.execute(delete(PilotMember).where(PilotMember.user_id.in_(list(user_ids)))).rowcount

    def members(self) -> list[str]:
        """Everyone in the pilot, in the order they joined."""
        statement = select(PilotMember.user_id).order_by(PilotMember.added_at, PilotMember.user_id)
        with self._sessions() as session:
            return list(session.scalars(statement))


class AudienceMembers:
    """Who `rollout audiences add` put in each document audience: user ids and `@handle`s of Slack user groups."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, audience: str, members: Iterable[str], added_by: str | None, now: datetime) -> int:
        """Add members (those already in are left as they are); returns how many were new."""
        rows = [dict(audience=audience, member=m, added_by=added_by, added_at=now) for m in dict.fromkeys(members)]
        with self._sessions.begin() as session:
            return insert_ignoring(session, AudienceMember.__table__, rows, ["audience", "member"])

    def remove(self, audience: str, members: Iterable[str]) -> int:
        """Take members out of an audience; returns how many were in it."""
        statement = delete(AudienceMember).where(AudienceMember.audience == audience,
                                                 AudienceMember.member.in_(list(members)))
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount

    def all(self) -> dict[str, list[str]]:
        """Every audience's members, audiences by name, members in the order they were added."""
        statement = select(AudienceMember.audience, AudienceMember.member).order_by(
            AudienceMember.audience, AudienceMember.added_at, AudienceMember.member)
        found: dict[str, list[str]] = {}
        with self._sessions() as session:
            for audience, member in session.execute(statement):
                found.setdefault(audience, []).append(member)
        return found
