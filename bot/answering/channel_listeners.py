"""Channel settings and private answers in Slack (issue 15): `/rollout settings` (Rollout admins) opens a modal for
the channel it is typed in, and admins' App Home opens the same modal for a listed channel (*Edit*) or one they pick;
its submission is validated, stored, confirmed privately in the channel and shown in the refreshed App Home; *Share in
channel* (`share_answer`) under a private answer posts it in the channel. `register(app, runtime, routes)`."""
from __future__ import annotations

import re

from slack_bolt import Ack, App

from bot.answering import channel_blocks as blocks
from bot.answering.blocks import SHARE_ANSWER
from bot.answering.channel_settings import CHANNEL_ID, ChannelSettingsError
from bot.answering.sharing import ShareClick, Sharing
from bot.slack.commands import COMMAND


def register(app: App, runtime, routes) -> None:
    """Listen for /rollout settings, App Home's Edit and channel picker, their modal and share_answer."""
    channels, services, admins = runtime.channels, runtime.services, runtime.settings.admin_ids
    sharing = Sharing(services.asking.store, channels.store, services.client)
    default_helpdesk = runtime.settings.rollout_helpdesk_channel

    @routes.subcommands.add("settings", f"{COMMAND} settings", "this channel's answer settings (Rollout admins)")
    def on_settings(ack: Ack, command: dict, text: str, _services) -> None:
        channel_id = command.get("channel_id", "")
        if command.get("user_id", "") not in admins:
            return ack(text=not_an_admin(admins))
        if channel_id[:1] not in ("C", "G"):
            return ack(text="Channel settings belong to a channel: type `/rollout settings` in the channel itself.")
        ack()
        services.workers.quick(open_modal, app, channels, command["trigger_id"], channel_id)

    @app.action(HOME_ACTIONS)
    def on_home_edit(ack: Ack, body: dict, action: dict) -> None:
        ack()
        channel_id = str(action.get("value") or action.get("selected_conversation") or "")
        services.workers.quick(open_from_home, app, channels, admins, body, channel_id, routes.home_view)

    @app.view(blocks.SETTINGS_MODAL)
    def on_submit(ack: Ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        if user_id not in admins:
            return ack(response_action="errors", errors={"answer_mode": not_an_admin(admins)})
        channel_id, from_home = blocks.modal_channel(view["private_metadata"])
        try:
            saved = channels.change(channel_id, user_id, **blocks.submitted(view["state"]["values"]))
        except ChannelSettingsError as exc:
            return ack(response_action="errors", errors={error_field(exc): str(exc)[:150]})
        ack()
        if not from_home:  # from App Home the admin may not be in the channel: the refreshed Home shows the change
            services.workers.quick(lambda: services.client.chat_postEphemeral(
                channel=saved.channel_id, user=user_id, text=blocks.saved_text(saved, default_helpdesk)))
        services.workers.quick(refresh_home, app.client, user_id, routes.home_view)

    @app.action(SHARE_ANSWER)
    def on_share(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.workers.quick(sharing.share, ShareClick.of(body, action))


HOME_ACTIONS = re.compile(f"^({blocks.EDIT_CHANNEL}|{blocks.PICK_CHANNEL})$")


def open_modal(app: App, channels, trigger_id: str, channel_id: str, from_home: bool = False) -> None:
    """After the ack: the modal, filled with the channel's settings as stored now."""
    app.client.views_open(trigger_id=trigger_id, view=blocks.settings_modal(channels.settings(channel_id), from_home))


def open_from_home(app: App, channels, admins: frozenset[str], body: dict, channel_id: str, home_view) -> None:
    """After App Home's Edit or channel picker: the settings modal for an admin; for anyone else (an admin no more,
    pressing a Home tab published earlier) a DM saying who can, and their Home without the admin part."""
    user_id = body["user"]["id"]
    if user_id not in admins:
        app.client.chat_postMessage(channel=user_id, text=not_an_admin(admins))
        return refresh_home(app.client, user_id, home_view)
    if not CHANNEL_ID.fullmatch(channel_id):
        app.client.chat_postMessage(channel=user_id, text="Channel settings belong to a channel: pick a public or "
                                                          "private channel, not a direct message.")
        return None
    return open_modal(app, channels, body["trigger_id"], channel_id, from_home=True)


def refresh_home(client, user_id: str, home_view) -> None:
    """Publish the user's App Home again, as it reads now."""
    if (view := home_view(user_id)) is not None:
        client.views_publish(user_id=user_id, view=view)


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
