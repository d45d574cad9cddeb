"""The daily clean-up of processed Slack events on the shared scheduler: the job function driven with a fixed `now`
over the real database (SQLite and PostgreSQL), run once per day however many schedulers find it due."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import features
from bot.answering import processed_events_job as processed_events
from bot.store import ProcessedEvent, session_factory
from bot.store.repositories import Store
from bot.store.runs import Leases
from jobs.dispatch import Dispatcher
from jobs.runs import DueRun
from jobs.schedule import next_runs
from jobs.scheduler import Scheduler
from tests.comms.conftest import clock, engine, job_context, slack  # noqa: F401  (fixtures)

NOW = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)


def setup(engine, slack, clock, holder="scheduler-a"):
    sessions = session_factory(engine)
    with sessions.begin() as session:  # received at known times: claim_event stamps the real clock
        for key, days_ago in [("old", 8), ("just-old", 7.01), ("recent", 6.99), ("today", 0)]:
            session.add(ProcessedEvent(key=key, kind="event", received_at=NOW - timedelta(days=days_ago)))
    return job_context(engine, slack, clock, events=Store(sessions), holder=holder)


def remaining(ctx) -> list[str]:
    """Keys still remembered: their redelivery is still ignored."""
    return sorted(key for key in ["old", "just-old", "recent", "today"] if not ctx.events.claim_event(key, "event"))


def test_keys_older_than_the_retention_are_deleted_and_newer_ones_kept(engine, slack, clock) -> None:
    ctx = setup(engine, slack, clock)
    ctx.runs.record(processed_events.JOB_ID, processed_events.KIND, "daily", [DueRun(NOW, "due")], NOW)
    [run] = ctx.runs.claim_many("scheduler-a", NOW, ctx.lease, 5)

    outcome = processed_events.prune_processed_events(ctx, run, NOW)

    assert (outcome.status, outcome.detail) == ("done", "2 processed events older than 7 days deleted")
    assert remaining(ctx) == ["recent", "today"]


def test_the_daily_run_is_done_once_despite_two_schedulers(engine, slack, clock) -> None:
    ctx = setup(engine, slack, clock)
    other = job_context(engine, slack, clock, events=ctx.events, holder="scheduler-b")
    clock.now = NOW
    record = lambda c: c.runs.record(processed_events.JOB_ID, processed_events.KIND, "daily",  # noqa: E731
                                     [DueRun(NOW, "due")], NOW)
    assert (record(ctx), record(other)) == (1, 0)  # the second scheduler finds the same run time: nothing new

    assert Dispatcher(ctx, features.job_kinds()).run_once() is True
    assert Dispatcher(other, features.job_kinds()).run_once() is False

    [run] = ctx.runs.runs(kind=processed_events.KIND)
    assert (run.status, run.detail) == ("done", "2 processed events older than 7 days deleted")
    assert remaining(ctx) == ["recent", "today"]


def test_the_schedule_holds_the_daily_clean_up(engine, slack, clock) -> None:
    ctx = setup(engine, slack, clock)
    scheduler = Scheduler(engine, ctx, Leases(session_factory(engine)), features.job_kinds(), features.schedules)
    desired = scheduler._desired(clock())
    kind, ref, _, trigger = desired[processed_events.JOB_ID]
    assert (kind, ref) == (processed_events.KIND, "daily") and kind in features.job_kinds()
    assert next_runs(trigger, clock(), 2) == [datetime(2026, 12, 2, 3, 30, tzinfo=UTC),
                                              datetime(2026, 12, 3, 3, 30, tzinfo=UTC)]
    assert processed_events.RETENTION >= timedelta(days=1)  # Slack stops retrying within minutes
