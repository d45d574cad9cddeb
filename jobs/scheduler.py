"""The scheduler process: APScheduler with its SQLAlchemyJobStore on our database, under a lease, plus the run
dispatcher.

- Announcements and campaigns live in our tables; any process (the CLI, Slack) writes them. The process holding the
  `scheduler` lease mirrors them into APScheduler's job store every `poll` seconds, so a job added, edited or
  cancelled elsewhere takes effect within a poll. APScheduler keeps each job's next run time in the job store, so
  runs missed during downtime are found after a restart.
- Each APScheduler cycle's due run times are recorded in `scheduled_runs` ("due", or "missed" beyond the grace
  period) in ONE transaction together with the job store changes that move those jobs on: a run is never both
  skipped by the job store and unrecorded, and a hundred jobs due at once cost one commit, not two hundred.
- Every scheduler process runs a `Dispatcher` (jobs/dispatch.py) that claims recorded runs under a lease.
"""
from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import Connection, Engine

from jobs.dispatch import Dispatcher, JobKind, RunContext, RunMetrics
from jobs.runs import Found, LeaseStore
from jobs.schedule import classify_due, is_one_off

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
RETRY_SECONDS = 2.0  # after a cycle could not be recorded (the database was unreachable)
# What the features want scheduled now: job id -> (kind, ref, revision, trigger); bot/features.py gathers them.
Schedules = Callable[[RunContext, datetime], dict[str, tuple[str, str, int, object]]]


def fire(kind: str, ref: str, revision: int) -> None:
    """The function APScheduler stores with every job. `RunRecorder` records the run instead of calling it."""
    raise RuntimeError("Rollout jobs run through RunRecorder and the dispatcher, not APScheduler's executors")


class RunRecorder(BaseExecutor):
    """An APScheduler executor that notes each due job's run times for the cycle's transaction."""

    def __init__(self, on_due):
        super().__init__()
        self.on_due = on_due

    def submit_job(self, job, run_times) -> None:
        self.on_due(job, run_times)

    def _do_submit_job(self, job, run_times) -> None:
        self.on_due(job, run_times)


class CycleJobStore(SQLAlchemyJobStore):
    """SQLAlchemyJobStore that, during a cycle, holds its updates and removals for the cycle's transaction."""

    def __init__(self, engine: Engine):
        super().__init__(engine=engine)
        self._held: list[tuple[str, object]] | None = None

    def hold(self) -> None:
        self._held = []

    def release(self) -> list[tuple[str, object]]:
        held, self._held = self._held or [], None
        return held

    def update_job(self, job) -> None:
        if self._held is None:
            return super().update_job(job)
        self._held.append(("update", job))

    def remove_job(self, job_id) -> None:
        if self._held is None:
            return super().remove_job(job_id)
        self._held.append(("remove", job_id))

    def apply(self, connection: Connection, held: list[tuple[str, object]]) -> None:
        """Write held changes as SQLAlchemyJobStore would, on the caller's connection."""
        for change, item in held:
            if change == "update":
                state = pickle.dumps(item.__getstate__(), self.pickle_protocol)
                connection.execute(self.jobs_t.update().where(self.jobs_t.c.id == item.id).values(
                    next_run_time=datetime_to_utc_timestamp(item.next_run_time), job_state=state))
            else:
                connection.execute(self.jobs_t.delete().where(self.jobs_t.c.id == item))


class LeaseScheduler(BackgroundScheduler):
    """BackgroundScheduler whose cycles end in one transaction (`on_cycle`), and that processes jobs only while
    running (3.11 runs one more cycle after `shutdown()`, even when paused: a standby would consume due runs)."""

    def __init__(self, store: CycleJobStore, on_cycle, **options):
        super().__init__(**options)
        self.store, self.on_cycle = store, on_cycle

    def _process_jobs(self):
        if self.state != STATE_RUNNING:
            return None
        with self._jobstores_lock:  # re-entrant: APScheduler takes it again inside
            self.store.hold()
            try:
                wait = super()._process_jobs()
            except BaseException:
                self.store.release()
                raise
            try:
                self.on_cycle(self.store.release())
            except Exception:  # nothing was written: the same jobs are due again next cycle
                log.exception("could not record due runs; trying again in %.0f s", RETRY_SECONDS)
                return RETRY_SECONDS
        return wait


