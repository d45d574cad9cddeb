"""Deployment communications as a feature (bot/features.py): its tables, /rollout announce and the acknowledgement
button in Slack, `rollout scheduler|announce|plan|ack|audiences`, and the announcement and campaign jobs."""
from __future__ import annotations

NAME = "comms"
TABLES = ("bot.comms.tables",)
# How each Slack request this feature routes keeps what its ack promises (bot/features.py, README "Reliability and
# safety"): "ack", everything is done before the ack; else the kind of durable work recorded before the ack.
ACKED = {
    "command:announce": "ack",  # the modal opens before the ack
    "view:announce_modal": "view:announce",  # checked before the ack; errors stay in the modal
    "action:announce_confirm": "click:announce-confirm",
    "action:announce_discard": "click:announce-discard",
    "action:announce_cancel:*": "click:announce-cancel",
    "action:ack_accept": "click:ack-accept",
}


def register(app, runtime, routes) -> None:
    """/rollout announce, its modal, the preview's and App Home's buttons, and ack_accept."""
    from bot.comms import listeners

    listeners.register(app, runtime.comms, runtime.services, subcommands=routes.subcommands)


def admin_home(runtime) -> list[dict]:
    """The scheduled announcements with their Cancel buttons."""
    from bot.comms.blocks import announcement_list

    return announcement_list([(i.announcement, i.schedule) for i in runtime.comms.announcements.list()])


def commands() -> list:
    from bot.comms.cli import COMMANDS
    from bot.comms.cli_audiences import COMMANDS as AUDIENCES

    return [*COMMANDS, *AUDIENCES]


def job_kinds() -> dict:
    from bot.comms import ack_jobs, announcement_job

    return {
        "announcement": announcement_job.send_announcement,
        "ack-request": ack_jobs.send_requests,
        "ack-reminder": ack_jobs.send_reminders,
    }


def schedules(ctx, now) -> dict:
    """A trigger per scheduled announcement (until it ends) and per active campaign's reminders (until its
    deadline)."""
    from bot.comms.schedules import cron_trigger, trigger_for

    desired = {}
    for announcement in ctx.announcements.list(["scheduled"]):
        if announcement.ends_at is not None and announcement.ends_at <= now:
            continue
        trigger = trigger_for(announcement.at, announcement.cron, announcement.tz, announcement.starts_at,
                              announcement.ends_at)
        desired[f"announcement:{announcement.id}"] = ("announcement", announcement.id,
                                                      announcement.schedule_revision, trigger)
    for campaign in ctx.acks.list(["active"]):
        if campaign.remind_cron and campaign.deadline > now:
            trigger = cron_trigger(campaign.remind_cron, campaign.tz, ends_at=campaign.deadline)
            desired[f"ack-reminder:{campaign.id}"] = ("ack-reminder", str(campaign.id), 1, trigger)
    return desired
