"""`rollout scheduler`, `rollout announce ...`, `rollout plan ...` and `rollout ack ...`: thin commands over the
communication services (bot/comms/scheduling.py, built by bot/runtime.py). Added to `main` through
bot/comms/feature.py."""
from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli_context import Context, pass_context
from bot.comms.errors import CommsError, TargetsUnchecked


class Targets(click.Option):
    """`--to TARGET...`: every argument after --to up to the next option is a target."""

    def add_to_parser(self, parser, ctx):
        super().add_to_parser(parser, ctx)
        option = parser._long_opt.get("--to")
        original = option.process

        def process(value, state):
            values = [value]
            while state.rargs and not state.rargs[0].startswith("-"):
                values.append(state.rargs.pop(0))
            original(" ".join(values), state)

        option.process = process


def comms(obj: Context):
    """The communication services of the command's runtime."""
    return obj.runtime().comms


def when(moment: datetime | None, tz: str) -> str:
    """A time as people read it in `tz`: 2027-01-18 09:00 GMT."""
    from bot.comms.schedules import zone

    return f"{moment.astimezone(zone(tz)):%Y-%m-%d %H:%M %Z}" if moment else "-"


def read_text(text: str | None, file: Path | None) -> str | None:
    """--text or the contents of --file (one of them, at most)."""
    if text is not None and file is not None:
        raise CommsError("give --text or --file, not both")
    if file is None:
        return text
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CommsError(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8") from exc


# -- rollout scheduler --------------------------------------------------------------------------------------------


@click.command()
@pass_context
def scheduler(obj: Context):
    """Run scheduled announcements and acknowledgement campaigns until stopped (Procfile: scheduler)."""
    from bot.comms.scheduling import run_scheduler
    from bot.metrics import start_process

    click.echo(start_process(), err=True)  # counts reach /metrics through PROMETHEUS_MULTIPROC_DIR (README)
    handle = run_scheduler(obj.runtime(), on_shutdown=obj.runtime().close)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Scheduler {handle.holder} running (ROLLOUT_LOG_LEVEL=INFO shows each run). Ctrl-C stops it.",
               err=True)
    while not stop.wait(1):
        pass
    handle.shutdown()
    click.echo("Scheduler stopped.", err=True)


# -- rollout announce ---------------------------------------------------------------------------------------------


@click.group()
def announce():
    """Schedule announcements to channels, user groups, the pilot cohort or people."""


