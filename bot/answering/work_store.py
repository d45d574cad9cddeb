"""Acked work kept durable: a question's dedupe claim is also its work record, leased by one process at a time.

Every take is one conditional UPDATE (`status = 'pending' AND lease ran out`), so on SQLite and PostgreSQL alike two
processes never both hold an item: the database, not a process, decides who took it.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import WORK_DONE, WORK_PENDING, ProcessedEvent
from bot.store.repositories import _insert_new


@dataclass(frozen=True)
class WorkItem:
    """A piece of acked work: its key (the dedupe key), kind, what it needs, when it arrived, how often tried."""

    key: str
    kind: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


class WorkStore:
    """Record, lease, renew, release and finish acked work; safe to share between threads and processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(self, key: str, kind: str, user_id: str | None, at: datetime, payload: dict[str, Any],
               owner: str | None, lease_until: datetime | None) -> bool:
        """Claim `key` and record its work in one insert; False if the key was claimed before (a redelivery).

        With an `owner` the work is leased to it until `lease_until`; without, any process may take it at once.
        """
        values = {"key": key, "kind": kind, "received_at": at, "user_id": user_id, "status": WORK_PENDING,
                  "payload": payload, "lease_owner": owner, "lease_until": lease_until,
                  "attempts": 1 if owner else 0}
        with self._sessions.begin() as session:
            return _insert_new(session, ProcessedEvent.__table__, values, ["key"]) is not None

    def take_expired(self, owner: str, now: datetime, lease_until: datetime, limit: int) -> list[WorkItem]:
        """Lease to `owner` up to `limit` pending items, oldest first, that nobody holds (their lease ran out)."""
        if limit <= 0:
            return []
        candidates = (select(ProcessedEvent.key).where(_takeable(now))
                      .order_by(ProcessedEvent.received_at, ProcessedEvent.key).limit(limit))
        with self._sessions() as session:
            keys = list(session.scalars(candidates))
        return [item for key in keys if (item := self._take(key, owner, now, lease_until)) is not None]

    def renew(self, owner: str, keys: Collection[str], lease_until: datetime) -> int:
        """Extend `owner`'s lease on the pending items `keys` it still holds; how many were extended."""
        if not keys:
            return 0
        statement = (update(ProcessedEvent)
                     .where(ProcessedEvent.key.in_(list(keys)), ProcessedEvent.lease_owner == owner,
                            ProcessedEvent.status == WORK_PENDING)
                     .values(lease_until=lease_until))
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount

    def release(self, owner: str, keys: Collection[str], until: datetime | None = None) -> int:
        """Hand back `owner`'s pending items `keys`: takeable by any process at `until` (None: at once)."""
        if not keys:
            return 0
        statement = (update(ProcessedEvent)
                     .where(ProcessedEvent.key.in_(list(keys)), ProcessedEvent.lease_owner == owner,
                            ProcessedEvent.status == WORK_PENDING)
                     .values(lease_owner=None if until is None else owner, lease_until=until))
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount

    def finish(self, key: str, status: str = WORK_DONE) -> bool:
        """Mark pending work done (or abandoned) and forget what it needed; False if it was not pending."""
        statement = (update(ProcessedEvent)
                     .where(ProcessedEvent.key == key, ProcessedEvent.status == WORK_PENDING)
                     .values(status=status, payload=None, lease_owner=None, lease_until=None))
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1

    def pending(self) -> list[WorkItem]:
        """Every pending item, oldest first (for operators and tests)."""
        statement = (select(ProcessedEvent).where(ProcessedEvent.status == WORK_PENDING)
                     .order_by(ProcessedEvent.received_at, ProcessedEvent.key))
        with self._sessions() as session:
            return [_item(row) for row in session.scalars(statement)]

    def _take(self, key: str, owner: str, now: datetime, lease_until: datetime) -> WorkItem | None:
        statement = (update(ProcessedEvent).where(ProcessedEvent.key == key, _takeable(now))
                     .values(lease_owner=owner, lease_until=lease_until, attempts=ProcessedEvent.attempts + 1))
        with self._sessions.begin() as session:
            if session.execute(statement).rowcount != 1:
                return None  # another process took it between the search and the update
            return _item(session.get_one(ProcessedEvent, key))


def _takeable(now: datetime):
    return (ProcessedEvent.status == WORK_PENDING) & or_(ProcessedEvent.lease_until.is_(None),
                                                         ProcessedEvent.lease_until < now)


def _item(row: ProcessedEvent) -> WorkItem:
    return WorkItem(row.key, row.kind, dict(row.payload or {}), row.received_at, row.attempts)
