"""Events API listeners: DMs and mentions become questions answered in their thread, and top-level questions in
channels whose answer mode is `auto`. A message in a thread another feature has taken (a helpdesk ticket's) is not
theirs: the matcher says so, whatever order listeners were registered in. Events nobody listens for are acked by the
app (bot/slack/app.py)."""
from __future__ import annotations

from slack_bolt import App, BoltContext

from bot.answering.channel_questions import is_question
from bot.slack.parsing import message_question


def register(app: App, services, routes) -> None:
    """Listen for mentions and direct messages (Bolt acks events as soon as a listener returns)."""

    @app.event("app_mention")
    def on_mention(event: dict, context: BoltContext) -> None:
        """@Rollout in a channel: answered as the channel's settings say (in the thread, privately, or not)."""
        if question := message_question(event, context.bot_user_id, in_channel=True):
            services.answer_mention(question)

    def not_taken(event: dict, context: BoltContext) -> bool:
        return not routes.thread_taken(event, context.bot_user_id)

    @app.event("message", matchers=[not_taken])
    def on_message(event: dict, context: BoltContext) -> None:
        """A direct message; or a channel's top-level question, answered if the channel's mode is `auto`. Messages
        mentioning the bot are answered through their app_mention event, and threads only when mentioned there."""
        if event.get("channel_type") == "im":
            if question := message_question(event, context.bot_user_id, in_channel=False):
                services.answer_in_thread(question, private_notices=False)
            return
        if event.get("channel_type") not in ("channel", "group") or event.get("thread_ts"):
            return
        if f"<@{context.bot_user_id}" in (event.get("text") or ""):
            return
        question = message_question(event, context.bot_user_id, in_channel=True)
        if question and is_question(question.text):
            services.answer_if_auto(question)
