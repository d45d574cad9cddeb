"""`/rollout announce` (admins): a modal, a preview DM with Schedule / Discard, Cancel buttons for the App Home,
and the acknowledgement campaigns' "I have read and accept" button. `register(app, comms, services, subcommands=...)`
with a bot.comms.scheduling.Comms and the app's bot.answering.services.Services.

Nothing is lost after an ack: the command opens its modal before it (a trigger_id lasts 3 seconds, so it could not be
done later anyway); the modal is checked before it, its errors shown in the modal; the submission and every button
are recorded as acked work before it (bot/answering/intake.py) and done after it, by any process if this one dies."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from bot.comms import blocks
from bot.comms.errors import BadTarget, CommsError, TargetsUnchecked
from bot.errors import RolloutError
from bot.slack.client import respond
from bot.slack.parsing import view_key

log = logging.getLogger(__name__)
# Kinds of acked work (bot.answering.intake), as recorded in processed_events.kind.
ANNOUNCE_WORK, CONFIRM_WORK, DISCARD_WORK = "view:announce", "click:announce-confirm", "click:announce-discard"
CANCEL_WORK, ACCEPT_WORK = "click:announce-cancel", "click:ack-accept"
NOT_SAVED = ("Sorry, I couldn't take your announcement just now (reference {reference}); nothing was saved. Please "
             "try again in a minute.")


def register(app: App, comms, services, *, subcommands) -> None:
    """Listen for /rollout announce, the modal, the preview's and App Home's buttons, and ack_accept."""
    client, intake = services.client, services.intake
    intake.handle(ANNOUNCE_WORK, lambda p: save_and_preview(client, comms, p),
                  "saving your announcement and sending you its preview")
    intake.handle(CONFIRM_WORK, lambda p: reply(client, p, decide(comms, p, "scheduled")),
                  "scheduling your announcement")
    intake.handle(DISCARD_WORK, lambda p: reply(client, p, decide(comms, p, "cancelled", "Discarded")),
                  "discarding your announcement")
    intake.handle(CANCEL_WORK, lambda p: reply(client, p, decide(comms, p, "cancelled"), replace=False),
                  "cancelling the announcement")
    intake.handle(ACCEPT_WORK, lambda p: accept(client, comms, p), "recording that you accepted the policy")

    @subcommands.add("announce", "/rollout announce", "schedule an announcement (Rollout admins)")
    def on_announce(ack: Ack, command: dict, text: str, _services) -> None:
        user_id = command.get("user_id", "")
        if user_id not in comms.admin_ids:
            return ack(text=not_an_admin(comms.admin_ids))
        open_modal(app, command["trigger_id"], user_id)  # before the ack: a trigger_id is good for 3 seconds
        ack()

    @app.view(blocks.ANNOUNCE_MODAL)
    def on_modal(ack: Ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]  # checked before the ack, so errors show in the modal
        if user_id not in comms.admin_ids:
            return ack(response_action="errors", errors={"message": not_an_admin(comms.admin_ids)})
        fields = modal_fields(view)
        try:
            checked = comms.announcements.check(created_by=user_id, source="slack", draft=True, **fields)
        except CommsError as exc:
            return ack(response_action="errors", errors={field_of(exc, fields): str(exc)[:150]})
        work = {"id": checked.announcement.id, "fields": fields}
        if (reference := services.accept(ANNOUNCE_WORK, view_key(ANNOUNCE_WORK, view), user_id, work)) is not None:
            return ack(response_action="errors", errors={"message": NOT_SAVED.format(reference=reference)})
        ack()

    @app.action(blocks.ANNOUNCE_CONFIRM)
    def on_confirm(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.accept_click(CONFIRM_WORK, body, action)

    @app.action(blocks.ANNOUNCE_DISCARD)
    def on_discard(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.accept_click(DISCARD_WORK, body, action)

    @app.action(re.compile(f"^{blocks.ANNOUNCE_CANCEL}:"))
    def on_cancel(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.accept_click(CANCEL_WORK, body, action)

    @app.action(blocks.ACK_ACCEPT)
    def on_accept(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.accept_click(ACCEPT_WORK, body, action)


def open_modal(app: App, trigger_id: str, user_id: str) -> None:
    """The announce modal, its time zone defaulting to the admin's."""
    app.client.views_open(trigger_id=trigger_id, view=blocks.announce_modal(user_tz(app, user_id)))


