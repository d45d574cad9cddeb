"""`rollout channels list|set|show`: channel settings, keyed on channel id (issue 15), as `/rollout settings` and the
App Home show them."""
from __future__ import annotations

import click

from bot.answering.channel_settings import KEEP, ChannelSettingsError, check_channel, describe
from bot.answering.channel_store import ANSWER_MODES
from bot.cli_context import Context, pass_context


@click.group()
def channels():
    """Per-channel settings: answer mode, private answers, audiences, helpdesk channel."""


@channels.command("list")
@pass_context
def channels_list(obj: Context):
    """Every configured channel and its settings (others have the defaults)."""
    configured = obj.runtime().channels.store.all()
    if not configured:
        click.echo("No channel has settings yet: every channel answers mentions, publicly. "
                   "Use: rollout channels set CHANNEL_ID --answer-mode auto")
        return
    for settings in configured:
        click.echo(_line(settings, obj.settings.rollout_helpdesk_channel))


@channels.command("show")
@click.argument("channel_id")
@pass_context
def channels_show(obj: Context, channel_id: str):
    """One channel's settings."""
    settings = obj.runtime().channels.settings(_channel(channel_id))
    click.echo(settings.channel_id + ("" if settings.configured else "  (defaults: not configured)"))
    for label, value in describe(settings, obj.settings.rollout_helpdesk_channel):
        click.echo(f"  {label}: {value}")
    if settings.configured:
        click.echo(f"  changed {settings.updated_at:%Y-%m-%d %H:%M} UTC by {settings.updated_by}")


@channels.command("set")
@click.argument("channel_id")
@click.option("--answer-mode", type=click.Choice(ANSWER_MODES, case_sensitive=False),
              help="mention (default): answer when mentioned; auto: answer every top-level question it can; off.")
@click.option("--private-answers/--public-answers", default=None,
              help="Answers to mentions shown to the asker alone, with a Share in channel button.")
@click.option("--audience", multiple=True, metavar="NAMES",
              help="Document audiences for this channel (repeat, or comma-separated); --audience '' clears.")
@click.option("--escalate-to", metavar="CHANNEL_ID",
              help="Helpdesk channel for tickets from this channel; --escalate-to none uses ROLLOUT_HELPDESK_CHANNEL.")
@pass_context
def channels_set(obj: Context, channel_id: str, answer_mode, private_answers, audience, escalate_to):
    """Change a channel's settings; those not given keep their values."""
    if answer_mode is None and private_answers is None and not audience and escalate_to is None:
        raise click.UsageError("nothing to change: give --answer-mode, --private-answers/--public-answers, "
                               "--audience or --escalate-to")
    settings = obj.runtime().channels.change(
        _channel(channel_id), "cli",
        answer_mode=KEEP if answer_mode is None else answer_mode,
        private_answers=KEEP if private_answers is None else private_answers,
        audience=list(audience) if audience else KEEP,
        escalate_to=KEEP if escalate_to is None else escalate_to)
    click.echo("Saved. " + _line(settings, obj.settings.rollout_helpdesk_channel))


def _channel(channel_id: str) -> str:
    try:
        return check_channel(channel_id)
    except ChannelSettingsError as exc:
        raise click.BadParameter(str(exc), param_hint="CHANNEL_ID") from exc


def _line(settings, default_helpdesk: str | None) -> str:
    return settings.channel_id + "  " + "; ".join(f"{label}: {value}"
                                                  for label, value in describe(settings, default_helpdesk))


COMMANDS = (channels,)
