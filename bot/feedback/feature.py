"""Pilot feedback as a feature (bot/features.py): its tables, the votes, surveys, /rollout pilot and the App Home in
Slack, `rollout pilot|survey|feedback|report`, and the pulse-survey and weekly-report jobs."""
from __future__ import annotations

NAME = "feedback"
TABLES = ("bot.feedback.store",)
# How each Slack request this feature routes keeps what its ack promises (bot/features.py, README "Reliability and
# safety"): "ack", everything is done before the ack; else the kind of durable work recorded before the ack.
ACKED = {
    "action:feedback_helpful": "ack",  # the vote is stored before the ack; "thanks" is shown after it
    "action:feedback_not_helpful": "ack",  # the same, and the reason modal opens before the ack
    "view:feedback_reason": "ack",  # stored before the ack; a failure keeps the modal open
    "command:feedback": "ack",  # the survey modal opens before the ack
    "action:survey_open": "ack",
    "view:survey": "ack",  # stored before the ack; a failure keeps the modal open
    "command:pilot": "command:pilot",  # `list` is answered in the ack
    "event:app_home_opened": "ack",  # the Home tab is published before the ack
}


def register(app, runtime, routes) -> None:
    """The vote buttons and the reason modal, the survey, /rollout feedback and /rollout pilot, and the App Home,
    which every feature's admin blocks join."""
    from bot.feedback import listeners

    home = listeners.register(app, runtime.services, runtime.settings, routes.admin_home,
                              subcommands=routes.subcommands)
    routes.home = home.view



def commands() -> list:
    from bot.feedback.cli import COMMANDS

    return list(COMMANDS)


def job_kinds() -> dict:
    from bot.feedback import report_job, survey_jobs

    return {
        "survey": survey_jobs.send_survey,
        "survey-reminder": survey_jobs.send_reminders,  # recorded by each survey run, due remind-after days later
        "report": report_job.send_report,
        "report-chart": report_job.upload_chart,  # recorded by the report run once its message is in Slack
    }


def schedules(ctx, now) -> dict:
    from bot.feedback import report_job, survey_jobs

    desired = {}
    if ctx.feedback is not None:
        desired |= survey_jobs.desired(ctx.feedback)
    if ctx.weekly is not None:
        desired |= report_job.desired(ctx.weekly)
    return desired
