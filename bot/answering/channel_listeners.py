"""Channel settings and private answers in Slack (issue 15): `/rollout settings` (Rollout admins) opens a modal for
the channel it is typed in; its submission is validated, stored and confirmed privately; *Share in channel*
(`share_answer`) under a private answer posts it in the channel. `register(app, runtime, subcommands)`."""
from __future__ import annotations

from slack_bolt import Ack, App

from bot.answering import channel_blocks as blocks
from bot.answering.blocks import SHARE_ANSWER
from bot.answering.channel_settings import ChannelSettingsError
from bot.answering.sharing import ShareClick, Sharing
from bot.slack.commands import COMMAND


def register(app: App, runtime, subcommands) -> None:
    """Listen for /rollout settings, its modal and share_answer."""
    channels, services, admins = runtime.channels, runtime.services, runtime.settings.admin_ids
    sharing = Sharing(services.asking.store, channels.store, services.client)
    default_helpdesk = runtime.settings.rollout_helpdesk_channel

    @subcommands.add("settings", f"{COMMAND} settings", "this channel's answer settings (Rollout admins)")
    def on_settings(ack: Ack, command: dict, text: str, _services) -> None:
        channel_id = command.get("channel_id", "")
        if command.get("user_id", "") not in admins:
            return ack(text=not_an_admin(admins))
        if channel_id[:1] not in ("C", "G"):
            return ack(text="Channel settings belong to a channel: type `/rollout settings` in the channel itself.")
        ack()
        services.workers.quick(open_modal, app, channels, command["trigger_id"], channel_id)

    @app.view(blocks.SETTINGS_MODAL)
    def on_submit(ack: Ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        if user_id not in admins:
            return ack(response_action="errors", errors={"answer_mode": not_an_admin(admins)})
        try:
            saved = channels.change(view["private_metadata"], user_id, **blocks.submitted(view["state"]["values"]))
        except ChannelSettingsError as exc:
            return ack(response_action="errors", errors={error_field(exc): str(exc)[:150]})
        ack()
        services.workers.quick(lambda: services.client.chat_postEphemeral(
            channel=saved.channel_id, user=user_id, text=blocks.saved_text(saved, default_helpdesk)))

    @app.action(SHARE_ANSWER)
    def on_share(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.workers.quick(sharing.share, ShareClick.of(body, action))


def open_modal(app: App, channels, trigger_id: str, channel_id: str) -> None:
    """After the ack: the modal, filled with the channel's settings as stored now."""
    app.client.views_open(trigger_id=trigger_id, view=blocks.settings_modal(channels.settings(channel_id)))


def error_field(exc: ChannelSettingsError) -> str:
    """The modal field a settings error belongs to."""
    text = str(exc)
    if text.startswith("Escalate to"):
        return "escalate_to"
    if "audience" in text.lower():
        return "audience"
    return "answer_mode"


def not_an_admin(admins: frozenset[str]) -> str:
    """Who can change channel settings, for someone who can't."""
    if not admins:
        return "Only Rollout admins can change channel settings, and none are set up yet (ROLLOUT_ADMINS)."
    return ("Only Rollout admins can change channel settings: " + ", ".join(f"<@{a}>" for a in sorted(admins))
            + ". Ask one of them.")
