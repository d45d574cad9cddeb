"""Acked work kept durable: a question's dedupe claim is also its work record, leased by one process at a time.

Every take is one conditional UPDATE (`status = 'pending' AND lease ran out`), so on SQLite and PostgreSQL alike two
processes never both hold an item: the database, not a process, decides who took it. Requests arriving together are
recorded together (`GroupCommit`): one writer thread, one transaction per batch, each request waiting for its batch.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import WORK_DONE, WORK_PENDING, ProcessedEvent
from bot.store.repositories import _INSERTS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewWork:
    """Work to record: its key (the dedupe claim), kind, asker, arrival, what it needs, and its first lease (none:
    any process may take it at once)."""

    key: str
    kind: str
    user_id: str | None
    received_at: datetime
    payload: dict[str, Any]
    lease_owner: str | None = None
    lease_until: datetime | None = None


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
        return self.record_many([NewWork(key, kind, user_id, at, payload, owner, lease_until)])[0]

    def record_many(self, items: list[NewWork]) -> list[bool]:
        """Record several pieces of work in one statement; for each, False if its key was claimed before (by an
        earlier item of the same batch too)."""
        first = {item.key: n for n, item in reversed(list(enumerate(items)))}  # a key's first item in the batch
        rows = [_values(items[n]) for n in sorted(first.values())]
        with self._sessions.begin() as session:
            insert = _INSERTS[session.get_bind().dialect.name](ProcessedEvent.__table__)
            statement = insert.values(rows).on_conflict_do_nothing(index_elements=["key"])
            new = set(session.scalars(statement.returning(ProcessedEvent.__table__.c.key)))
        return [item.key in new and first[item.key] == n for n, item in enumerate(items)]

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

    def backlog(self) -> tuple[int, datetime | None]:
        """How many items are pending, and when the oldest arrived (None: nothing pending); for /metrics."""
        statement = select(func.count(ProcessedEvent.key), func.min(ProcessedEvent.received_at)).where(
            ProcessedEvent.status == WORK_PENDING)
        with self._sessions() as session:
            count, oldest = session.execute(statement).one()
        return count, oldest

    def _take(self, key: str, owner: str, now: datetime, lease_until: datetime) -> WorkItem | None:
        statement = (update(ProcessedEvent).where(ProcessedEvent.key == key, _takeable(now))
                     .values(lease_owner=owner, lease_until=lease_until, attempts=ProcessedEvent.attempts + 1))
        with self._sessions.begin() as session:
            if session.execute(statement).rowcount != 1:
                return None  # another process took it between the search and the update
            return _item(session.get_one(ProcessedEvent, key))


class GroupCommit:
    """Records the work of concurrent requests in one transaction per batch, from one writer thread.

    Each caller waits for the commit of its batch, so what it acks is durable; meanwhile the next batch gathers. On
    SQLite, many writers each taking the write lock wait in its busy handler (sleeps of up to 100 ms); on PostgreSQL
    each would hold a pooled connection through its own commit. A batch that fails is retried item by item, so one
    bad item fails only its own request.
    """

    def __init__(self, work: WorkStore, max_batch: int = 256) -> None:
        self._work, self._max_batch = work, max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def record(self, item: NewWork) -> bool:
        """Record `item` with whatever else is waiting; False if its key was claimed before. Raises what the
        database raised: then nothing was recorded."""
        future: Future[bool] = Future()
        self._start()
        self._queue.put((item, future))
        return future.result()

    def close(self) -> None:
        """Record what is queued, then stop the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_batches, name="rollout-record", daemon=True)
                self._thread.start()

    def _write_batches(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:  # closing: write this batch, then stop
                    self._queue.put(None)
                    break
                batch.append(waiting)
            self._write(batch)

    def _write(self, batch: list[tuple[NewWork, Future]]) -> None:
        try:
            recorded = self._work.record_many([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.warning("recording %d requests together failed (%s); recording them one by one", len(batch),
                            type(exc).__name__)
                for one in batch:
                    self._write([one])
                return
            batch[0][1].set_exception(exc)
            return
        for (_, future), new in zip(batch, recorded):
            future.set_result(new)


def _values(item: NewWork) -> dict[str, Any]:
    return {**asdict(item), "status": WORK_PENDING, "attempts": 1 if item.lease_owner else 0}


def _takeable(now: datetime):
    return (ProcessedEvent.status == WORK_PENDING) & or_(ProcessedEvent.lease_until.is_(None),
                                                         ProcessedEvent.lease_until < now)


def _item(row: ProcessedEvent) -> WorkItem:
    return WorkItem(row.key, row.kind, dict(row.payload or {}), row.received_at, row.attempts)
