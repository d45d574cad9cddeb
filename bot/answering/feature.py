"""Answering as a feature (bot/features.py): its tables, its Slack listeners, the knowledge commands (`rollout
ingest|forget|sources|ask|chat|eval`) and `rollout channels`, the daily clean-up of processed events and the
resumption of questions nobody is answering. Imports are deferred: `rollout ask` loads only what it uses."""
from __future__ import annotations

NAME = "answering"
TABLES = ("bot.store.models", "bot.answering.channel_store")
# How each Slack request this feature routes keeps what its ack promises (bot/features.py, README "Reliability and
# safety"): "ack", everything is done before the ack; else the kind of durable work recorded before the ack.
ACKED = {
    "event:app_mention": "question",  # answered as the channel's settings say; where answers are off, a note
    "event:message": "question",  # DMs, and top-level questions in `auto` channels
    "command:settings": "ack",  # the modal opens before the ack
    "action:channel_settings_edit": "ack",  # App Home's Edit: the same modal opens before the ack
    "action:channel_settings_pick": "ack",  # App Home's channel picker: the same
    "view:channel_settings": "view:channel-settings",  # checked before the ack; errors stay in the modal
    "action:show_more": "click:show-more",
    "action:show_less": "click:show-more",
    "action:share_answer": "click:share",
}


def register(app, runtime, routes) -> None:
    """DMs, mentions and `auto` channels; Show more; /rollout settings, App Home's Edit and its modal; Share in
    channel."""
    from bot.answering import buttons, channel_listeners, events

    events.register(app, runtime.services, routes)
    buttons.register(app, runtime.services)
    channel_listeners.register(app, runtime, routes)


def admin_home(runtime) -> list[dict]:
    """The configured channels with Edit, and a channel picker, for admins' App Home."""
    from bot.answering.channel_blocks import channel_settings_home

    return channel_settings_home(runtime.channels.store.all(), runtime.settings.rollout_helpdesk_channel)


def commands() -> list:
    """The knowledge commands (ingest, forget, sources, ask, chat, eval) and `rollout channels`."""
    from bot.answering import cli, cli_channels

    return [*cli.COMMANDS, *cli_channels.COMMANDS]


def job_kinds() -> dict:
    from bot.answering import processed_events_job as job

    return {job.KIND: job.prune_processed_events}


def schedules(ctx, now) -> dict:
    from bot.answering import processed_events_job as job

    return job.desired() if ctx.events is not None else {}


def periodic(runtime) -> list:
    """Questions acked earlier that nobody is answering (a process died) are taken up, at start and every few
    seconds."""
    from bot.answering.intake import RESUME_SECONDS

    return [("questions:resume", RESUME_SECONDS, runtime.services.resume)]
