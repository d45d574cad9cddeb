"""The daily clean-up of processed Slack events. Their keys only stop a redelivered event from being answered twice,
and Slack gives up retrying within minutes, so keys older than RETENTION are deleted once a day; without this job the
table would grow forever. It runs through the run log like every scheduled job: once per day, whatever the number of
schedulers."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.comms.job_context import JobContext
from bot.comms.schedules import cron_trigger
from bot.comms.tables import ScheduledRun
from jobs.dispatch import Outcome

JOB_ID, KIND = "processed-events:prune", "processed-events-prune"
CRON, TZ = "30 3 * * *", "UTC"  # daily, at a quiet hour
RETENTION = timedelta(days=7)  # far beyond Slack's retries (three, the last about five minutes after the event)


def desired() -> dict[str, tuple[str, str, int, object]]:
    """The scheduler's job for the daily clean-up: job id → (kind, ref, revision, trigger)."""
    return {JOB_ID: (KIND, "daily", 1, cron_trigger(CRON, TZ))}


def prune_processed_events(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """Delete the keys of events received more than RETENTION before `now`."""
    if ctx.events is None:
        return Outcome("done", "skipped: this scheduler has no event store")
    forgotten = ctx.events.forget_events_before(now - RETENTION)
    return Outcome("done", f"{forgotten} processed events older than {RETENTION.days} days deleted")
