"""Helpdesk listeners: the answer's `escalate` button and `/rollout help-me` open tickets; Claim, Resolve, Add to
knowledge base and the asker's rating; and the relay of messages in ticket threads. `register(app, desk, routes)`
with a bot.helpdesk.desk.Desk. A message in a live ticket's thread is declared the helpdesk's (`routes.take_threads`),
so answering's listener never matches it: a relayed message is never answered as a question, whatever the order."""
from __future__ import annotations

import logging
import re
import uuid

from slack_bolt import Ack, App, BoltContext

from bot.answering.blocks import ESCALATE
from bot.answering.buttons import record_answer_click
from bot.answering.safety import redact
from bot.answering.services import NOT_RECORDED
from bot.errors import RolloutError
from bot.helpdesk import blocks
from bot.helpdesk.limits import HELP_ME, RELAY
from bot.slack.commands import COMMAND
from bot.slack.parsing import command_key, is_from_a_person, plain_text

log = logging.getLogger(__name__)
# Kinds of acked work (bot.answering.intake), as recorded in processed_events.kind.
ESCALATE_WORK, CLAIM_WORK, RESOLVE_WORK, RATE_WORK = "click:escalate", "click:claim", "click:resolve", "click:rate"
HELP_ME_WORK, RELAY_WORK = "command:help-me", "event:relay"
NOT_PASSED_ON = (":warning: Sorry, I couldn't pass your question to the helpdesk (reference `{reference}`). "
                 "Please press *Ask a person* again in a minute, or contact the helpdesk directly.")
NOT_RELAYED = (":warning: Sorry, your message was not passed on: something went wrong on my side (reference "
               "`{reference}`). Please send it again in a minute.")