def message_options(required: bool):
    """--text/--file, --at/--cron, --tz and --to, shared by `schedule` and `edit`."""
    options = [
        click.option("--text", help="The message, in Markdown."),
        click.option("--file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Read the message from a file."),
        click.option("--at", help="Send once at this ISO 8601 time, e.g. 2027-01-18T09:00."),
        click.option("--cron", help='Send on a schedule: "minute hour day-of-month month day-of-week".'),
        click.option("--tz", help="Time zone of --at/--cron, e.g. Europe/London (default: ROLLOUT_TIMEZONE)."),
        click.option("--to", "targets", cls=Targets, multiple=True, required=required, metavar="TARGET...",
                     help="Channel ids, user group handles, 'pilot' or user ids."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@announce.command("schedule")
@message_options(required=True)
@click.option("--dry-run", is_flag=True, help="Check and show the announcement, store nothing; works without Slack "
                                              "(targets it cannot check are marked unchecked).")
@pass_context
def announce_schedule(obj: Context, text, file, at, cron, tz, targets, dry_run: bool):
    """Schedule an announcement; prints its job id."""
    service = comms(obj).announcements
    text = read_text(text, file) or ""
    if dry_run:
        checked = service.check(text=text, targets=targets, at=at, cron=cron, tz=tz, offline=True)
        a, listed = checked.announcement, service.listed(checked.announcement)
        click.echo(f"Dry run, nothing stored. Would schedule: {listed.schedule}, next "
                   f"{when(listed.next_run, a.tz)}, to {' '.join(a.targets)}")
        click.echo(f"Targets {checked.unchecked}" if checked.unchecked else "Targets checked in Slack.")
        click.echo("\n" + a.text)
        return
    try:
        announcement = service.schedule(text=text, targets=targets, at=at, cron=cron, tz=tz)
    except TargetsUnchecked as exc:
        raise TargetsUnchecked(f"{exc} (`--dry-run` shows the announcement without Slack)") from exc
    click.echo(announcement.id)
    listed = comms(obj).announcements.listed(announcement)
    click.echo(f"Scheduled: {listed.schedule}, next {when(listed.next_run, announcement.tz)}, to "
               f"{' '.join(announcement.targets)}", err=True)


@announce.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "include_past", is_flag=True, help="Include finished and cancelled announcements.")
@pass_context
def announce_list(obj: Context, as_json: bool, include_past: bool):
    """Scheduled announcements, next to run first."""
    listed = comms(obj).announcements.list(include_past)
    if as_json:
        click.echo(json.dumps([item.to_json() for item in listed], indent=2, ensure_ascii=False))
        return
    if not listed:
        click.echo("Nothing scheduled. Schedule one with: rollout announce schedule --text ... --at ... --to ...")
    for item in listed:
        a = item.announcement
        first_line = a.text.strip().splitlines()[0][:60]
        click.echo(f"{a.id}  {a.status:<9}  next {when(item.next_run, a.tz):<22}  {item.schedule}  → "
                   f"{' '.join(a.targets)}  “{first_line}”")


@announce.command("show")
@click.argument("announcement_id")
@pass_context
def announce_show(obj: Context, announcement_id: str):
    """One announcement: schedule, targets, text, next runs and last runs."""
    service = comms(obj).announcements
    a = service.get(announcement_id)
    listed = service.listed(a)
    click.echo(f"{a.id}  ({a.status}, {a.source}{', plan ' + a.plan if a.plan else ''}, revision {a.revision})")
    if a.label:
        click.echo(f"Label:     {a.label}")
    click.echo(f"Schedule:  {listed.schedule}")
    click.echo(f"To:        {' '.join(a.targets)}")
    click.echo("Next runs: " + (", ".join(when(t, a.tz) for t in service.next_run_times(a)) or "none"))
    for run in service.history(a.id)[:5]:
        click.echo(f"Run:       {when(run.run.run_time, a.tz)}  {run.run.status}  {run.run.detail or ''}")
    click.echo("\n" + a.text)


@announce.command("cancel")
@click.argument("announcement_id")
@pass_context
def announce_cancel(obj: Context, announcement_id: str):
    """Cancel an announcement (a running scheduler stops it within seconds)."""
    comms(obj).announcements.cancel(announcement_id)
    click.echo(f"Cancelled {announcement_id}.")


@announce.command("edit")
@click.argument("announcement_id")
@message_options(required=False)
@pass_context
def announce_edit(obj: Context, announcement_id: str, text, file, at, cron, tz, targets):
    """Change an announcement's text, time, time zone or targets."""
    a = comms(obj).announcements.edit(announcement_id, text=read_text(text, file), at=at, cron=cron, tz=tz,
                                      targets=targets or None)
    listed = comms(obj).announcements.listed(a)
    click.echo(f"Updated {a.id}: {listed.schedule}, next {when(listed.next_run, a.tz)}, to {' '.join(a.targets)}")


@announce.command("preview")
@click.argument("announcement_id")
@pass_context
def announce_preview(obj: Context, announcement_id: str):
    """The message as Slack will get it: Block Kit JSON (paste the blocks into Block Kit Builder)."""
    click.echo(json.dumps(comms(obj).announcements.preview(announcement_id), indent=2, ensure_ascii=False))


@announce.command("history")
@click.argument("announcement_id", required=False)
@pass_context
def announce_history(obj: Context, announcement_id: str | None):
    """The delivery log: each run, and per recipient sent/failed and when."""
    runs = comms(obj).announcements.history(announcement_id)
    if not runs:
        click.echo("No runs yet.")
    for entry in runs:
        run = entry.run
        click.echo(f"{run.ref}  run {when(run.run_time, 'UTC')}  {run.status}  {run.detail or ''}".rstrip())
        for d in entry.deliveries:
            moment = d.sent_at or d.updated_at
            click.echo(f"  {d.recipient:<12} {d.status:<8} {when(moment, 'UTC')}  via {d.via}"
                       f"{'  ' + d.error if d.error else ''}")


# -- rollout plan -------------------------------------------------------------------------------------------------


def plans(obj: Context):
    from bot.comms.plans import PlanService

    c = comms(obj)
    return PlanService(c.announcements.store, c.slack, c.clock, obj.settings.rollout_timezone)


@click.group()
def plan():
    """Schedule a whole rollout from a YAML plan (`rollout plan init` writes a copy of the example to start from)."""


@plan.command("init")
@click.argument("path", type=click.Path(path_type=Path), default="rollout-plan.yml")
@click.option("--start", metavar="YYYY-MM-DD", help="Phase 0's first day (default: the first day at least 15 days "
                                                    "from today on the example's weekday).")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@pass_context
def plan_init(obj: Context, path: Path, start: str | None, force: bool):
    """Write the example plan to PATH (default: rollout-plan.yml), every date moved so phase 0 starts ahead."""
    from bot.comms.plans import EXAMPLE_PLAN, LEAD_DAYS, move_plan, parse_day, today_in

    first = parse_day(start) if start is not None else None
    if path.is_dir():
        raise CommsError(f"{path} is a folder: give a file name, e.g. {path / 'rollout-plan.yml'}")
    if path.exists() and not force:
        raise CommsError(f"{path} already exists: give --force to overwrite it, or another PATH")
    example = EXAMPLE_PLAN.read_text(encoding="utf-8")
    today = today_in(example, obj.settings.rollout_timezone)
    moved = move_plan(example, today, first)
    header = (f"# Written by `rollout plan init` on {today} from knowledge/rollout-plan.example.yml: every date "
              f"moved {moved.days:+d} days.\n")
    try:
        path.write_text(header + moved.text, encoding="utf-8")
    except OSError as exc:
        raise CommsError(f"can't write {path}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {path}: the example plan with every date moved {moved.days:+d} days, phase 0 starting on "
               f"{moved.start:%A} {moved.start}.")
    if (moved.start - today).days < LEAD_DAYS:
        click.echo(f"Note: phase 0 starts in less than {LEAD_DAYS} days, so its first messages may be past; "
                   "`rollout plan diff` lists them.", err=True)
    click.echo(f"Next: rollout plan diff {path}   (then: rollout plan apply {path})")


@plan.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change (as `plan diff`), change nothing; works "
                                              "without Slack.")
