"""What the engine needs of a run log and a lease table, and the values it passes them. The engine owns these small
interfaces; the product implements them over its database (bot/store/runs.py: `RunLog`, `Leases`)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class DueRun:
    """A run time the scheduler found due, and what became of it: "due", or "missed" with why."""

    run_time: datetime
    status: str
    detail: str | None = None


@dataclass(frozen=True)
class Found:
    """The run times a scheduler cycle found due for one job."""

    job_id: str
    kind: str
    ref: str
    due: list[DueRun]
    one_off: bool = False  # its trigger fires once: the run log may finish what it schedules in the same transaction


@dataclass(frozen=True)
class Settled:
    """How one delivery ended (or stands) after an attempt."""

    delivery_id: int
    status: str
    channel: str | None = None
    ts: str | None = None
    error: str | None = None


class Run(Protocol):
    """One recorded run of a job, as the engine reads it."""

    id: int
    job_id: str
    kind: str
    ref: str
    run_time: datetime
    resolved: bool  # its recipients are recorded as deliveries


class Delivery(Protocol):
    """One recipient of a run, as the fan-out reads it."""

    id: int
    recipient: str
    status: str  # pending, sending, sent, failed or skipped
    attempts: int
    error: str | None
    updated_at: datetime


class RunStore(Protocol):
    """Runs of scheduled jobs and the delivery key of every recipient: (job, run time, recipient) → outcome. Every
    state change is a compare-and-set, so processes sharing the store never do the same piece of work twice."""

    def record_many(self, found: Sequence[Found], now: datetime,
                    also: Callable[[Any], None] | None = None) -> int:
        """Record a cycle's due run times once, in one transaction with `also` (given the transaction's connection)."""

    def claim_many(self, holder: str, now: datetime, lease: timedelta, limit: int) -> Sequence[Run]:
        """Take up to `limit` runs that are due (or whose lease expired) under a lease, oldest first."""

    def renew(self, holder: str, now: datetime, lease: timedelta) -> int:
        """Extend the lease of every run `holder` is working on."""

    def finish(self, run_id: int, holder: str, status: str, detail: str | None, now: datetime) -> bool:
        """Close a run `holder` holds; False if it no longer does."""

    def release(self, run_id: int, holder: str, now: datetime) -> bool:
        """Leave a run unfinished for another process to claim at once."""

    def open_deliveries(self, run_id: int) -> Sequence[Delivery]:
        """A run's deliveries not yet settled (pending, or sending when their sender stopped)."""

    def start_sending(self, delivery_ids: Sequence[int], now: datetime) -> set[int]:
        """Mark open deliveries as being sent; the ids that were still open."""

    def settle(self, outcomes: Sequence[Settled], now: datetime) -> None:
        """Record deliveries' outcomes in one transaction."""

    def counts(self, run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Delivery counts per run and status."""


class LeaseStore(Protocol):
    """Named leases: at most one live holder each."""

    def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease; True while `holder` has it."""

    def release(self, name: str, holder: str) -> None:
        """Give the lease up."""
