"""Pulse surveys on the shared scheduler: job functions driven with a clock the test moves, the fake Slack over HTTP
and the real database (SQLite and PostgreSQL). Each pilot member gets one DM per run, whatever the scheduler does;
the reminder goes once, remind-after days later, only to those who have not answered."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.features import job_kinds
from bot.feedback import survey_jobs as surveys
from bot.feedback.blocks import SURVEY_OPEN
from bot.feedback.store import FeedbackStore
from bot.store import session_factory
from jobs.dispatch import Dispatcher
from jobs.runs import DueRun
from jobs.schedule import next_runs
from tests.comms.conftest import Clock, StrictSlack, clock, engine, job_context, slack  # noqa: F401  (fixtures)

KINDS = job_kinds()

PILOT = ["U0ALICE", "U0BOB", "U0CAROL"]


def setup(engine, slack, clock, holder="scheduler-a"):
    feedback = FeedbackStore(session_factory(engine))
    ctx = job_context(engine, slack, clock, feedback=feedback, holder=holder)
    ctx.pilot.add(PILOT, "test", clock())
    schedule = feedback.add_schedule("0 10 * * tue", "Europe/London", 3, "U0ADMIN", clock())
    return ctx, feedback, schedule


def due(ctx, schedule, when: datetime) -> int:
    """Record the survey's run as the scheduler does when its cron fires."""
    return ctx.runs.record(surveys.job_id(schedule.id), "survey", str(schedule.id), [DueRun(when, "due")], when)


def dms(slack: StrictSlack) -> list[tuple[str, str]]:
    return [(c.params["channel"], c.params["text"]) for c in slack.posts()]


def test_the_schedule_becomes_a_cron_job_in_its_time_zone(engine, slack, clock) -> None:
    ctx, feedback, schedule = setup(engine, slack, clock)
    [(job_id, (kind, ref, revision, trigger))] = surveys.desired(feedback).items()
    assert (job_id, kind, ref, revision) == (f"survey:{schedule.id}", "survey", str(schedule.id), 1)
    assert next_runs(trigger, clock(), 1) == [datetime(2026, 12, 1, 10, 0, tzinfo=UTC)]  # GMT in December
    feedback.cancel_schedule(schedule.id)
    assert surveys.desired(feedback) == {}


def test_every_pilot_member_gets_one_dm_with_the_button_despite_two_schedulers_and_a_restart(engine, slack,
                                                                                            clock: Clock) -> None:
    ctx, feedback, schedule = setup(engine, slack, clock)
    other = job_context(engine, slack, clock, feedback=feedback, holder="scheduler-b")
    clock.advance(hours=2)  # Tuesday 10:00
    assert due(ctx, schedule, clock()) == 1
    assert due(other, schedule, clock()) == 0  # the second scheduler finds the same run time: nothing new

    [run] = ctx.runs.claim_many("scheduler-a", clock(), ctx.lease, 5)
    assert other.runs.claim_many("scheduler-b", clock(), other.lease, 5) == []  # one process per run
    surveys.send_survey(ctx, run, clock())  # ... and scheduler A dies before recording the outcome
    clock.advance(seconds=31)  # its lease expires: B takes the run over
    assert Dispatcher(other, KINDS).run_once() is True
    assert Dispatcher(ctx, KINDS).run_once() is False

    assert sorted(channel for channel, _ in dms(slack)) == PILOT  # once each
    blocks = slack.posts()[0].params["blocks"]
    assert SURVEY_OPEN in [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    [finished] = ctx.runs.runs(kind="survey")
    assert (finished.status, finished.detail) == ("done", "3 sent, 0 failed")  # all by A, recorded by B
    assert len(ctx.runs.runs(kind="survey-reminder")) == 1  # recorded by both attempts, kept once


def test_the_reminder_goes_once_after_n_days_only_to_those_who_have_not_answered(engine, slack, clock) -> None:
    ctx, feedback, schedule = setup(engine, slack, clock)
    dispatcher = Dispatcher(ctx, KINDS)
    sent_at = clock.advance(hours=2)
    due(ctx, schedule, sent_at)
    assert dispatcher.run_once() is True
    answer = dict(ease=4, usefulness=5, saved_time="yes", team="engineering", problems=None, comment=None)
    feedback.add_response("view:1", dict(answer, user_id="U0ALICE"), sent_at + timedelta(days=1))

    clock.advance(days=3, seconds=-1)
    assert dispatcher.run_once() is False  # not yet: the reminder waits its three days
    clock.advance(seconds=1)
    assert dispatcher.run_once() is True
    reminders = dms(slack)[3:]
    assert sorted(channel for channel, _ in reminders) == ["U0BOB", "U0CAROL"]
    assert all("gentle reminder" in text for _, text in reminders)

    clock.advance(days=7)
    assert dispatcher.run_once() is False  # once: never again for this survey
    assert len(slack.posts()) == 5


def test_someone_who_answers_after_the_reminder_is_queued_is_skipped(engine, slack, clock) -> None:
    ctx, feedback, schedule = setup(engine, slack, clock)
    dispatcher = Dispatcher(ctx, KINDS)
    sent_at = clock.advance(hours=2)
    due(ctx, schedule, sent_at)
    dispatcher.run_once()
    clock.advance(days=3)
    [reminder] = ctx.runs.claim_many(ctx.holder, clock(), ctx.lease, 5)
    ctx.runs.prepare(reminder.id, {"text": "x", "blocks": []}, [("U0BOB", "pilot")], clock())  # frozen, unsent
    answer = dict(ease=3, usefulness=3, saved_time="unsure", team="sales", problems=None, comment=None)
    feedback.add_response("view:2", dict(answer, user_id="U0BOB"), clock())
    outcome = dispatcher.execute(ctx.runs.get(reminder.id))
    assert outcome.detail == "0 sent, 0 failed, 1 skipped"
    assert [c for c, _ in dms(slack)].count("U0BOB") == 1  # the survey only


def test_a_cancelled_survey_sends_nothing(engine, slack, clock) -> None:
    ctx, feedback, schedule = setup(engine, slack, clock)
    due(ctx, schedule, clock.advance(hours=2))
    feedback.cancel_schedule(schedule.id)
    assert Dispatcher(ctx, KINDS).run_once() is True
    assert slack.posts() == []
    [run] = ctx.runs.runs(kind="survey")
    assert run.detail == "survey cancelled before it was sent; nothing sent"
