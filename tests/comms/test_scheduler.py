"""The real scheduler (APScheduler + SQLAlchemyJobStore, the dispatcher, the fan-out) against a real database and
the fake Slack: on time, once, through 429s, misfires after downtime, and resuming a half-sent run."""
from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.comms.scheduling import open_comms, start_scheduler
from bot.features import job_kinds
from jobs.delivery import delivery_marker, marked
from jobs.dispatch import Dispatcher
from jobs.runs import DueRun, Settled
from tests.comms.conftest import StrictSlack, job_context, settings_for, wait_until

KINDS = job_kinds()


def soon(seconds: float) -> tuple[str, datetime]:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.isoformat(), moment


@pytest.fixture
def settings(db_url: str, slack: StrictSlack, tmp_path: Path):
    return settings_for(db_url, slack, tmp_path)


def test_a_one_off_is_delivered_on_time_once_to_every_recipient(settings, slack: StrictSlack) -> None:
    handle = start_scheduler(settings)
    comms = open_comms(settings)
    try:
        at, due = soon(1.5)
        announcement = comms.announcements.schedule(text="Pilot starts", at=at, targets=["pilot-team", "C0GENERAL"])
        [run] = wait_until(lambda: [r for r in comms.announcements.history(announcement.id) if r.run.status == "done"])
        assert run.run.detail == "3 sent, 0 failed"  # the run is over: every message it sends has been sent
        posts = slack.posts()
        assert sorted(slack.posted_to()) == ["C0GENERAL", "U0ALICE", "U0BOB"]
        lateness = [p.time - due.timestamp() for p in posts]
        assert all(0 <= late < 1.0 for late in lateness), lateness
        assert sorted((d.recipient, d.status, d.via) for d in run.deliveries) == [
            ("C0GENERAL", "sent", "C0GENERAL"), ("U0ALICE", "sent", "pilot-team"), ("U0BOB", "sent", "pilot-team")]
        assert comms.announcements.get(announcement.id).status == "finished"
    finally:
        handle.shutdown()
        comms.close()


def test_rate_limits_are_absorbed_and_every_message_goes_once(settings, slack: StrictSlack) -> None:
    slack.fail_next("chat.postMessage", times=3, status=429, retry_after=1)
    handle = start_scheduler(settings)
    comms = open_comms(settings)
    try:
        hello = comms.announcements.schedule(text="Hello", at=soon(0.5)[0], targets=["engineering", "pilot-team"])
        wait_until(lambda: [r.status for r in comms.runs.runs("announcement", hello.id)] == ["done"], timeout=15)
        assert Counter(slack.posted_to()) == {"U0ALICE": 1, "U0BOB": 1, "U0CAROL": 1, "U0DAN": 1}
        assert [c.status for c in slack.posts(ok_only=False)].count(429) == 3
        assert handle.scheduler.ctx.sender.rate_limits.throttled == 3
    finally:
        handle.shutdown()
        comms.close()


def test_runs_missed_during_downtime_are_sent_within_grace_or_recorded_as_missed(settings, slack: StrictSlack,
                                                                                 caplog) -> None:
    first = start_scheduler(settings)
    comms = open_comms(settings)
    try:
        # Two announcements go into APScheduler's job store, then the scheduler stops before they are due.
        quick = comms.announcements.schedule(text="one-off", at=soon(1.0)[0], targets=["C0GENERAL"])
        # Daily at the hour half a day from now: no run of it falls due while the test runs, whatever the time.
        now = datetime.now(UTC)
        hour = (now.hour + 12) % 24
        daily = comms.announcements.schedule(text="daily", cron=f"0 {hour} * * *", tz="UTC", targets=["C0ANNOUNCE"])
        wait_until(lambda: {f"announcement:{quick.id}", f"announcement:{daily.id}"} <=
                   {job.id for job in first.scheduler.aps.get_jobs()})
        first.scheduler.aps.pause()
        # As far as the job store knows, the daily one was next due three days ago: runs missed during downtime.
        three_days_ago = (now - timedelta(days=3)).replace(hour=hour, minute=0, second=0, microsecond=0)
        first.scheduler.aps.modify_job(f"announcement:{daily.id}", next_run_time=three_days_ago)
        first.shutdown()
        time.sleep(1.5)  # the one-off is now 0.5 s late: within the grace period
        missed = len([d for d in range(4) if three_days_ago + timedelta(days=d) <= now])
        second = start_scheduler(settings.model_copy(update={"rollout_misfire_grace_seconds": 30}))
        try:
            wait_until(lambda: len(slack.posts()) >= 1)
            runs = wait_until(lambda: len(comms.runs.runs("announcement", daily.id)) >= missed and
                              comms.runs.runs("announcement", daily.id))
            wait_until(lambda: [r.status for r in comms.runs.runs("announcement", quick.id)] == ["done"])
        finally:
            second.shutdown()
        assert slack.posted_to() == ["C0GENERAL"]  # the one-off once; none of the daily's old runs
        assert [r.status for r in comms.runs.runs("announcement", quick.id)] == ["done"]
        assert [r.status for r in runs] == ["missed"] * missed
        assert "beyond the 30 s grace period" in runs[0].detail  # the newest, found hours late
        assert "superseded by a later run" in runs[-1].detail
        reports = [r.getMessage() for r in caplog.records if "was missed" in r.getMessage()]
        assert len(reports) == missed and all(f"announcement:{daily.id}" in r for r in reports)
        assert comms.announcements.listed(comms.announcements.get(daily.id)).next_run > now
    finally:
        comms.close()


