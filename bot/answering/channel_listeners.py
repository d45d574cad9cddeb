"""Channel settings and private answers in Slack (issue 15): `/rollout settings` (Rollout admins) opens a modal for
the channel it is typed in, and admins' App Home opens the same modal for a listed channel (*Edit*) or one they pick;
its submission is validated, then stored, confirmed privately in the channel and shown in the refreshed App Home;
*Share in channel* (`share_answer`) under a private answer posts it in the channel. `register(app, runtime, routes)`.

Nothing is lost after an ack: the modal opens before it (a trigger_id lasts 3 seconds, so it could not wait anyway);
the submission (checked before its ack, so errors show in the modal) and Share are recorded as acked work before it
(bot/answering/intake.py), done after it by any process."""
from __future__ import annotations

import re

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.answering import channel_blocks as blocks
from bot.answering.blocks import SHARE_ANSWER
from bot.answering.channel_settings import CHANNEL_ID, ChannelSettingsError
from bot.answering.sharing import ShareClick, Sharing
from bot.slack.commands import COMMAND
from bot.slack.parsing import view_key

# Kinds of acked work (bot.answering.intake), as recorded in processed_events.kind.
SETTINGS_WORK, SHARE_WORK = "view:channel-settings", "click:share"
NOT_SAVED = ("Sorry, I couldn't take these settings just now (reference {reference}); nothing was changed. Please try "
             "again in a minute.")


def register(app: App, runtime, routes) -> None:
    """Listen for /rollout settings, App Home's Edit and channel picker, their modal and share_answer."""
    channels, services, admins = runtime.channels, runtime.services, runtime.settings.admin_ids
    sharing = Sharing(services.asking.store, channels.store, services.client)
    default_helpdesk = runtime.settings.rollout_helpdesk_channel
    services.intake.handle(SETTINGS_WORK, lambda p: save(services.client, channels, p, default_helpdesk,
                                                         routes.home_view), "saving the channel settings")
    services.intake.handle(SHARE_WORK, lambda p: sharing.share(ShareClick.of(p["body"], p["action"])),
                           "sharing your answer in the channel")

    @routes.subcommands.add("settings", f"{COMMAND} settings", "this channel's answer settings (Rollout admins)")
    def on_settings(ack: Ack, command: dict, text: str, _services) -> None:
        channel_id = command.get("channel_id", "")
        if command.get("user_id", "") not in admins:
            return ack(text=not_an_admin(admins))
        if channel_id[:1] not in ("C", "G"):
            return ack(text="Channel settings belong to a channel: type `/rollout settings` in the channel itself.")
        open_modal(app, channels, command["trigger_id"], channel_id)  # before the ack: a trigger_id lasts 3 s
        ack()

    @app.action(HOME_ACTIONS)
    def on_home_edit(ack: Ack, body: dict, action: dict) -> None:
        channel_id = str(action.get("value") or action.get("selected_conversation") or "")
        open_from_home(app, channels, admins, body, channel_id, routes.home_view)  # before the ack, as above
        ack()

    @app.view(blocks.SETTINGS_MODAL)
    def on_submit(ack: Ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        if user_id not in admins:
            return ack(response_action="errors", errors={"answer_mode": not_an_admin(admins)})
        channel_id, from_home = blocks.modal_channel(view["private_metadata"])
        work = {"channel_id": channel_id, "from_home": from_home,
                "settings": blocks.submitted(view["state"]["values"])}
        try:
            channels.check(channel_id, **work["settings"])
        except ChannelSettingsError as exc:
            return ack(response_action="errors", errors={error_field(exc): str(exc)[:150]})
        if (reference := services.accept(SETTINGS_WORK, view_key(SETTINGS_WORK, view), user_id, work)) is not None:
            return ack(response_action="errors", errors={"answer_mode": NOT_SAVED.format(reference=reference)})
        ack()

    @app.action(SHARE_ANSWER)
    def on_share(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.accept_click(SHARE_WORK, body, action)


def save(client, channels, work: dict, default_helpdesk: str | None, home_view) -> None:
    """After the ack: store the settings (storing them again changes nothing), confirm them to the admin in the
    channel (from App Home, where the admin may not be in it, the refreshed Home shows the change) and refresh their
    Home."""
    user_id = work["user"]
    try:
        saved = channels.change(work["channel_id"], user_id, **work["settings"])
    except ChannelSettingsError as exc:  # checked before the ack; nothing here changes a check's outcome
        return client.chat_postMessage(channel=user_id, text=f":warning: The settings were not saved: {exc}")
    if not work["from_home"]:
        confirm(client, saved.channel_id, user_id, blocks.saved_text(saved, default_helpdesk))
    refresh_home(client, user_id, home_view)


def confirm(client, channel_id: str, user_id: str, text: str) -> None:
    """A note to the admin alone in the channel; a DM where the bot is not in it (retrying could not help)."""
    try:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
    except SlackApiError as exc:
        if exc.response.get("error") not in ("not_in_channel", "channel_not_found"):
            raise
        client.chat_postMessage(channel=user_id, text=text)


HOME_ACTIONS = re.compile(f"^({blocks.EDIT_CHANNEL}|{blocks.PICK_CHANNEL})$")


def open_modal(app: App, channels, trigger_id: str, channel_id: str, from_home: bool = False) -> None:
    """The modal, filled with the channel's settings as stored now."""
    app.client.views_open(trigger_id=trigger_id, view=blocks.settings_modal(channels.settings(channel_id), from_home))


def open_from_home(app: App, channels, admins: frozenset[str], body: dict, channel_id: str, home_view) -> None:
    """App Home's Edit or channel picker: the settings modal for an admin; for anyone else (an admin no more,
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
