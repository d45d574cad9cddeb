"""Acknowledgement jobs: ask each member of a campaign to accept the policy, then remind those who have not."""
from __future__ import annotations

from datetime import datetime

from bot.comms.blocks import ack_request_message
from bot.comms.job_context import JobContext
from bot.comms.tables import ScheduledRun
from jobs.delivery import CHUNK, fan_out
from jobs.dispatch import Outcome


def send_requests(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """DM every member the summary, the link and the accept button (members were fixed when the campaign began)."""
    campaign = ctx.acks.get(int(run.ref))
    if campaign is None or campaign.status != "active":
        return Outcome("done", "campaign closed before its requests were sent; nothing sent")
    recipients = None if run.resolved else [(m.user_id, m.team) for m in ctx.acks.members(campaign.id)]
    payload, started = ctx.runs.prepare(run.id, ack_request_message(campaign), recipients, now, CHUNK)
    report = fan_out(ctx, run, payload, wanted=_not_accepted(ctx, campaign.id), started=started)
    return Outcome(report.status, report.line())


def send_reminders(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """Remind only members who have not accepted, and only before the deadline."""
    campaign = ctx.acks.get(int(run.ref))
    if campaign is None or campaign.status != "active":
        return Outcome("done", "campaign closed; no reminders")
    if not run.resolved and now >= campaign.deadline:
        return Outcome("done", "deadline passed; no reminders")
    recipients = None if run.resolved else [(m.user_id, m.team) for m in ctx.acks.not_accepted(campaign.id)]
    payload, started = ctx.runs.prepare(run.id, ack_request_message(campaign, reminder=True), recipients, now,
                                        CHUNK)
    report = fan_out(ctx, run, payload, wanted=_not_accepted(ctx, campaign.id), started=started)
    return Outcome(report.status, report.line())


def _not_accepted(ctx: JobContext, campaign_id: int):
    """Checked just before each send: someone who accepted a moment ago is skipped."""
    return lambda user_id: not ctx.acks.has_accepted(campaign_id, user_id)
