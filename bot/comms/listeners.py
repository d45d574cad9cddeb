"""`/rollout announce` (admins): a modal, a preview DM with Schedule / Discard, Cancel buttons for the App Home,
and the acknowledgement campaigns' "I have read and accept" button. `register(app, comms, later,
subcommands=...)` with a bot.comms.scheduling.Comms; each listener acks first (within Slack's 3 seconds, also when the app processes before
responding), and the rest runs after the ack."""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from bot.comms import blocks
from bot.comms.errors import BadTarget, CommsError
from bot.errors import RolloutError

log = logging.getLogger(__name__)
_POOL = ThreadPoolExecutor(2, thread_name_prefix="rollout-announce")


def register(app: App, comms, later: Callable[..., None] | None = None, *, subcommands) -> None:
    """Listen for /rollout announce, the modal, the preview's and App Home's buttons, and ack_accept. `later(work,
    *args)` runs work after the ack (the app's `services.later`; by default a small pool of this module's)."""
    later = later or _later

    @subcommands.add("announce", "/rollout announce", "schedule an announcement (Rollout admins)")
    def on_announce(ack: Ack, command: dict, text: str, _services) -> None:
        user_id = command.get("user_id", "")
        if user_id not in comms.admin_ids:
            return ack(text=not_an_admin(comms.admin_ids))
        ack()
        later(open_modal, app, command["trigger_id"], user_id)

    @app.view(blocks.ANNOUNCE_MODAL)
    def on_modal(ack: Ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]  # the targets are checked before the ack, so errors show in the modal
        if user_id not in comms.admin_ids:
            return ack(response_action="errors", errors={"message": not_an_admin(comms.admin_ids)})
        fields = modal_fields(view)
        try:
            draft = comms.announcements.schedule(created_by=user_id, source="slack", draft=True, **fields)
        except CommsError as exc:
            return ack(response_action="errors", errors={field_of(exc, fields): str(exc)[:150]})
        ack()
        later(send_preview, app, comms, draft, user_id)

    @app.action(blocks.ANNOUNCE_CONFIRM)
    def on_confirm(ack: Ack, body: dict, action: dict, respond) -> None:
        ack()
        later(lambda: respond(replace_original=True, **decide(
            comms, body, lambda: comms.announcements.confirm(action["value"]), "Scheduled")))

    @app.action(blocks.ANNOUNCE_DISCARD)
    def on_discard(ack: Ack, body: dict, action: dict, respond) -> None:
        ack()
        later(lambda: respond(replace_original=True, **decide(
            comms, body, lambda: comms.announcements.cancel(action["value"]), "Discarded")))

    @app.action(re.compile(f"^{blocks.ANNOUNCE_CANCEL}:"))
    def on_cancel(ack: Ack, body: dict, action: dict) -> None:
        ack()
        later(lambda: app.client.chat_postMessage(channel=body["user"]["id"], **decide(
            comms, body, lambda: comms.announcements.cancel(action["value"]), "Cancelled")))

    @app.action(blocks.ACK_ACCEPT)
    def on_accept(ack: Ack, body: dict, action: dict, respond) -> None:
        ack()
        later(accept, comms, action.get("value", ""), body["user"]["id"], respond)


def open_modal(app: App, trigger_id: str, user_id: str) -> None:
    """The announce modal, its time zone defaulting to the admin's."""
    app.client.views_open(trigger_id=trigger_id, view=blocks.announce_modal(user_tz(app, user_id)))


def send_preview(app: App, comms, draft, user_id: str) -> None:
    """DM the admin the announcement as it will look, with Schedule / Discard."""
    listed = comms.announcements.listed(draft)
    app.client.chat_postMessage(channel=user_id, **blocks.announcement_preview(draft, listed.schedule))


def accept(comms, value: str, user_id: str, respond) -> None:
    """Record an acceptance; the request message becomes its confirmation."""
    try:
        campaign, acceptance = comms.acknowledgements.accept(int(value), user_id)
    except (RolloutError, ValueError) as exc:
        return respond(replace_original=False, response_type="ephemeral", text=f":warning: {exc}")
    respond(replace_original=True, **blocks.ack_accepted_message(campaign, acceptance.accepted_at))


def _later(work, *args) -> None:
    """Run work after the ack on this module's pool; failures are logged with a reference, never lost silently."""
    def run() -> None:
        try:
            work(*args)
        except Exception:
            log.exception("announce: %s failed (reference %s)", getattr(work, "__name__", work), uuid.uuid4().hex[:8])

    _POOL.submit(run)


def not_an_admin(admin_ids: frozenset[str]) -> str:
    """Who can schedule announcements, for someone who can't."""
    if not admin_ids:
        return "Only Rollout admins can schedule announcements, and none are set up yet (ROLLOUT_ADMINS)."
    return "Only Rollout admins can schedule announcements: " + ", ".join(f"<@{a}>" for a in sorted(admin_ids)) + \
        ". Ask one of them."


def decide(comms, body: dict, change, verb: str) -> dict:
    """Run an admin's change to an announcement; the reply says what happened or why not."""
    if body["user"]["id"] not in comms.admin_ids:
        return {"text": not_an_admin(comms.admin_ids)}
    try:
        announcement = change()
    except RolloutError as exc:
        return {"text": f":warning: {exc}"}
    listed = comms.announcements.listed(announcement)
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
