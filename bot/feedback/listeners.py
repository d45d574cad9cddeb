"""Pilot feedback in Slack: 👍/👎 on answers (a 👎 opens the optional reason modal), `/rollout feedback` and the
"Give feedback" button (the survey modal), and the App Home tab. `register(app, services, settings, subcommands)`;
the vote buttons are this feature's alone, so no listener order decides who records a vote."""
from __future__ import annotations

import logging
import uuid

from slack_bolt import Ack, App

from bot.feedback import blocks
from bot.feedback import pilot_listeners as pilot
from bot.feedback.home import Home
from bot.feedback.ratings import Feedback, UnknownAnswer, Vote
from bot.feedback.store import FeedbackStore
from bot.feedback.surveys import SurveyAnswers, Surveys
from bot.slack.client import respond, webhook

log = logging.getLogger(__name__)


def register(app: App, services, settings=None, admin_home=None, *, subcommands) -> Home:
    """Listen for the vote buttons, the two modals, /rollout feedback, survey_open and app_home_opened; the Home tab's
    builder, for listeners that refresh it. `admin_home()` gives more blocks for admins' Home tab (the scheduled
    announcements with Cancel buttons, recalls to approve)."""
    store = services.asking.store
    sessions = store._sessions  # noqa: SLF001  (one connection pool per process, shared with the answering store)
    feedback = Feedback(store, FeedbackStore(sessions))
    surveys = Surveys(feedback.feedback)
    home = Home(store, sessions, settings.admin_ids if settings else frozenset(), admin_blocks=admin_home)

    @app.action(blocks.HELPFUL_OR_NOT)
    def on_vote(ack: Ack, body: dict, action: dict, client) -> None:
        ack()
        value = str(action.get("value") or "")
        conversation_id = int(value) if value.isdigit() else None
        if action["action_id"] == "feedback_not_helpful" and conversation_id and body.get("trigger_id"):
            client.views_open(trigger_id=body["trigger_id"], view=blocks.reason_modal(conversation_id))
        # Stored before the ack (Bolt acks when the listener returns): a vote Slack saw acked is never lost.
        shown = record_vote(feedback, body, action["action_id"], conversation_id)
        services.workers.quick(show_vote, body, shown)

    @app.view(blocks.REASON_MODAL)
    def on_reason(ack: Ack, body: dict, view: dict) -> None:
        values = view["state"]["values"]
        reason = (_value(values, "reason", "selected_option") or {}).get("value")
        errors = feedback.explain(int(view["private_metadata"]), body["user"]["id"], reason,
                                  _value(values, "comment", "value"))
        ack(response_action="errors", errors=errors) if errors else ack()

    @subcommands.add("feedback", "/rollout feedback", "tell us how Rollout is working for you (a short survey)")
    def on_feedback_command(ack: Ack, command: dict, text: str, _services) -> None:
        ack()
        app.client.views_open(trigger_id=command["trigger_id"], view=blocks.survey_modal())

    @app.action(blocks.SURVEY_OPEN)
    def on_survey_open(ack: Ack, body: dict, client) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=blocks.survey_modal())

    @app.view(blocks.SURVEY_MODAL)
    def on_survey(ack: Ack, body: dict, view: dict) -> None:
        errors = surveys.submit(f"view:{view['id']}", body["user"]["id"], survey_answers(view["state"]["values"]))
        ack(response_action="errors", errors=errors) if errors else ack()

    @app.event("app_home_opened")
    def on_home(event: dict, client) -> None:
        if event.get("tab", "home") == "home":
            client.views_publish(user_id=event["user"], view=home.view(event["user"]))

    if settings is not None:
        pilot.register(app, services, settings, subcommands)  # /rollout pilot, for admins
    return home


def record_vote(feedback: Feedback, body: dict, action_id: str, conversation_id: int | None) -> Vote | str:
    """Store the vote; the vote, or what to tell the voter instead (an unknown answer, a database failure)."""
    container = body.get("container") or {}
    try:
        if conversation_id is None and container.get("channel_id") and container.get("message_ts"):
            found = feedback.store.find_by_reply(container["channel_id"], container["message_ts"])
            conversation_id = found.id if found else None
        return feedback.vote(conversation_id, body["user"]["id"], action_id)
    except UnknownAnswer as exc:
        return str(exc)
    except Exception:  # the database failed: say so rather than drop the vote silently
        reference = uuid.uuid4().hex[:8]
        log.exception("could not record a vote (reference %s)", reference)
        return VOTE_NOT_RECORDED.format(reference=reference)


def show_vote(body: dict, shown: Vote | str) -> None:
    """After the ack: show under the answer that the vote was received, or why it was not."""
    response_url, message = body.get("response_url"), body.get("message") or {}
    if not response_url:
        return
    if isinstance(shown, str):
        respond(response_url, shown)
    elif message.get("blocks"):
        respond_replacing(response_url, message, blocks.voted_blocks(message["blocks"], shown.acknowledgement,
                                                                     shown.conversation_id))
    else:
        respond(response_url, shown.acknowledgement)


VOTE_NOT_RECORDED = (":warning: Sorry, I couldn't record your vote just now (reference `{reference}`). Please press "
                     "the button again in a minute.")


def respond_replacing(response_url: str, message: dict, new_blocks: list[dict]) -> None:
    """Replace the answer message in place (same text, the status line added)."""
    response = webhook(response_url).send(
        text=message.get("text") or "Rollout", blocks=new_blocks, replace_original=True)
    if response.status_code != 200:
        log.error("could not update the answer message: HTTP %s (reference %s)", response.status_code,
                  uuid.uuid4().hex[:8])


def survey_answers(values: dict) -> SurveyAnswers:
    """The survey modal's state as text fields."""
    return SurveyAnswers(
        ease=_value(values, "ease", "value"), usefulness=_value(values, "usefulness", "value"),
        saved_time=(_value(values, "saved_time", "selected_option") or {}).get("value"),
        team=(_value(values, "team", "selected_option") or {}).get("value"),
        problems=_value(values, "problems", "value"), comment=_value(values, "comment", "value"))


def _value(values: dict, block_id: str, key: str):
    return (values.get(block_id) or {}).get(block_id, {}).get(key)
