"""`rollout pilot add|remove|list`, `rollout survey schedule|list|cancel`, `rollout feedback export` and
`rollout report`: thin commands over the feedback services, added to `rollout` through feedback's feature
(bot/feedback/feature.py)."""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path

import click

from bot.cli_context import SINCE, Context, pass_context
from bot.store.models import utc_now


class FeedbackServices:
    """The runtime's database and, with SLACK_BOT_TOKEN, Slack for user group handles; opened once per command."""

    def __init__(self, obj: Context):
        from bot.comms.announcement_store import PilotCohort
        from bot.comms.scheduling import slack_delivery
        from bot.feedback.surveys import Surveys

        runtime = obj.runtime()
        self.sessions = runtime.sessions
        self.store, self.feedback = runtime.store, runtime.feedback
        self.pilot = PilotCohort(self.sessions)
        self.surveys = Surveys(self.feedback, default_tz=obj.settings.rollout_timezone)
        self.slack = slack_delivery(obj.settings)


def services(obj: Context) -> FeedbackServices:
    if not hasattr(obj, "_feedback"):
        obj._feedback = FeedbackServices(obj)
    return obj._feedback


# -- rollout pilot ----------------------------------------------------------------------------------------------


@click.group()
def pilot():
    """The pilot cohort: who gets pulse surveys (and the `pilot` announcement audience)."""


@pilot.command("add")
@click.argument("people", nargs=-1, required=True)
@pass_context
def pilot_add(obj: Context, people):
    """Add Slack user ids (U…) or a user group handle (@team) to the pilot."""
    s = services(obj)
    users = _resolved(s, people)
    added = s.pilot.add(users, "cli", utc_now())
    click.echo(f"Added {added} to the pilot ({len(users) - added} already in it); {len(s.pilot.members())} members.")


@pilot.command("remove")
@click.argument("people", nargs=-1, required=True)
@pass_context
def pilot_remove(obj: Context, people):
    """Take Slack user ids or a user group's members out of the pilot."""
    s = services(obj)
    users = _resolved(s, people)
    removed = s.pilot.remove(users)
    click.echo(f"Removed {removed} from the pilot; {len(s.pilot.members())} members.")


def _resolved(s, people) -> list[str]:
    """User ids from ids and @handles (handles resolved through the Web API when a bot token is set)."""
    from bot.feedback.surveys import resolve_people

    return resolve_people(list(people), s.slack.usergroup_members if s.slack else None)


@pilot.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of user ids.")
@pass_context
def pilot_list(obj: Context, as_json: bool):
    """Everyone in the pilot, in the order they joined."""
    members = services(obj).pilot.members()
    if as_json:
        click.echo(json.dumps(members))
    else:
        click.echo("\n".join(members) if members else "The pilot is empty: rollout pilot add U0123ABCD @team")


# -- rollout survey -----------------------------------------------------------------------------------------------


@click.group()
def survey():
    """Pulse surveys: every pilot member is DMed a "Give feedback" button on a schedule."""


@survey.command("schedule")
@click.option("--cron", required=True, help='Five fields, e.g. "0 10 * * fri" (Fridays at 10:00).')
@click.option("--tz", default=None, help="Time zone of the cron expression (default: ROLLOUT_TIMEZONE).")
@click.option("--remind-after", "remind_after", type=int, default=3, show_default=True,
              help="Days after which those who have not answered get one reminder.")
@pass_context
def survey_schedule(obj: Context, cron: str, tz: str | None, remind_after: int):
    """Schedule a pulse survey of the pilot cohort (the running scheduler picks it up)."""
    from bot.feedback.surveys import describe_schedule

    schedule = services(obj).surveys.schedule(cron, tz, remind_after, created_by="cli")
    click.echo(f"Scheduled pulse survey {describe_schedule(schedule)}.")


@survey.command("list")
@pass_context
def survey_list(obj: Context):
    """The active pulse surveys."""
    from bot.feedback.surveys import describe_schedule

    schedules = services(obj).surveys.schedules()
    click.echo("\n".join(map(describe_schedule, schedules)) if schedules else "No pulse surveys scheduled.")


@survey.command("cancel")
@click.argument("schedule_id", type=int)
@pass_context
def survey_cancel(obj: Context, schedule_id: int):
    """Stop a pulse survey."""
    if not services(obj).surveys.cancel(schedule_id):
        raise click.ClickException(f"no active pulse survey #{schedule_id}: see rollout survey list")
    click.echo(f"Cancelled pulse survey #{schedule_id}.")


# -- rollout feedback / report ------------------------------------------------------------------------------------


@click.group()
def feedback():
    """Answer ratings and survey responses."""


@feedback.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--since", type=SINCE, default=None, help="Only records since then: 7d, 2w or a date (YYYY-MM-DD).")
@pass_context
def feedback_export(obj: Context, fmt: str, since: datetime | None):
    """Write every feedback record (answer ratings and survey responses) to stdout."""
    from bot.feedback.ratings import EXPORT_FIELDS, export_records

    records = export_records(services(obj).feedback, since)
    if fmt == "json":
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


@click.command()
@click.option("--since", type=SINCE, default=None,
              help="Start of the period: 7d, 2w or a date (YYYY-MM-DD); default: 7 days ago.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the chart (questions per day, helpful rate) to this PNG file.")
@pass_context
def report(obj: Context, since: datetime | None, fmt: str, png: Path | None):
    """The pilot report: usage, answer quality, surveys, escalations, knowledge gaps, week-over-week change."""
    from bot.feedback.reports import build_report, render

    if png is not None:
        _check_png(png)
    now = utc_now()
    start = since
    if start is not None and start >= now:
        raise click.BadParameter(f"{since} is not in the past", param_hint="--since")
    built = build_report(services(obj).sessions, now, start)
    click.echo(render(built, fmt))
    if png is not None:
        from bot.feedback.report_chart import chart_png

        png.write_bytes(chart_png(built))
        click.echo(f"Chart written to {png}", err=True)


def _check_png(path: Path) -> None:
    """Refuse a --png name the chart would not fit, before the report is built."""
    if path.suffix.lower() != ".png":
        raise click.BadParameter(f"'{path}' does not end in .png: the chart is a PNG image, e.g. report.png",
                                 param_hint="--png")
    if not path.parent.is_dir():
        raise click.BadParameter(f"the folder '{path.parent}' does not exist", param_hint="--png")


COMMANDS = (pilot, survey, feedback, report)
