"""The only module that knows triggers: one-off times, cron expressions, time zones, DST and misfires, as plain
functions of `now`. The scheduler process (jobs/scheduler.py) builds its APScheduler jobs from these. A schedule
that cannot run is a ScheduleError whose message says what to write instead (bot/comms/schedules.py shows it to
people as a BadSchedule)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from jobs.runs import DueRun


class ScheduleError(Exception):
    """A time, cron expression or time zone that cannot be scheduled; the message says what to write instead."""


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
    """The time zone called `name`; ScheduleError if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"unknown time zone '{name}': use an Area/City name such as Europe/London or "
                            f"America/Chicago") from None


def parse_at(text: str, tz: str, now: datetime) -> datetime:
    """An ISO 8601 time (local to `tz` unless it has an offset) in UTC; ScheduleError if malformed or past."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(f"'{text}' is not an ISO 8601 time: write e.g. 2027-01-18T09:00 or "
                            f"2027-01-18T09:00+00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise ScheduleError(f"{text} is in the past (it is now {now.astimezone(zone(tz)):%Y-%m-%d %H:%M %Z}): "
                            f"choose a later time")
    return moment


def cron_trigger(expression: str, tz: str, starts_at: datetime | None = None,
                 ends_at: datetime | None = None) -> WallClockCronTrigger:
    """A trigger for a five-field cron expression ("m h dom mon dow") in `tz`; ScheduleError if invalid.

    As in APScheduler, day-of-month and day-of-week must both match: "0 9 1-7 * mon" is the first Monday."""
    fields = (expression or "").split()
    if len(fields) != 5:
        raise ScheduleError(f"'{expression}' is not a cron expression: it needs five fields, "
                            f"\"minute hour day-of-month month day-of-week\", e.g. \"0 9 * * mon\"")
    try:
        minute, hour, day, month, day_of_week = fields
        return WallClockCronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                                    timezone=zone(tz), start_date=starts_at, end_date=ends_at)
    except ValueError as exc:
        raise ScheduleError(f"'{expression}' is not a valid cron expression: {exc}") from None


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
    """ScheduleError unless exactly one of `at`/`cron` is given and it will run at least once after `now`."""
    if (at is None) == (cron is None):
        raise ScheduleError("give either a one-off time (--at) or a recurrence (--cron), not both or neither")
    if cron is not None and not next_runs(cron_trigger(cron, tz, ends_at=ends_at), now, 1):
        raise ScheduleError(f"'{cron}' never runs (after {now:%Y-%m-%d}): check the day and month fields")


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


def is_one_off(trigger) -> bool:
    """Whether a trigger fires only once."""
    return isinstance(trigger, DateTrigger)


def describe(at: datetime | None, cron: str | None, tz: str) -> str:
    """A schedule in words, e.g. "once at 2027-01-18 09:00 GMT" or "cron '0 9 * * mon' (Europe/London)"."""
    if at is not None:
        return f"once at {at.astimezone(zone(tz)):%Y-%m-%d %H:%M %Z}"
    return f"cron '{cron}' ({tz})"


def _wall(moment: datetime, tz) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)