@pass_context
def plan_apply(obj: Context, path: Path, dry_run: bool):
    """Schedule every message of the plan; applying again updates, adds and removes to match."""
    if dry_run:
        for line in plans(obj).diff(path).lines():
            click.echo(line)
        click.echo("Dry run: nothing applied.")
        return
    diff = plans(obj).apply(path)
    for line in diff.lines()[:-1]:
        click.echo(line)
    click.echo(f"Applied {diff.plan}: {len(diff.add)} added, {len(diff.update)} updated, {len(diff.remove)} "
               f"removed, {len(diff.unchanged)} unchanged.")


@plan.command("diff")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def plan_diff(obj: Context, path: Path):
    """What `rollout plan apply` would change."""
    for line in plans(obj).diff(path).lines():
        click.echo(line)


@plan.command("show")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def plan_show(obj: Context, path: Path | None):
    """The timeline of every applied plan, or of the plan file PATH (each message with where it stands)."""
    service, announcements = plans(obj), comms(obj).announcements
    if path is not None:
        _show_file(service, path)
        return
    timeline = service.timeline()
    if not timeline:
        click.echo("No plan applied yet. Try: rollout plan init, then rollout plan apply rollout-plan.yml")
    current = None
    for a in timeline:
        if a.plan != current:
            current = a.plan
            click.echo(current)
        listed = announcements.listed(a)
        start = when(a.at, a.tz) if a.at else f"from {when(a.starts_at, a.tz)[:10]}"
        click.echo(f"  {start:<22} {a.label:<58} {listed.schedule if a.cron else '':<28} → {' '.join(a.targets)}"
                   f"  [{a.status}{', next ' + when(listed.next_run, a.tz) if a.cron and listed.next_run else ''}]")