class Scheduler:
    """APScheduler (while this process holds the lease), mirroring our tables; plus the run dispatcher."""

    def __init__(self, engine: Engine, ctx: RunContext, leases: LeaseStore, kinds: Mapping[str, JobKind],
                 schedules: Schedules, poll: float = 1.0, run_workers: int = 4, metrics: RunMetrics | None = None):
        self.ctx, self.leases, self.poll, self.schedules = ctx, leases, poll, schedules
        self.metrics = metrics or RunMetrics()
        self.store = CycleJobStore(engine)
        self.aps = LeaseScheduler(
            self.store, self._record_cycle, timezone=UTC, jobstores={"default": self.store},
            executors={"default": RunRecorder(self._note_due)},
            job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 1})
        self.dispatcher = Dispatcher(ctx, kinds, workers=run_workers, poll=poll, metrics=self.metrics)
        self.leader = False
        self._known: dict[str, int] = {}
        self._found: list[Found] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._coordinate, name="rollout-scheduler", daemon=True)

    def start(self) -> Scheduler:
        """Start: APScheduler paused until this process holds the lease; the dispatcher at once."""
        self.aps.start(paused=True)
        self.dispatcher.start()
        self.tick()
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop, and give the lease up so another scheduler can take over at once."""
        self._stop.set()
        self._thread.join(10)
        self.aps.shutdown(wait=False)
        self.dispatcher.stop()
        if self.leader:
            self.leases.release(LEASE_NAME, self.ctx.holder)
            self.leader = False

    def tick(self) -> None:
        """Renew (or try to take) the lease; while holding it, make APScheduler's jobs match our tables."""
        now = self.ctx.clock()
        leader = self.leases.acquire(LEASE_NAME, self.ctx.holder, now, self.ctx.lease)
        if leader and not self.leader:
            log.info("scheduler %s: holding the lease, running triggers", self.ctx.holder)
            self._known = {job.id: job.kwargs.get("revision", 0) for job in self.aps.get_jobs()}
            self.aps.resume()
        elif self.leader and not leader:
            log.warning("scheduler %s: lost the lease, pausing triggers", self.ctx.holder)
            self.aps.pause()
        self.leader = leader
        if leader:
            self.sync(now)

    def sync(self, now: datetime) -> None:
        """Add, reschedule and remove APScheduler jobs so they match what the features schedule now."""
        desired = self._desired(now)
        for job_id, (kind, ref, revision, trigger) in desired.items():
            if self._known.get(job_id) != revision:
                self.aps.add_job(fire, trigger=trigger, id=job_id, name=job_id, replace_existing=True,
                                 kwargs=dict(kind=kind, ref=ref, revision=revision))
                self._known[job_id] = revision
        for job_id in set(self._known) - set(desired):
            try:
                self.aps.remove_job(job_id)
            except JobLookupError:
                pass  # a one-off APScheduler already removed after it fired
            del self._known[job_id]

    def _desired(self, now: datetime) -> dict[str, tuple[str, str, int, object]]:
        return self.schedules(self.ctx, now)

    def _note_due(self, job, run_times: list[datetime]) -> None:
        kind, ref = job.kwargs["kind"], job.kwargs["ref"]
        self._found.append(Found(job.id, kind, ref, classify_due(run_times, self.ctx.clock(), self.ctx.grace),
                                 is_one_off(job.trigger)))

    def _record_cycle(self, held: list) -> None:
        found, self._found = self._found, []
        if not found and not held:
            return
        try:
            self.ctx.runs.record_many(found, self.ctx.clock(), also=lambda c: self.store.apply(c, held))
        except Exception:
            self._found = []
            raise
        for item in found:
            for run in item.due:
                if run.status == "missed":
                    self.metrics.ended(item.kind, "missed")
                    self.ctx.report(f"{item.job_id}: the run due {run.run_time.isoformat()} was missed ({run.detail})")
        self.dispatcher.wake()

    def _coordinate(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again in %.1f s", self.poll)
