"""Interactivity listeners: the buttons under an answer are acked at once, then recorded and answered with thanks, or
(*Show more* / *Show less*) the answer is shown again with or without its longer extract."""
from __future__ import annotations

import re

from slack_bolt import Ack, App

from bot.answering.asking import BUTTON_ACTIONS
from bot.slack.blocks import SHOW_LESS, SHOW_MORE
from bot.answering.show_more import Click, ShowMore


def register(app: App, services) -> None:
    """Listen for clicks on feedback_helpful, feedback_not_helpful, escalate, show_more and show_less."""
    show_more = ShowMore(services.asking.store, services.client)

    @app.action(re.compile(f"^(?:{'|'.join(BUTTON_ACTIONS)})$"))
    def on_answer_button(ack: Ack, body: dict, action: dict) -> None:
        ack()
        value = str(action.get("value") or "")
        container = body.get("container") or {}
        services.record_click(
            action=action["action_id"], user_id=(body.get("user") or {}).get("id", ""),
            conversation_id=int(value) if value.isdigit() else None,
            channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id"),
            message_ts=container.get("message_ts"), response_url=body.get("response_url"),
        )

    @app.action(re.compile(f"^(?:{SHOW_MORE}|{SHOW_LESS})$"))
    def on_show_more(ack: Ack, body: dict, action: dict) -> None:
        ack()
        services.workers.quick(show_more.show, Click.of(body, action))
