"""The announcement job: send an announcement's message to everyone its targets reach at run time."""
from __future__ import annotations

from datetime import datetime

from bot.comms.audiences import parse_targets, resolve
from bot.comms.blocks import announcement_message
from bot.comms.job_context import JobContext
from bot.comms.tables import ScheduledRun
from jobs.delivery import CHUNK, fan_out
from jobs.dispatch import Outcome


def send_announcement(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """Freeze the message, resolve the audience once, then fan out (resuming where an earlier attempt stopped)."""
    announcement = ctx.announcements.get(run.ref)
    if announcement is None or (announcement.status == "cancelled" and not run.resolved):
        return Outcome("done", "cancelled before it was sent; nothing sent")
    recipients = None if run.resolved else resolve(parse_targets(announcement.targets), ctx.directory,
                                                   ctx.pilot.members, audience_people=ctx.audience_people)
    payload, started = ctx.runs.prepare(run.id, announcement_message(announcement.text), recipients, now, CHUNK)
    report = fan_out(ctx, run, payload, started=started)
    return Outcome(report.status, report.line())
