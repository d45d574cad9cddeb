"""The only module that knows triggers: parsing times, cron expressions and time zones, and the scheduler process.

How the pieces fit:
- Announcements and campaigns live in our tables; any process (the CLI, Slack) writes them.
- One scheduler process at a time holds the `scheduler` lease. It mirrors those tables into APScheduler's
  SQLAlchemyJobStore every `poll` seconds (so edits from other processes take effect within a poll), and APScheduler
  keeps each job's next run time there, so runs missed during downtime are found after a restart.
- When a job is due, APScheduler hands it to `RunRecorder`, which records the run in `scheduled_runs` — durably,
  before APScheduler moves the job's next run time on — as "due", or "missed" beyond the grace period.
- Every scheduler process runs a `Dispatcher` that claims due runs under a lease and sends them (jobs/dispatch.py).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.comms_errors import BadSchedule
from bot.store.runs import DueRun, Leases
from jobs import acknowledgements, announcements
from jobs.dispatch import Dispatcher, JobContext, JobKind

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
KINDS: dict[str, JobKind] = {
    "announcement": announcements.send_announcement,
    "ack-request": acknowledgements.send_requests,
    "ack-reminder": acknowledgements.send_reminders,
}
RECORD_ATTEMPTS = 3


# -- triggers --------------------------------------------------------------------------------------------------


class WallClockCronTrigger(CronTrigger):
    """Cron in local wall-clock time, as cron does it: when clocks go back, a time that occurs twice fires once."""

    def get_next_fire_time(self, previous_fire_time, now):
        fire = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and previous_fire_time is not None and _wall(fire, self.timezone) == \
                _wall(previous_fire_time, self.timezone):
            previous_fire_time = fire
            fire = super().get_next_fire_time(fire, fire)
        return fire


def zone(name: str) -> ZoneInfo:
    """The time zone called `name`; BadSchedule if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise BadSchedule(f"unknown time zone '{name}': use an Area/City name such as Europe/London or "
                          f"America/Chicago") from None


