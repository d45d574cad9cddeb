"""Pilot feedback as a feature (bot/features.py): its tables, the votes, surveys, /rollout pilot and the App Home in
Slack, `rollout pilot|survey|feedback|report`, and the pulse-survey and weekly-report jobs."""
from __future__ import annotations

NAME = "feedback"
TABLES = ("bot.feedback.store",)


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
