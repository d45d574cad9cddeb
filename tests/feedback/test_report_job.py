"""The weekly report job: the report as Block Kit in ROLLOUT_REPORT_CHANNEL and its PNG chart uploaded into the
report's thread with files_upload_v2, once a week however many schedulers record the run; skipped with a log line
when no channel is set. Driven with a controlled clock, the fake Slack over HTTP and a seeded database."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.comms.delivery import SlackDelivery
from bot.features import job_kinds
from bot.feedback import report_job as reports
from bot.feedback.report_delivery import weekly_report
from bot.slack.pacing import SendPacer
from jobs.dispatch import Dispatcher
from jobs.runs import DueRun
from jobs.schedule import next_runs
from tests.comms.conftest import Clock, engine, job_context, settings_for, slack  # noqa: F401  (fixtures)
from tests.feedback.conftest import (
    NOW,
    pilot_week,  # noqa: F401  (fixture)
)

KINDS = job_kinds()

CHANNEL = "C0REPORTS"


def context(engine, slack, db_url, tmp_path, sessions, clock, channel: str | None = CHANNEL):
    settings = settings_for(db_url, slack, tmp_path, rollout_report_channel=channel)
    weekly = weekly_report(settings, sessions, SlackDelivery("xoxb-test", slack.base_url, SendPacer(200)))
    return job_context(engine, slack, clock, weekly=weekly)


def due(ctx, when: datetime) -> int:
    return ctx.runs.record(reports.JOB_ID, "report", "weekly", [DueRun(when, "due")], when)


def test_the_report_runs_on_monday_mornings_in_the_rollout_time_zone(engine, slack, db_url, tmp_path,
                                                                     sessions) -> None:
    ctx = context(engine, slack, db_url, tmp_path, sessions, Clock(NOW))
    [(job_id, (kind, _, _, trigger))] = reports.desired(ctx.weekly).items()
    assert (job_id, kind) == ("report:weekly", "report")
    summer = datetime(2027, 6, 2, tzinfo=UTC)  # a Wednesday in British Summer Time
    assert next_runs(trigger, summer, 2) == [datetime(2027, 6, 7, 8, 0, tzinfo=UTC),
                                             datetime(2027, 6, 14, 8, 0, tzinfo=UTC)]


def test_the_report_and_its_chart_are_posted_once_a_week(engine, slack, db_url, tmp_path, sessions,
                                                         pilot_week) -> None:
    slack.workspace.add_channel(CHANNEL, members=["U0ADMIN"])
    clock = Clock(NOW)
    ctx = context(engine, slack, db_url, tmp_path, sessions, clock)
    dispatcher = Dispatcher(ctx, KINDS)
    assert due(ctx, NOW) == 1
    assert due(ctx, NOW) == 0  # a second scheduler, or a restart, finds the same run: nothing new
    assert dispatcher.run_once() is True

    [post] = slack.posts()
    assert post.params["channel"] == CHANNEL
    assert post.params["text"] == "Rollout pilot report, 2027-02-01 to 2027-02-08"
    headlines = next(b for b in post.params["blocks"] if b["block_id"] == "report_headlines")["text"]["text"]
    assert "Questions asked: 5 (+150% vs previous period)" in headlines
    assert "Helpful: 67% of 3 ratings" in headlines

    clock.advance(seconds=1)
    assert dispatcher.run_once() is True  # the chart, queued once the report was in Slack
    [upload] = slack.calls_to("upload")
    [complete] = slack.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == CHANNEL
    assert complete.params["thread_ts"] == post.response["ts"]  # in the report's thread
    file = slack.workspace.files[upload.params["file_id"]]
    assert file["content"].startswith(b"\x89PNG\r\n\x1a\n") and len(file["content"]) > 10_000
    assert file["title"] == "Rollout pilot, week to 2027-02-08"

    clock.advance(days=1)
    assert due(ctx, NOW) == 0 and dispatcher.run_once() is False
    assert len(slack.posts()) == 1 and len(slack.calls_to("files.completeUploadExternal")) == 1
    statuses = sorted((run.kind, run.status) for run in ctx.runs.runs())
    assert statuses == [("report", "done"), ("report-chart", "done")]


def test_without_a_report_channel_the_run_is_skipped_with_a_log_line(engine, slack, db_url, tmp_path, sessions,
                                                                    caplog) -> None:
    ctx = context(engine, slack, db_url, tmp_path, sessions, Clock(NOW), channel=None)
    due(ctx, NOW)
    with caplog.at_level(logging.INFO, logger="bot.feedback.report_job"):
        assert Dispatcher(ctx, KINDS).run_once() is True
    assert "ROLLOUT_REPORT_CHANNEL is not set" in caplog.text
    assert slack.posts() == [] and slack.calls_to("files.getUploadURLExternal") == []
    [run] = ctx.runs.runs()
    assert (run.status, run.detail) == ("done", "skipped: ROLLOUT_REPORT_CHANNEL is not set")