def save_and_preview(client, comms, work: dict) -> None:
    """After the ack: store the draft the modal described (once: its id was chosen before the ack), then DM the admin
    the announcement as it will look, with Schedule / Discard."""
    user_id = work["user"]
    draft = comms.announcements.store.get(work["id"])
    if draft is None:
        try:
            draft = comms.announcements.schedule(created_by=user_id, source="slack", draft=True,
                                                 announcement_id=work["id"], **work["fields"])
        except TargetsUnchecked:
            raise  # Slack unreachable now: tried again once the lease runs out
        except CommsError as exc:  # checked before the ack, but time has passed (a resumed submission)
            client.chat_postMessage(channel=user_id, text=f":warning: Your announcement was not saved: {exc}")
            return
    listed = comms.announcements.listed(draft)
    client.chat_postMessage(channel=user_id, **blocks.announcement_preview(draft, listed.schedule))


def accept(client, comms, click: dict) -> None:
    """Record an acceptance (the first one is kept, so doing it again changes nothing); the request message becomes
    its confirmation."""
    try:
        campaign, acceptance = comms.acknowledgements.accept(int(click["action"]["value"]), click["user"])
    except (RolloutError, ValueError) as exc:
        return reply(client, click, {"text": f":warning: {exc}"}, replace=False)
    reply(client, click, blocks.ack_accepted_message(campaign, acceptance.accepted_at))


def reply(client, click: dict, message: dict, replace: bool = True) -> None:
    """Answer a click through its response_url (replacing the message clicked on, with `replace`); a click in App Home
    has none, and is answered in a DM."""
    if url := click["body"].get("response_url"):
        return respond(url, message["text"], message.get("blocks"), replace_original=replace)
    client.chat_postMessage(channel=click["user"], **message)


def not_an_admin(admin_ids: frozenset[str]) -> str:
    """Who can schedule announcements, for someone who can't."""
    if not admin_ids:
        return "Only Rollout admins can schedule announcements, and none are set up yet (ROLLOUT_ADMINS)."
    return "Only Rollout admins can schedule announcements: " + ", ".join(f"<@{a}>" for a in sorted(admin_ids)) + \
        ". Ask one of them."


def decide(comms, click: dict, status: str, verb: str | None = None) -> dict:
    """An admin's change of an announcement to `status` ("scheduled": confirm a draft, "cancelled": cancel it); the
    reply says what happened or why not. A change already made (the click done again after a crash) is not refused."""
    if click["user"] not in comms.admin_ids:
        return {"text": not_an_admin(comms.admin_ids)}
    announcements, announcement_id = comms.announcements, click["action"]["value"]
    change = announcements.confirm if status == "scheduled" else announcements.cancel
    try:
        current = announcements.get(announcement_id)
        announcement = current if current.status == status else change(announcement_id)
    except RolloutError as exc:
        return {"text": f":warning: {exc}"}
    listed = announcements.listed(announcement)
    verb = verb or status.capitalize()
    return {"text": f"{verb} {announcement.id}: {listed.schedule} → {' '.join(announcement.targets)}"}


def modal_fields(view: dict) -> dict:
    """The modal's values as AnnouncementService.schedule arguments."""
    values = {block: next(iter(fields.values()), {}) for block, fields in view["state"]["values"].items()}
    tz = (values.get("tz", {}).get("value") or "UTC").strip()
    picked = values.get("at", {}).get("selected_date_time")
    at = None
    if picked:
        try:
            at = datetime.fromtimestamp(int(picked), ZoneInfo(tz)).isoformat()
        except Exception:  # an unknown zone: schedule() says so, next to the field
            at = datetime.fromtimestamp(int(picked)).astimezone().isoformat()
    return {"text": values.get("message", {}).get("value") or "", "targets": [values.get("audience", {}).get("value")
                                                                             or ""],
            "at": at, "cron": (values.get("cron", {}).get("value") or "").strip() or None, "tz": tz}


def field_of(exc: CommsError, fields: dict) -> str:
    """The modal block an error belongs next to."""
    text = str(exc)
    if isinstance(exc, BadTarget):
        return "audience"
    if text.startswith("unknown time zone"):
        return "tz"
    if text.startswith("the announcement"):  # no text, or too long
        return "message"
    return "cron" if fields["cron"] else "at"


def user_tz(app: App, user_id: str) -> str:
    """The admin's Slack time zone (the modal's default), or UTC if Slack does not say."""
    try:
        return app.client.users_info(user=user_id)["user"].get("tz") or "UTC"
    except Exception:
        log.warning("could not read %s's time zone; defaulting to UTC", user_id, exc_info=True)
        return "UTC"