def test_a_half_sent_run_resumes_without_duplicates_or_gaps(engine, slack: StrictSlack, clock) -> None:
    ctx = job_context(engine, slack, clock)
    comms_announcement = _announcement(ctx, clock, ["engineering", "pilot-team", "C0GENERAL"])
    job_id = f"announcement:{comms_announcement.id}"
    ctx.runs.record(job_id, "announcement", comms_announcement.id, [DueRun(clock.now, "due")], clock.now)
    dispatcher = Dispatcher(ctx, KINDS)
    # A first process claimed it, resolved the audience, sent two, was sending two more, then died.
    run = ctx.runs.claim(ctx.runs.claimable(clock.now)[0], "dead-process", clock.now, timedelta(seconds=5))
    from bot.comms.blocks import announcement_message

    payload, _ = ctx.runs.prepare(run.id, announcement_message("Phase 2 starts"), [
        ("U0BOB", "engineering"), ("U0CAROL", "engineering"), ("U0DAN", "engineering"), ("U0ALICE", "pilot-team"),
        ("C0GENERAL", "C0GENERAL")], clock.now)
    deliveries = {d.recipient: d for d in ctx.runs.open_deliveries(run.id)}
    ctx.runs.start_sending([deliveries[r].id for r in ("U0BOB", "U0CAROL", "U0DAN", "U0ALICE")], clock.now)
    client = slack.client()
    for recipient in ("U0BOB", "U0CAROL", "U0DAN"):  # reached Slack; only two were recorded as sent
        client.chat_postMessage(channel=recipient, text=payload["text"],
                                blocks=marked(payload["blocks"], delivery_marker(job_id, run.run_time, recipient)))
    ctx.runs.settle([Settled(deliveries[r].id, "sent", "D", "1") for r in ("U0BOB", "U0CAROL")], clock.now)

    assert dispatcher.run_once() is False  # its lease is still live: nobody else may touch it
    clock.advance(seconds=6)
    assert dispatcher.run_once() is True
    assert Counter(slack.posted_to()) == {"U0BOB": 1, "U0CAROL": 1, "U0DAN": 1, "U0ALICE": 1, "C0GENERAL": 1}
    [finished] = ctx.runs.runs("announcement", comms_announcement.id)
    assert (finished.status, finished.detail, finished.owner) == ("done", "5 sent, 0 failed", "test-holder")
    dan = next(d for d in ctx.runs.deliveries([run.id]) if d.recipient == "U0DAN")
    assert dan.status == "sent" and dan.channel.startswith("D") and dan.attempts == 1  # found, not sent again
    ctx.pool.shutdown()


def test_permanent_failures_are_recorded_and_do_not_stop_the_others(engine, slack: StrictSlack, clock) -> None:
    ctx = job_context(engine, slack, clock)
    announcement = _announcement(ctx, clock, ["C0GENERAL", "C0ANNOUNCE"])
    ctx.runs.record(f"announcement:{announcement.id}", "announcement", announcement.id, [DueRun(clock.now, "due")],
                    clock.now)
    slack.fail_next("chat.postMessage", times=1, status=500, retry_after=None)  # unknown outcome: checked, resent
    original = slack._answer

    def refuse_archived(method, params, token):
        if method == "chat.postMessage" and params.get("channel") == "C0ANNOUNCE":
            return {"ok": False, "error": "is_archived"}
        return original(method, params, token)

    slack._answer = refuse_archived
    Dispatcher(ctx, KINDS).run_once()
    [run] = ctx.runs.runs("announcement", announcement.id)
    outcome = {d.recipient: (d.status, d.error) for d in ctx.runs.deliveries([run.id])}
    assert outcome == {"C0GENERAL": ("sent", None), "C0ANNOUNCE": ("failed", "is_archived")}
    assert (run.status, run.detail) == ("failed", "1 sent, 1 failed")
    assert slack.posted_to() == ["C0GENERAL"]
    ctx.pool.shutdown()


def test_the_engine_s_runs_reach_the_process_s_metrics(engine, slack: StrictSlack, clock) -> None:
    from prometheus_client import CollectorRegistry

    from bot.metrics import Metrics, ScheduledRunCounts

    registry = CollectorRegistry()
    counts = Metrics(registry)
    ctx = job_context(engine, slack, clock)
    announcement = _announcement(ctx, clock, ["C0GENERAL"])
    ctx.runs.record(f"announcement:{announcement.id}", "announcement", announcement.id,
                    [DueRun(clock.now - timedelta(minutes=5), "due"), DueRun(clock.now - timedelta(seconds=3), "due")],
                    clock.now)
    dispatcher = Dispatcher(ctx, KINDS, metrics=ScheduledRunCounts(lambda: counts))
    assert dispatcher.run_once() and dispatcher.run_once()  # the older beyond the 60 s grace, the newer within it

    def sample(name: str, **labels) -> float | None:
        return registry.get_sample_value(name, {"kind": "announcement", **labels})

    assert sample("rollout_scheduler_runs_total", outcome="missed") == 1
    assert sample("rollout_scheduler_runs_total", outcome="done") == 1
    assert sample("rollout_scheduler_lateness_seconds_count") == 2
    assert sample("rollout_scheduler_lateness_seconds_sum") == 303
    assert slack.posted_to() == ["C0GENERAL"]
    ctx.pool.shutdown()


def _announcement(ctx, clock, targets):
    from bot.comms.tables import Announcement

    return ctx.announcements.add(Announcement(
        id=f"ann-{len(targets)}{int(time.monotonic() * 1000) % 100000}", text="Phase 2 starts", targets=targets,
        at=clock.now, tz="UTC", status="scheduled", created_at=clock.now, updated_at=clock.now))