def parse_at(text: str, tz: str, now: datetime) -> datetime:
    """An ISO 8601 time (local to `tz` unless it has an offset) in UTC; BadSchedule if malformed or past."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadSchedule(f"'{text}' is not an ISO 8601 time: write e.g. 2027-01-18T09:00 or "
                          f"2027-01-18T09:00+00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise BadSchedule(f"{text} is in the past (it is now {now.astimezone(zone(tz)):%Y-%m-%d %H:%M %Z}): "
                          f"choose a later time")
    return moment


def cron_trigger(expression: str, tz: str, starts_at: datetime | None = None,
                 ends_at: datetime | None = None) -> WallClockCronTrigger:
    """A trigger for a five-field cron expression ("m h dom mon dow") in `tz`; BadSchedule if invalid.

    As in APScheduler, day-of-month and day-of-week must both match: "0 9 1-7 * mon" is the first Monday."""
    fields = (expression or "").split()
    if len(fields) != 5:
        raise BadSchedule(f"'{expression}' is not a cron expression: it needs five fields, "
                          f"\"minute hour day-of-month month day-of-week\", e.g. \"0 9 * * mon\"")
    try:
        minute, hour, day, month, day_of_week = fields
        return WallClockCronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                                    timezone=zone(tz), start_date=starts_at, end_date=ends_at)
    except ValueError as exc:
        raise BadSchedule(f"'{expression}' is not a valid cron expression: {exc}") from None


def trigger_for(at: datetime | None, cron: str | None, tz: str, starts_at: datetime | None = None,
                ends_at: datetime | None = None):
    """The trigger for a one-off time or a cron schedule."""
    if at is not None:
        return DateTrigger(run_date=at, timezone=zone(tz))
    return cron_trigger(cron or "", tz, starts_at, ends_at)


def next_runs(trigger, now: datetime, count: int = 5) -> list[datetime]:
    """The next `count` run times of a trigger from `now` (fewer if it ends)."""
    times, previous = [], None
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now if previous is None else previous)
        if fire is None or (previous is not None and fire <= previous):
            break
        times.append(fire)
        previous = fire
    return times


def check_schedule(at: datetime | None, cron: str | None, tz: str, now: datetime,
                   ends_at: datetime | None = None) -> None:
    """BadSchedule unless exactly one of `at`/`cron` is given and it will run at least once after `now`."""
    if (at is None) == (cron is None):
        raise BadSchedule("give either a one-off time (--at) or a recurrence (--cron), not both or neither")
    if cron is not None and not next_runs(cron_trigger(cron, tz, ends_at=ends_at), now, 1):
        raise BadSchedule(f"'{cron}' never runs (after {now:%Y-%m-%d}): check the day and month fields")


def classify_due(run_times: Sequence[datetime], now: datetime, grace: timedelta) -> list[DueRun]:
    """What to do with run times found due: the newest is sent if within `grace`, every other one is missed."""
    result = []
    for index, run_time in enumerate(sorted(run_times)):
        late = now - run_time
        if index < len(run_times) - 1:
            result.append(DueRun(run_time, "missed", "superseded by a later run after downtime"))
        elif late > grace:
            result.append(DueRun(run_time, "missed", f"found {int(late.total_seconds())} s late, beyond the "
                                                     f"{int(grace.total_seconds())} s grace period"))
        else:
            result.append(DueRun(run_time, "due"))
    return result


def describe(at: datetime | None, cron: str | None, tz: str) -> str:
    """A schedule in words, e.g. "once at 2027-01-18 09:00 GMT" or "cron '0 9 * * mon' (Europe/London)"."""
    if at is not None:
        return f"once at {at.astimezone(zone(tz)):%Y-%m-%d %H:%M %Z}"
    return f"cron '{cron}' ({tz})"


def _wall(moment: datetime, tz) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


# -- the scheduler process ---------------------------------------------------------------------------------------


def fire(kind: str, ref: str, revision: int) -> None:
    """The function APScheduler stores with every job. `RunRecorder` records the run instead of calling it."""
    raise RuntimeError("Rollout jobs run through RunRecorder and the dispatcher, not APScheduler's executors")


class RunRecorder(BaseExecutor):
    """An APScheduler executor that records due run times (synchronously, before APScheduler moves the job on)."""

    def __init__(self, on_due: Callable[[object, list[datetime]], None]):
        super().__init__()
        self.on_due = on_due

    def submit_job(self, job, run_times) -> None:
        self.on_due(job, run_times)

    def _do_submit_job(self, job, run_times) -> None:
        self.on_due(job, run_times)


class LeaseScheduler(BackgroundScheduler):
    """APScheduler's BackgroundScheduler that processes jobs only while running. (3.11 runs one more round after
    `shutdown()`, even when paused: a standby that does not hold the lease would consume due runs.)"""

    def _process_jobs(self):
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()


class Scheduler:
    """APScheduler (while this process holds the lease), mirroring our tables; plus the run dispatcher."""

    def __init__(self, engine: Engine, ctx: JobContext, leases: Leases, poll: float = 1.0, run_workers: int = 4):
        self.ctx, self.leases, self.poll = ctx, leases, poll
        self.aps = LeaseScheduler(
            timezone=UTC, jobstores={"default": SQLAlchemyJobStore(engine=engine)},
            executors={"default": RunRecorder(self._record_due)},
            job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 1})
        self.dispatcher = Dispatcher(ctx, KINDS, workers=run_workers, poll=poll)
        self.leader = False
        self._known: dict[str, int] = {}
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
        """Add, reschedule and remove APScheduler jobs so they match the announcements and campaigns."""
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
        desired = {}
        for announcement in self.ctx.announcements.list(["scheduled"]):
            if announcement.ends_at is not None and announcement.ends_at <= now:
                continue
            trigger = trigger_for(announcement.at, announcement.cron, announcement.tz, announcement.starts_at,
                                  announcement.ends_at)
            desired[f"announcement:{announcement.id}"] = ("announcement", announcement.id,
                                                          announcement.schedule_revision, trigger)
        for campaign in self.ctx.acks.list(["active"]):
            if campaign.remind_cron and campaign.deadline > now:
                trigger = cron_trigger(campaign.remind_cron, campaign.tz, ends_at=campaign.deadline)
                desired[f"ack-reminder:{campaign.id}"] = ("ack-reminder", str(campaign.id), 1, trigger)
        return desired

    def _record_due(self, job, run_times: list[datetime]) -> None:
        now = self.ctx.clock()
        kind, ref = job.kwargs["kind"], job.kwargs["ref"]
        due = classify_due(run_times, now, self.ctx.grace)
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                self.ctx.runs.record(job.id, kind, ref, due, now)
                break
            except SQLAlchemyError:
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("could not record the run of %s; retrying", job.id, exc_info=True)
                time.sleep(0.5 * attempt)
        if kind == "announcement" and isinstance(job.trigger, DateTrigger):
            self.ctx.announcements.finish_one_off(ref, now)
        for run in due:
            if run.status == "missed":
                self.ctx.report(f"{job.id}: the run due {run.run_time.isoformat()} was missed ({run.detail})")
        self.dispatcher.wake()

    def _coordinate(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again in %.1f s", self.poll)
