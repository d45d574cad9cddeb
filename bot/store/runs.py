"""Scheduled runs, their deliveries and the scheduler lease: every state change is one compare-and-set statement,
so two processes can share the work without ever doing the same piece twice."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.store.comms import Delivery, ScheduledRun, SchedulerLease

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
OPEN_DELIVERY = ("pending", "sending")
INSERT_BATCH = 500  # rows per INSERT: SQLite allows 32,766 bound parameters in one statement


@dataclass(frozen=True)
class DueRun:
    """A run time the scheduler found due, and what became of it: "due", or "missed" with why."""

    run_time: datetime
    status: str
    detail: str | None = None


def insert_ignoring(session: Session, table: Table, rows: Sequence[dict[str, Any]], unique: list[str]) -> int:
    """INSERT rows, skipping any whose unique key exists already; returns how many were new."""
    insert = _INSERTS[session.get_bind().dialect.name]
    added = 0
    for start in range(0, len(rows), INSERT_BATCH):
        batch = list(rows[start:start + INSERT_BATCH])
        # Counted from RETURNING: a multi-row INSERT's rowcount is -1 on psycopg.
        statement = insert(table).values(batch).on_conflict_do_nothing(index_elements=unique)
        added += len(session.execute(statement.returning(table.c[unique[0]])).all())
    return added


class RunLog:
    """Runs of scheduled jobs and the delivery key of every recipient: (job, run time, recipient) → outcome."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- runs --------------------------------------------------------------------------------------------------

    def record(self, job_id: str, kind: str, ref: str, due: Iterable[DueRun], now: datetime) -> int:
        """Record run times once (a second scheduler finding the same ones changes nothing); returns how many new."""
        rows = [dict(job_id=job_id, kind=kind, ref=ref, run_time=d.run_time, status=d.status, detail=d.detail,
                     resolved=False, recorded_at=now, finished_at=now if d.status == "missed" else None)
                for d in due]
        with self._sessions.begin() as session:
            return insert_ignoring(session, ScheduledRun.__table__, rows, ["job_id", "run_time"])

    def claimable(self, now: datetime, limit: int = 20) -> list[int]:
        """Ids of runs waiting for a process: due, or running under a lease that has expired (its owner died)."""
        statement = select(ScheduledRun.id).where(_claimable(now)).order_by(ScheduledRun.run_time).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def claim(self, run_id: int, holder: str, now: datetime, lease: timedelta) -> ScheduledRun | None:
        """Take a run under a lease if it is still claimable; None if another process got there first."""
        values = dict(status="running", owner=holder, lease_expires_at=now + lease,
                      started_at=func.coalesce(ScheduledRun.started_at, now))
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(ScheduledRun).where(ScheduledRun.id == run_id, _claimable(now)).values(**values)).rowcount
            return session.get(ScheduledRun, run_id) if claimed == 1 else None

    def renew(self, holder: str, now: datetime, lease: timedelta) -> int:
        """Extend the lease of every run this process is working on; returns how many."""
        statement = update(ScheduledRun).where(ScheduledRun.owner == holder, ScheduledRun.status == "running")
        with self._sessions.begin() as session:
            return session.execute(statement.values(lease_expires_at=now + lease)).rowcount

    def freeze_payload(self, run_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Store the message a run sends unless one is stored already; returns the stored one (first writer wins)."""
        with self._sessions.begin() as session:
            session.execute(update(ScheduledRun).where(ScheduledRun.id == run_id, ScheduledRun.payload.is_(None))
                            .values(payload=payload))
        with self._sessions() as session:
            return session.get_one(ScheduledRun, run_id).payload or payload

    def finish(self, run_id: int, holder: str, status: str, detail: str | None, now: datetime) -> bool:
        """Close a run this process holds; False if it no longer holds it."""
        statement = update(ScheduledRun).where(ScheduledRun.id == run_id, ScheduledRun.owner == holder,
                                               ScheduledRun.status == "running")
        with self._sessions.begin() as session:
            values = dict(status=status, detail=detail, finished_at=now, lease_expires_at=None)
            return session.execute(statement.values(**values)).rowcount == 1

    def release(self, run_id: int, holder: str, now: datetime) -> bool:
        """Leave a run unfinished for another process to claim at once (this one is shutting down)."""
        statement = update(ScheduledRun).where(ScheduledRun.id == run_id, ScheduledRun.owner == holder,
                                               ScheduledRun.status == "running")
        with self._sessions.begin() as session:
            return session.execute(statement.values(lease_expires_at=now)).rowcount == 1

    def runs(self, kind: str | None = None, ref: str | None = None, limit: int | None = None) -> list[ScheduledRun]:
        """Runs, newest first, optionally of one job kind and reference."""
        statement = select(ScheduledRun).order_by(ScheduledRun.run_time.desc(), ScheduledRun.id.desc())
        if kind is not None:
            statement = statement.where(ScheduledRun.kind == kind)
        if ref is not None:
            statement = statement.where(ScheduledRun.ref == ref)
        with self._sessions() as session:
            return list(session.scalars(statement.limit(limit)))

    def get(self, run_id: int) -> ScheduledRun | None:
        """One run."""
        with self._sessions() as session:
            return session.get(ScheduledRun, run_id)

    # -- deliveries --------------------------------------------------------------------------------------------

    def resolve(self, run_id: int, recipients: Sequence[tuple[str, str]], now: datetime) -> bool:
        """Record a run's recipients as pending deliveries, once: the list is frozen for every later resume."""
        with self._sessions.begin() as session:
            first = session.execute(update(ScheduledRun).where(ScheduledRun.id == run_id,
                                                               ScheduledRun.resolved.is_(False))
                                    .values(resolved=True)).rowcount == 1
            if first:
                rows = [dict(run_id=run_id, recipient=r, via=via, status="pending", attempts=0, updated_at=now)
                        for r, via in recipients]
                insert_ignoring(session, Delivery.__table__, rows, ["run_id", "recipient"])
            return first

    def open_deliveries(self, run_id: int) -> list[Delivery]:
        """A run's deliveries not yet settled: pending, or sending when the process sending them stopped."""
        statement = select(Delivery).where(Delivery.run_id == run_id, Delivery.status.in_(OPEN_DELIVERY))
        with self._sessions() as session:
            return list(session.scalars(statement.order_by(Delivery.id)))

    def deliveries(self, run_ids: Sequence[int]) -> list[Delivery]:
        """Every delivery of these runs."""
        with self._sessions() as session:
            statement = select(Delivery).where(Delivery.run_id.in_(list(run_ids)))
            return list(session.scalars(statement.order_by(Delivery.run_id, Delivery.id)))

    def start_sending(self, delivery_id: int, now: datetime, from_status: str = "pending") -> bool:
        """Mark a delivery as being sent, if it is still in `from_status`: only one sender ever gets True."""
        statement = update(Delivery).where(Delivery.id == delivery_id, Delivery.status == from_status)
        with self._sessions.begin() as session:
            values = dict(status="sending", attempts=Delivery.attempts + 1, updated_at=now)
            return session.execute(statement.values(**values)).rowcount == 1

    def settle(self, delivery_id: int, status: str, now: datetime, *, channel: str | None = None,
               ts: str | None = None, error: str | None = None) -> None:
        """Record a delivery's outcome: "sent" (with where), "failed" (with why) or back to "pending" to retry."""
        values: dict[str, Any] = dict(status=status, updated_at=now, error=error[:255] if error else None)
        if status == "sent":
            values.update(channel=channel, ts=ts, sent_at=now)
        with self._sessions.begin() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))

    def counts(self, run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Delivery counts per run and status."""
        statement = (select(Delivery.run_id, Delivery.status, func.count()).where(Delivery.run_id.in_(list(run_ids)))
                     .group_by(Delivery.run_id, Delivery.status))
        counts: dict[int, dict[str, int]] = {}
        with self._sessions() as session:
            for run_id, status, count in session.execute(statement):
                counts.setdefault(run_id, {})[status] = count
        return counts


class Leases:
    """Named leases in the database: at most one live holder each."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease; True while this holder has it."""
        with self._sessions.begin() as session:
            row = dict(name=name, holder=holder, expires_at=now + ttl)
            if insert_ignoring(session, SchedulerLease.__table__, [row], ["name"]):
                return True
            taken = update(SchedulerLease).where(
                SchedulerLease.name == name,
                or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
            ).values(holder=holder, expires_at=now + ttl)
            return session.execute(taken).rowcount == 1

    def release(self, name: str, holder: str) -> None:
        """Give the lease up (on shutdown), so another process need not wait for it to expire."""
        with self._sessions.begin() as session:
            session.execute(delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder))

    def holder(self, name: str, now: datetime) -> str | None:
        """Who holds the lease now, if anyone."""
        with self._sessions() as session:
            lease = session.get(SchedulerLease, name)
            return lease.holder if lease is not None and lease.expires_at >= now else None


def _claimable(now: datetime):
    return or_(ScheduledRun.status == "due",
               and_(ScheduledRun.status == "running", ScheduledRun.lease_expires_at < now))