def register(app: App, desk, routes) -> None:
    """Listen for escalations, ticket buttons, the FAQ modal, ratings and ticket-thread messages. Each click,
    command and submission whose work runs after its ack is recorded before the ack (`accept`), so a process that
    dies after the ack leaves it for the next one to do."""
    workers, intake = desk.services.workers, desk.services.intake
    escalations = desk.escalations
    intake.handle(ESCALATE_WORK, lambda p: escalate(desk, p["body"], p["action"]))
    intake.handle(CLAIM_WORK, lambda p: run_safely(desk, p["body"], lambda: escalations.claim(
        int(p["action"]["value"]), user_of(p["body"]))))
    intake.handle(RESOLVE_WORK, lambda p: run_safely(desk, p["body"], lambda: escalations.resolve(
        int(p["action"]["value"]), user_of(p["body"]))))
    intake.handle(RATE_WORK, lambda p: run_safely(desk, p["body"], lambda: rate(escalations, p)))
    intake.handle(HELP_ME_WORK, lambda p: help_me(desk, p["user"], p["text"], p["channel_id"]))
    intake.handle(RELAY_WORK, lambda p: escalations.notifier.post(p["channel"], p["text"], thread_ts=p["thread_ts"]))

    def in_ticket_thread(event: dict, bot_user_id: str | None) -> bool:
        """A person's message in the thread of a live ticket (either side)."""
        return is_from_a_person(event, bot_user_id) and escalations.in_live_thread(
            event.get("channel", ""), event.get("thread_ts"))

    routes.take_threads(in_ticket_thread)

    def ticket_thread(event: dict, context: BoltContext) -> bool:
        return in_ticket_thread(event, context.bot_user_id)

    @app.event("message", matchers=[ticket_thread])
    def on_ticket_thread(event: dict) -> None:
        """Relayed to the other side once the ticket is claimed (recorded before the ack); never answered as a
        question."""
        relay = escalations.relay(event.get("channel", ""), event.get("thread_ts"), event["user"],
                                  plain_text(event.get("text") or ""))
        if relay is None or not relay.to:
            return
        if refusal := desk.limits.refusal(event["user"], RELAY):
            workers.quick(tell_in_thread, desk, event, f"{refusal} This message was not passed on.")
        elif relay.to[0]:
            key = f"{RELAY_WORK}:{event.get('channel')}:{event.get('ts')}"
            payload = {"channel": relay.to[0], "thread_ts": relay.to[1], "text": relay.text}
            if (reference := desk.services.accept(RELAY_WORK, key, event["user"], payload)) is not None:
                workers.quick(tell_in_thread, desk, event, NOT_RELAYED.format(reference=reference))

    @app.action(ESCALATE)
    def on_escalate(ack: Ack, body: dict, action: dict) -> None:
        ack()
        if escalations.routes_anywhere():
            accept_click(desk, ESCALATE_WORK, body, action, sorry=NOT_PASSED_ON)
        else:  # no helpdesk channel anywhere: the click is recorded and thanked as any answer button's
            record_answer_click(desk.services, body, action)

    @routes.subcommands.add("help-me", f"{COMMAND} help-me <text>", "ask a person at the helpdesk")
    def on_help_me(ack: Ack, command: dict, text: str, _services) -> None:
        if not text:
            return ack(text=f"Tell me what you need help with: `{COMMAND} help-me <your question>`.")
        user_id, channel_id = command.get("user_id", ""), command.get("channel_id", "")
        if refusal := desk.limits.refusal(user_id, HELP_ME):
            return ack(text=refusal)
        reference = desk.services.accept(HELP_ME_WORK, command_key(HELP_ME_WORK, command), user_id,
                                         {"text": redact(text), "channel_id": channel_id})
        ack(text=":raising_hand: Passing this to the helpdesk…" if reference is None else NOT_RECORDED.format(
            reference=reference))

    @app.action(blocks.TICKET_CLAIM)
    def on_claim(ack: Ack, body: dict, action: dict) -> None:
        ack()
        accept_click(desk, CLAIM_WORK, body, action)

    @app.action(blocks.TICKET_RESOLVE)
    def on_resolve(ack: Ack, body: dict, action: dict) -> None:
        ack()
        accept_click(desk, RESOLVE_WORK, body, action)

    @app.action(blocks.TICKET_ADD_FAQ)
    def on_add_faq(ack: Ack, body: dict, action: dict) -> None:
        ack()
        ticket = desk.store.ticket(int(action["value"]))
        if ticket is None or not desk.escalations.may_handle(user_of(body), ticket):
            return tell(desk, body, "Sorry, only members of the helpdesk channel can add to the knowledge base.")
        app.client.views_open(trigger_id=body["trigger_id"], view=blocks.faq_modal(ticket))

    @app.view(blocks.FAQ_MODAL)
    def on_faq_submit(ack: Ack, body: dict, view: dict) -> None:
        user_id = user_of(body)
        ticket_id = int(view["private_metadata"]) if str(view.get("private_metadata", "")).isdigit() else None
        if not desk.escalations.may_handle(user_id, desk.store.ticket(ticket_id) if ticket_id else None):
            return ack(response_action="errors", errors={"answer": "Only helpdesk members can add FAQ entries."})
        values = {block: next(iter(f.values()), {}).get("value") or "" for block, f in view["state"]["values"].items()}
        if not values.get("question", "").strip() or not values.get("answer", "").strip():
            return ack(response_action="errors", errors={"answer": "Both the question and the answer are needed."})
        try:  # stored before the modal closes: the agent's answer is never only in a worker's queue
            entry = desk.faq.save(values["question"], values["answer"], user_id, ticket_id)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not store an FAQ entry (reference %s)", reference)
            return ack(response_action="errors", errors={"answer": FAQ_NOT_SAVED.format(reference=reference)})
        ack()
        workers.quick(index_faq, desk, entry)

    @app.action(re.compile(f"^{blocks.TICKET_RATE}_[1-5]$"))
    def on_rate(ack: Ack, body: dict, action: dict) -> None:
        ack()
        accept_click(desk, RATE_WORK, body, action)


