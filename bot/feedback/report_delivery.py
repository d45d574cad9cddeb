"""The weekly report wired to the database and Slack for the scheduler: `weekly_report(settings, sessions, slack)`
builds the report and its chart for the week before a run time, and uploads the chart with files_upload_v2."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.comms.delivery import SlackDelivery
from bot.feedback.report_blocks import report_message
from bot.feedback.report_job import WeeklyReport
from bot.feedback.reports import build_report
from bot.settings import Settings


def weekly_report(settings: Settings, sessions: sessionmaker[Session], slack: SlackDelivery) -> WeeklyReport:
    """The weekly report job's settings (ROLLOUT_REPORT_CHANNEL, ROLLOUT_REPORT_CRON, ROLLOUT_TIMEZONE) and calls."""

    def message(until: datetime) -> dict:
        return report_message(build_report(sessions, until))

    def chart(until: datetime) -> bytes:
        from bot.feedback.report_chart import chart_png  # matplotlib, only when a chart is drawn

        return chart_png(build_report(sessions, until))

    def upload(channel: str, thread_ts: str, png: bytes, title: str) -> str:
        response = slack.poster.files_upload_v2(channel=channel, thread_ts=thread_ts, content=png, title=title,
                                                filename="rollout-weekly-report.png")
        return response["files"][0]["id"] if response.get("files") else response["file"]["id"]

    return WeeklyReport(settings.rollout_report_channel, settings.rollout_report_cron, settings.rollout_timezone,
                        message, chart, upload)
