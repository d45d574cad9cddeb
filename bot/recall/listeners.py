"""App Home's *Approve and send* for policy-change recalls (admins): recorded as acked work before the ack
(bot/answering/intake.py); the run's messages are approved and sent after it (by any process, if this one dies
first), the admin is told the outcome in a DM, and the Home tab is refreshed."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from slack_bolt import Ack, App

from bot.recall.blocks import RECALL_APPROVE, ROW_ACTION

log = logging.getLogger(__name__)
APPROVE_WORK = "click:recall-approve"  # a kind of acked work (bot.answering.intake)


def register_row_actions(app: App) -> None:
    """Map a recall DM's per-answer button ids back to the usual ones, so votes and escalations are handled as on
    any answer. A global middleware: Bolt runs every one before it matches any listener."""

    @app.middleware
    def usual_action_ids(body: dict, next) -> None:  # noqa: A002  (Bolt's name for it)
        for action in body.get("actions") or [] if isinstance(body, dict) else []:
            if isinstance(action, dict) and (match := ROW_ACTION.match(str(action.get("action_id") or ""))):
                action["action_id"] = match[1]
        next()


def register(app: App, recalls, admin_ids: frozenset[str], services,
             home_view: Callable[[str], dict | None] | None = None) -> None:
    """Listen for recall_approve (value: the ingest run id)."""
    services.intake.handle(APPROVE_WORK, lambda p: approve_and_send(
        services.client, recalls, admin_ids, p["user"], str(p["action"].get("value") or ""), home_view),
        "approving and sending the recall messages")

    @app.action(RECALL_APPROVE)
    def on_approve(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.accept_click(APPROVE_WORK, body, action)


def approve_and_send(client, recalls, admin_ids: frozenset[str], user_id: str, run_id: str, home_view) -> None:
    """Approve a run's recalls as this admin and send them; tell the admin what happened. Doing it again sends
    nothing twice (each message is claimed, and found again in its DM)."""
    if user_id not in admin_ids:
        client.chat_postMessage(channel=user_id, text="Only Rollout admins (ROLLOUT_ADMINS) can approve recalls.")
        return
    try:
        result = recalls.send(user_id, run_id or None)
        text = f":white_check_mark: Run `{run_id}`: {result.line()}."
    except Exception as exc:  # noqa: BLE001  (the admin is told; the messages stay approved and are retried)
        reference = uuid.uuid4().hex[:8]
        log.exception("recall approve of run %s failed (reference %s)", run_id, reference)
        text = (f":warning: Run `{run_id}` could not be sent ({type(exc).__name__}, reference `{reference}`). "
                "Nothing was sent twice; `rollout recall send` retries it.")
    client.chat_postMessage(channel=user_id, text=text)
    if home_view is not None and (view := home_view(user_id)) is not None:
        client.views_publish(user_id=user_id, view=view)
