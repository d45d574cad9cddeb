"""Scheduled runs, their deliveries and the scheduler lease: every state change is one compare-and-set statement,
so two processes can share the work without ever doing the same piece twice. The scheduler engine's run store and
lease store (jobs/runs.py) over our tables."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.comms.tables import Announcement, Delivery, ScheduledRun, SchedulerLease
from jobs.runs import DueRun, Found, Settled

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
OPEN_DELIVERY = ("pending", "sending")
INSERT_BATCH = 500  # rows per INSERT: SQLite allows 32,766 bound parameters in one statement


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

    def record(self, job_id: str, kind: str, ref: str, due: Iterable[DueRun], now: datetime,
               one_off: bool = False) -> int:
        """Record run times once (a second scheduler finding the same ones changes nothing); returns how many new.
        `one_off`: the announcement `ref` fires only this once, so it is finished in the same transaction."""
        return self.record_many([Found(job_id, kind, ref, list(due), one_off)], now)

    def record_many(self, found: Sequence[Found], now: datetime,
                    also: Callable[[Connection], None] | None = None) -> int:
        """Record what a scheduler cycle found due in one transaction, with `also` (its job store changes)."""
        rows = [dict(job_id=f.job_id, kind=f.kind, ref=f.ref, run_time=d.run_time, status=d.status, detail=d.detail,
                     resolved=False, recorded_at=now, finished_at=now if d.status == "missed" else None)
                for f in found for d in f.due]
        finished = [f.ref for f in found if f.one_off and f.kind == "announcement"]  # fired its only time
        with self._sessions.begin() as session:
            added = insert_ignoring(session, ScheduledRun.__table__, rows, ["job_id", "run_time"])
            if finished:
                session.execute(update(Announcement).where(Announcement.id.in_(finished),
                                                           Announcement.status == "scheduled")
                                .values(status="finished", updated_at=now,
                                        schedule_revision=Announcement.schedule_revision + 1))
            if also is not None:
                also(session.connection())
            return added

    def claimable(self, now: datetime, limit: int = 20) -> list[int]:
        """Ids of runs waiting for a process: due by `now`, or running under a lease that has expired (its owner died)."""
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

    def claim_many(self, holder: str, now: datetime, lease: timedelta, limit: int) -> list[ScheduledRun]:
        """Take up to `limit` claimable runs, oldest first, in one transaction; each goes to one process only."""
        candidates = self.claimable(now, limit)
        if not candidates:
            return []
        values = dict(status="running", owner=holder, lease_expires_at=now + lease,
                      started_at=func.coalesce(ScheduledRun.started_at, now))
        statement = update(ScheduledRun).where(ScheduledRun.id.in_(candidates), _claimable(now)).values(**values)
        with self._sessions.begin() as session:
            claimed = list(session.scalars(statement.returning(ScheduledRun.id)))
            runs = session.scalars(select(ScheduledRun).where(ScheduledRun.id.in_(claimed))).all()
        return sorted(runs, key=lambda run: (run.run_time, run.id))

    def renew(self, holder: str, now: datetime, lease: timedelta) -> int:
        """Extend the lease of every run this process is working on; returns how many."""
        statement = update(ScheduledRun).where(ScheduledRun.owner == holder, ScheduledRun.status == "running")
        with self._sessions.begin() as session:
            return session.execute(statement.values(lease_expires_at=now + lease)).rowcount

    def prepare(self, run_id: int, payload: dict[str, Any], recipients: Sequence[tuple[str, str]] | None,
                now: datetime, sending: int = 0) -> tuple[dict[str, Any], set[int]]:
        """Freeze the run's message and (the first time, when given) its recipients, in one transaction. The first
        `sending` recipients are recorded as being sent already (their sender needs no second commit to start).
        Returns the message stored first, so every recipient of a run gets the same one, and those ids."""
        with self._sessions.begin() as session:
            session.execute(update(ScheduledRun).where(ScheduledRun.id == run_id, ScheduledRun.payload.is_(None))
                            .values(payload=payload))
            first = recipients is not None and session.execute(
                update(ScheduledRun).where(ScheduledRun.id == run_id, ScheduledRun.resolved.is_(False))
                .values(resolved=True)).rowcount == 1
            started: set[int] = set()
            if first:
                rows = [dict(run_id=run_id, recipient=r, via=via, status="sending" if n < sending else "pending",
                             attempts=1 if n < sending else 0, updated_at=now)
                        for n, (r, via) in enumerate(recipients)]
                insert_ignoring(session, Delivery.__table__, rows, ["run_id", "recipient"])
                started = set(session.scalars(select(Delivery.id).where(Delivery.run_id == run_id,
                                                                        Delivery.status == "sending")))
            return session.scalar(select(ScheduledRun.payload).where(ScheduledRun.id == run_id)) or payload, started

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

    def start_sending(self, delivery_ids: Sequence[int], now: datetime) -> set[int]:
        """Mark open deliveries as being sent, in one transaction; returns the ids that were still open."""
        if not delivery_ids:
            return set()
        statement = (update(Delivery).where(Delivery.id.in_(list(delivery_ids)), Delivery.status.in_(OPEN_DELIVERY))
                     .values(status="sending", attempts=Delivery.attempts + 1, updated_at=now)
                     .returning(Delivery.id))
        with self._sessions.begin() as session:
            return set(session.scalars(statement))

    def settle(self, outcomes: Sequence[Settled], now: datetime) -> None:
        """Record outcomes in one transaction: "sent" (with where), "failed" (with why), "skipped", back to
        "pending" to retry, or left "sending" when Slack may have it (checked before the next attempt)."""
        if not outcomes:
            return
        rows = [dict(b_id=o.delivery_id, b_status=o.status, b_channel=o.channel, b_ts=o.ts,
                     b_error=o.error[:255] if o.error else None, b_sent_at=now if o.status == "sent" else None,
                     b_now=now) for o in outcomes]
        statement = update(Delivery.__table__).where(Delivery.__table__.c.id == bindparam("b_id")).values(
            status=bindparam("b_status"), channel=bindparam("b_channel"), ts=bindparam("b_ts"),
            error=bindparam("b_error"), sent_at=bindparam("b_sent_at"), updated_at=bindparam("b_now"))
        with self._sessions.begin() as session:
            session.connection().execute(statement, rows)

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
    # A run recorded ahead of its time (a survey's reminder, days after the survey) waits until it is due.
    return or_(and_(ScheduledRun.status == "due", ScheduledRun.run_time <= now),
               and_(ScheduledRun.status == "running", ScheduledRun.lease_expires_at < now))