def _show_file(service, path: Path) -> None:
    """A plan file's timeline: each message, when, to whom, and whether it is applied, changed or not yet."""
    diff = service.diff(path)
    planned = diff.add + [p for p, _ in diff.update] + diff.unchanged + diff.past
    click.echo(diff.plan)
    far = datetime.max.replace(tzinfo=UTC)
    for p in sorted(planned, key=lambda p: (p.at or p.starts_at or far, p.id)):
        start = when(p.at, p.tz) if p.at else f"from {when(p.starts_at, p.tz)[:10]}"
        click.echo(f"  {start:<22} {p.label:<58} {p.cron or '':<28} → {' '.join(p.targets)}  [{diff.status(p.id)}]")
    if diff.unchecked:
        click.echo(f"Targets {diff.unchecked}")


# -- rollout ack --------------------------------------------------------------------------------------------------


@click.group()
def ack():
    """Acknowledgement campaigns: ask people to read and accept a policy."""


@ack.command("start")
@click.option("--policy", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The policy file (indexed with `rollout ingest`).")
@click.option("--to", "targets", cls=Targets, multiple=True, required=True, metavar="TARGET...",
              help="Channel ids (their members), user group handles, 'pilot' or user ids.")
@click.option("--deadline", required=True, help="Accept by this date (end of day) or ISO time.")
@click.option("--remind", help='Remind those who have not accepted on this cron schedule, e.g. "0 9 * * mon".')
@click.option("--tz", help="Time zone of the deadline and reminders (default: ROLLOUT_TIMEZONE).")
@pass_context
def ack_start(obj: Context, policy: Path, targets, deadline: str, remind: str | None, tz: str | None):
    """DM each person a cited summary, the link and an "I have read and accept" button."""
    from bot.comms.acknowledgements import summarise_policy

    service = comms(obj).acknowledgements
    service.check_start(targets, deadline, remind, tz)  # before the model loads: bad input fails fast
    summary = summarise_policy(obj.knowledge_base(), policy)
    campaign, count = service.start(summary, targets, deadline, remind, tz)
    click.echo(f"Campaign {campaign.id}: {count} people asked to accept {campaign.policy_title} "
               f"(version {campaign.policy_version}) by {when(campaign.deadline, campaign.tz)}"
               f"{'; reminders ' + remind if remind else ''}.")


@ack.command("status")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per person.")
@click.option("--campaign", "campaign_id", type=int, help="Only this campaign.")
@pass_context
def ack_status(obj: Context, as_csv: bool, campaign_id: int | None):
    """Who has accepted and who has not, per team."""
    from bot.comms.acknowledgements import status_csv

    statuses = comms(obj).acknowledgements.status(campaign_id)
    if as_csv:
        click.echo(status_csv(statuses), nl=False)
        return
    if not statuses:
        click.echo("No campaigns yet. Start one with: rollout ack start --policy ... --to ... --deadline ...")
    for status in statuses:
        c = status.campaign
        click.echo(f"Campaign {c.id}: {c.policy_title} (version {c.policy_version}), deadline "
                   f"{when(c.deadline, c.tz)}: {status.accepted}/{len(status.members)} accepted")
        for team in dict.fromkeys(m.team for m in status.members):
            members = [m for m in status.members if m.team == team]
            click.echo(f"  {team}: {sum(1 for m in members if m.acceptance)}/{len(members)} accepted")
            for m in members:
                a = m.acceptance
                click.echo(f"    {m.user_id:<12} " + (f"accepted {when(a.accepted_at, c.tz)} ({a.policy_version})"
                                                      if a else "not yet"))



COMMANDS = (scheduler, announce, plan, ack)
