"""*Show more* / *Show less* under an answer: recorded before the ack, then the answer is shown again with or without
its longer extract. `record_answer_click` records another click on an answer and thanks for it (*Ask a person* where no
helpdesk is set up; the votes are pilot feedback's, bot/feedback/listeners.py)."""
from __future__ import annotations

import re

from slack_bolt import Ack, App

from bot.answering.blocks import SHOW_LESS, SHOW_MORE
from bot.answering.show_more import Click, ShowMore

SHOW_MORE_WORK = "click:show-more"  # a kind of acked work (bot.answering.intake)


def register(app: App, services) -> None:
    """Listen for clicks on show_more and show_less: recorded before the ack, the answer shown again after it."""
    show_more = ShowMore(services.asking.store, services.client)
    services.intake.handle(SHOW_MORE_WORK, lambda p: show_more.show(Click.of(p["body"], p["action"])),
                           "showing that answer again")

    @app.action(re.compile(f"^(?:{SHOW_MORE}|{SHOW_LESS})$"))
    def on_show_more(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.accept_click(SHOW_MORE_WORK, body, action, message=True)


def record_answer_click(services, body: dict, action: dict) -> None:
    """Record a click on an answer's button (acked already) and thank the employee, after the ack."""
    value = str(action.get("value") or "")
    container = body.get("container") or {}
    services.record_click(
        action=action["action_id"], user_id=(body.get("user") or {}).get("id", ""),
        conversation_id=int(value) if value.isdigit() else None,
        channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id"),
        message_ts=container.get("message_ts"), response_url=body.get("response_url"),
    )