def rate(escalations, payload: dict) -> str:
    ticket_id, rating = (int(part) for part in payload["action"]["value"].split(":"))
    return escalations.rate(ticket_id, user_of(payload["body"]), rating)


def accept_click(desk, kind: str, body: dict, action: dict, sorry: str | None = None) -> None:
    """Record a click before its ack with what its work needs; if it cannot be recorded, the clicker is told
    (`sorry`, with a {reference})."""
    desk.services.accept_click(kind, body, action, sorry or NOT_RECORDED)


FAQ_NOT_SAVED = ("Sorry, I couldn't save this FAQ entry (reference {reference}). Please try again in a minute; "
                 "nothing was added to the knowledge base.")


def escalate(desk, body: dict, action: dict) -> None:
    """Record the click as the answer buttons do, then open (or point to) the ticket; a failure is owned up to."""
    try:
        _escalate(desk, body, action)
    except Exception:  # after the ack: the asker must not believe a person is coming when nobody was told
        reference = uuid.uuid4().hex[:8]
        log.exception("could not escalate (reference %s)", reference)
        tell(desk, body, NOT_PASSED_ON.format(reference=reference))


def _escalate(desk, body: dict, action: dict) -> None:
    user_id, value = user_of(body), str(action.get("value") or "")
    conversations = desk.services.asking.store
    conversation = conversations.get_conversation(int(value)) if value.isdigit() else None
    container = body.get("container") or {}
    if conversation is None and container.get("channel_id") and container.get("message_ts"):
        conversation = conversations.find_by_reply(container["channel_id"], container["message_ts"])
    if conversation is None:
        return tell(desk, body, "I couldn't find that answer any more. Use `/rollout help-me <your question>`.")
    try:
        ticket, created = desk.escalations.escalate_answer(conversation, user_id)
    except RolloutError as exc:
        return tell(desk, body, f":warning: {exc}")
    conversations.record_interaction(conversation.id, user_id, ESCALATE)
    if not created:
        tell(desk, body, f"This question is already with the helpdesk as ticket #{ticket.id} ({ticket.status}).")


def help_me(desk, user_id: str, text: str, channel_id: str) -> None:
    try:
        desk.escalations.help_me(user_id, text, channel_id)
    except RolloutError as exc:
        desk.services.client.chat_postEphemeral(channel=channel_id, user=user_id, text=f":warning: {exc}")
    except Exception:  # after the ack: say so rather than let them wait for a person nobody told
        reference = uuid.uuid4().hex[:8]
        log.exception("could not open a help-me ticket (reference %s)", reference)
        desk.services.client.chat_postEphemeral(channel=channel_id, user=user_id, text=(
            f":warning: Sorry, I couldn't pass your question to the helpdesk (reference `{reference}`). Please try "
            "again in a minute, or contact the helpdesk directly."))


def index_faq(desk, entry) -> None:
    """Index a stored entry and tell its agent whether it is searchable now or once the knowledge base is back."""
    indexed = desk.faq.index(entry)
    desk.tell_about_faq(entry, blocks.faq_added_text(entry) if indexed else blocks.faq_pending_text(entry))


def run_safely(desk, body: dict, change) -> None:
    """Run a ticket change; a refusal or a thanks goes to the clicker only."""
    try:
        result = change()
    except RolloutError as exc:
        return tell(desk, body, str(exc))
    if isinstance(result, str):
        tell(desk, body, result)


def tell(desk, body: dict, text: str) -> None:
    """An ephemeral note to whoever clicked (a DM from App Home)."""
    desk.services.tell_clicker(body, text)


def tell_in_thread(desk, event: dict, text: str) -> None:
    """An ephemeral note to the author of a message, in its thread."""
    desk.services.client.chat_postEphemeral(channel=event.get("channel", ""), user=event.get("user", ""), text=text,
                                            thread_ts=event.get("thread_ts"))


def user_of(body: dict) -> str:
    return (body.get("user") or {}).get("id", "")
