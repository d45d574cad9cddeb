"""Pulse-survey jobs: DM every pilot member the "Give feedback" button on the survey's cron, then remind, once,
those it reached who have not answered within the survey's remind-after days."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.comms.job_context import JobContext
from bot.comms.schedules import cron_trigger
from bot.comms.tables import ScheduledRun
from bot.feedback.blocks import pulse_message
from bot.feedback.store import FeedbackStore
from jobs.delivery import CHUNK, fan_out
from jobs.dispatch import Outcome
from jobs.runs import DueRun


def job_id(schedule_id: int) -> str:
    return f"survey:{schedule_id}"


def reminder_job_id(schedule_id: int) -> str:
    return f"survey-reminder:{schedule_id}"


def desired(feedback: FeedbackStore) -> dict[str, tuple[str, str, int, object]]:
    """The scheduler's jobs for the active pulse surveys: job id → (kind, ref, revision, trigger)."""
    return {job_id(s.id): ("survey", str(s.id), s.revision, cron_trigger(s.cron, s.tz))
            for s in feedback.schedules()}


def send_survey(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """DM the pilot as it is at run time, and record the reminder run (due remind-after days later) once."""
    schedule = ctx.feedback.get_schedule(int(run.ref))
    if schedule is None or (schedule.status != "active" and not run.resolved):
        return Outcome("done", "survey cancelled before it was sent; nothing sent")
    recipients = None if run.resolved else [(user, "pilot") for user in ctx.pilot.members()]
    payload, started = ctx.runs.prepare(run.id, pulse_message(), recipients, now, CHUNK)
    remind_at = run.run_time + timedelta(days=schedule.remind_after_days)
    ctx.runs.record(reminder_job_id(schedule.id), "survey-reminder", f"{schedule.id}:{run.id}",
                    [DueRun(remind_at, "due")], now)  # keyed by its time: a resumed run records it once
    report = fan_out(ctx, run, payload, started=started)
    return Outcome(report.status, report.line())


def send_reminders(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """Remind those the survey reached who have not answered since it was sent; never anyone who has."""
    schedule_id, survey_run_id = (int(part) for part in run.ref.split(":"))
    schedule, survey = ctx.feedback.get_schedule(schedule_id), ctx.runs.get(survey_run_id)
    if schedule is None or survey is None or (schedule.status != "active" and not run.resolved):
        return Outcome("done", "survey cancelled; no reminders")
    recipients = None
    if not run.resolved:
        reached = [d.recipient for d in ctx.runs.deliveries([survey.id]) if d.status == "sent"]
        answered = ctx.feedback.responded_since(reached, survey.run_time)
        recipients = [(user, "pilot") for user in reached if user not in answered]
    payload, started = ctx.runs.prepare(run.id, pulse_message(reminder=True), recipients, now, CHUNK)
    # Checked again just before each send: someone who answered a moment ago is skipped.
    wanted = lambda user: not ctx.feedback.responded_since([user], survey.run_time)  # noqa: E731
    report = fan_out(ctx, run, payload, wanted=wanted, started=started)
    return Outcome(report.status, report.line())
