"""The weekly report job: the pilot report as Block Kit in ROLLOUT_REPORT_CHANNEL, then its chart (a PNG) uploaded
into the report's thread. The message goes through the fan-out's delivery key like any other; the chart is a second
run, recorded once the message is in Slack, so a restart never posts either twice."""
from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.comms.job_context import JobContext
from bot.comms.schedules import cron_trigger
from bot.comms.tables import ScheduledRun
from jobs.delivery import fan_out
from jobs.dispatch import Outcome
from jobs.runs import DueRun, Settled

log = logging.getLogger(__name__)
JOB_ID, CHART_JOB_ID = "report:weekly", "report-chart:weekly"


@dataclass(frozen=True)
class WeeklyReport:
    """Where and when the weekly report goes, and how to build and upload it (bot/feedback/report_delivery.py)."""

    channel: str | None
    cron: str
    tz: str
    message: Callable[[datetime], dict]  # the report for the week before a time, as {"text", "blocks"}
    chart: Callable[[datetime], bytes]  # its PNG chart
    upload: Callable[[str, str, bytes, str], str]  # (channel, thread ts, png, title) → file id


def desired(weekly: WeeklyReport) -> dict[str, tuple[str, str, int, object]]:
    """The scheduler's job for the weekly report (its revision changes with the cron or time zone)."""
    revision = zlib.crc32(f"{weekly.cron}|{weekly.tz}".encode())
    return {JOB_ID: ("report", "weekly", revision, cron_trigger(weekly.cron, weekly.tz))}


def send_report(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """Post the report for the week before the run time once; then queue the chart's upload."""
    weekly = ctx.weekly
    if weekly is None or not weekly.channel:
        log.info("weekly report due %s skipped: ROLLOUT_REPORT_CHANNEL is not set", run.run_time.isoformat())
        return Outcome("done", "skipped: ROLLOUT_REPORT_CHANNEL is not set")
    recipients = None if run.resolved else [(weekly.channel, "channel")]
    payload = run.payload or weekly.message(run.run_time)  # built from the run time: a resumed run posts the same
    payload, started = ctx.runs.prepare(run.id, payload, recipients, now, 1)
    report = fan_out(ctx, run, payload, started=started)
    posted = [d for d in ctx.runs.deliveries([run.id]) if d.status == "sent"]
    if report.status != "done" or not posted:
        return Outcome("failed", f"report not posted to {weekly.channel}: {report.line()}")
    # Keyed by when the message was sent (stored): recorded once however often this run resumes.
    ctx.runs.record(CHART_JOB_ID, "report-chart", str(run.id), [DueRun(posted[0].sent_at, "due")], now)
    return Outcome("done", f"report posted to {weekly.channel}; chart queued")


def upload_chart(ctx: JobContext, run: ScheduledRun, now: datetime) -> Outcome:
    """Upload the chart into the report's thread at most once: an upload cut off by a crash is not repeated."""
    report_run = ctx.runs.get(int(run.ref))
    message = next(d for d in ctx.runs.deliveries([report_run.id]) if d.status == "sent")
    recipients = None if run.resolved else [(message.channel, "chart")]
    _, started = ctx.runs.prepare(run.id, {"report_run": report_run.id}, recipients, now, 1)
    [delivery] = ctx.runs.deliveries([run.id])
    if delivery.status == "sent":
        return Outcome("done", "chart already uploaded")
    if delivery.id not in started:  # an earlier attempt stopped mid-upload: Slack may have it
        error = "an earlier upload was interrupted and may have reached Slack; not uploaded again"
        ctx.runs.settle([Settled(delivery.id, "failed", error=error)], ctx.clock())
        return Outcome("failed", error)
    title = f"Rollout pilot, week to {report_run.run_time:%Y-%m-%d}"
    try:
        file_id = ctx.weekly.upload(message.channel, message.ts, ctx.weekly.chart(report_run.run_time), title)
    except Exception as exc:
        log.exception("uploading the weekly chart to %s failed", message.channel)
        ctx.runs.settle([Settled(delivery.id, "failed", error=f"upload: {exc}")], ctx.clock())
        return Outcome("failed", f"chart upload failed: {exc}"[:500])
    ctx.runs.settle([Settled(delivery.id, "sent", message.channel, file_id)], ctx.clock())
    return Outcome("done", f"chart {file_id} uploaded to {message.channel}")
