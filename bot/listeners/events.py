"""Events API listeners: DMs and mentions become questions answered in their thread; every other event is acked."""
from __future__ import annotations

import re

from slack_bolt import App, BoltContext

from bot.listeners.parsing import message_question


def register(app: App, services) -> None:
    """Listen for mentions and direct messages (Bolt acks events as soon as a listener returns)."""

    @app.event("app_mention")
    def on_mention(event: dict, context: BoltContext) -> None:
        """@Rollout in a channel: answer in the thread of the mentioning message."""
        if question := message_question(event, context.bot_user_id, in_channel=True):
            services.answer_in_thread(question, private_notices=True)

    @app.event("message")
    def on_message(event: dict, context: BoltContext) -> None:
        """A direct message; channel messages are answered through their app_mention event, so ignored here."""
        if event.get("channel_type") != "im":
            return
        if question := message_question(event, context.bot_user_id, in_channel=False):
            services.answer_in_thread(question, private_notices=False)

    @app.event(re.compile(".*"))
    def on_other_event() -> None:
        """Ack events we don't act on, so Slack neither retries them nor counts them as failures."""
