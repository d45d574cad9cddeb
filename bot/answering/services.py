"""What answering's listeners (and the helpdesk's) hand work to: questions recorded before the ack and answered after
it, clicks recorded and thanked, each channel's settings applied. Built once per process by bot/runtime.py."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace

from slack_sdk import WebClient

from bot.answering.asking import Asking, Question, RateLimit, Reply, failed
from bot.answering.channel_settings import Channels
from bot.answering.channel_store import ChannelSettings
from bot.answering.intake import Intake, Route
from bot.answering.repliers import ThreadReplier
from bot.slack.client import respond
from bot.slack.parsing import click_key
from bot.slack.workers import Workers
from bot.store.models import AUTO_SOURCE

log = logging.getLogger(__name__)


NOT_RECORDED = (":warning: Sorry, I couldn't take that just now: something went wrong on my side (reference "
                "`{reference}`), and nothing was done. Please try again in a minute.")
CLICK_NOT_RECORDED = (":warning: Sorry, I couldn't record your click: something went wrong on my side (reference "
                      "`{reference}`). Please press the button again in a minute.")
ANSWERS_OFF = (":no_entry_sign: Answers are turned off in this channel. Send me a direct message instead, and I'll "
               "answer there.")


@dataclass
class Services:
    """What listeners hand work to: answering (recorded before the ack, bot.answering.intake) and recording clicks, run
    by the workers after the ack; each channel's settings (`channels`, read from the database for every question) decide
    how a channel is answered."""

    asking: Asking
    client: WebClient
    workers: Workers
    intake: Intake
    channels: Channels | None = None

    @property
    def rate_limit(self) -> RateLimit:
        return self.asking.limit

    def answer_in_thread(self, question: Question, private_notices: bool) -> None:
        """Record a DM or mention before the ack; it is answered in its thread after."""
        route = Route(private_notices=private_notices)
        if refusal := self._take(question, route):
            replier = ThreadReplier(self.client, channel_id=question.channel_id, thread_ts=question.thread_ts,
                                    message_ts=question.message_ts, user_id=question.user_id,
                                    private_notices=private_notices)
            self.workers.quick(replier.send, refusal)

    def answer_mention(self, question: Question) -> None:
        """Record a mention in a channel before the ack, as the channel's settings say: answered in its thread, or
        privately with *Share in channel*; where answers are off, a private note instead."""
        try:
            settings = self._channel(question.channel_id)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not read the settings of %s (reference %s)", question.channel_id, reference)
            return self._notify(question, failed(reference))
        if settings.answer_mode == "off":
            if self.asking.store.claim_event(question.dedupe_key, "answers_off"):  # one note, however often retried
                self._notify(question, Reply("answers_off", ANSWERS_OFF))
            return
        route = Route(private_notices=True, private_answers=settings.private_answers)
        if refusal := self._take(replace(question, private=settings.private_answers), route):
            self._notify(question, refusal)

    def answer_if_auto(self, question: Question) -> None:
        """A top-level question in a channel, not addressed to the bot: recorded only where the answer mode is
        `auto`, and answered only when the documents answer it (bot.answering.asking.Question.quiet); failures are
        logged, never announced to a channel that did not ask."""
        try:
            settings = self._channel(question.channel_id)
        except Exception:
            log.exception("could not read the settings of %s; not answering %s", question.channel_id,
                          question.dedupe_key)
            return
        if settings.answer_mode == "auto":
            route = Route(private_notices=True, private_answers=settings.private_answers, show_work=False)
            self._take(replace(question, source=AUTO_SOURCE, private=settings.private_answers), route)

    def answer_command(self, question: Question, response_url: str) -> Reply | None:
        """Record a slash command's question before the ack; None when taken (the answer follows privately through
        the response_url, with *Share in channel* outside DMs), else what to ack with (an apology, or that answers
        are off in this channel)."""
        shareable = question.channel_id[:1] in ("C", "G")
        if shareable:
            try:
                if self._channel(question.channel_id).answer_mode == "off":
                    return Reply("answers_off", ANSWERS_OFF)
            except Exception:
                reference = uuid.uuid4().hex[:8]
                log.exception("could not read the settings of %s (reference %s)", question.channel_id, reference)
                return failed(reference)
        return self._take(replace(question, private=True), Route(response_url=response_url, share=shareable))

    def record_click(self, *, action: str, user_id: str, conversation_id: int | None, channel_id: str | None,
                     message_ts: str | None, response_url: str | None) -> None:
        """Record a click on an answer's button before the ack (stored, so durable once acked), and thank the
        employee after it; if the database fails they are told so instead."""
        try:
            if conversation_id is None and channel_id and message_ts:
                found = self.asking.store.find_by_reply(channel_id, message_ts)
                conversation_id = found.id if found else None
            thanks = self.asking.record_button(conversation_id, user_id, action)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not record a click on %s (reference %s)", action, reference)
            thanks = CLICK_NOT_RECORDED.format(reference=reference)
        self.workers.quick(self._thank, user_id, channel_id, response_url, thanks)

    def accept(self, kind: str, key: str, user_id: str, payload: dict) -> str | None:
        """Record a click, command or submission before its ack (bot.answering.intake); None once recorded (or
        recorded before), else the reference of the failure, logged, for the person to be told."""
        try:
            self.intake.accept(kind, key, user_id, payload)
            return None
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not record %s (reference %s)", key, reference)
            return reference

    def accept_click(self, kind: str, body: dict, action: dict, sorry: str = NOT_RECORDED,
                     message: bool = False) -> bool:
        """Record a click before its ack, keyed by its action_ts, with what its work needs: `{"body": ..., "action":
        ...}` shaped as Slack sends them, holding who clicked, where, the response_url and the button (and with
        `message`, the blocks of the message clicked on). If it cannot be recorded the clicker is told (`sorry`,
        with a {reference}) after the ack; False then."""
        user_id = (body.get("user") or {}).get("id", "")
        kept = {"user": {"id": user_id}, "container": body.get("container") or {},
                "channel": body.get("channel") or {}, "response_url": body.get("response_url")}
        if message:
            kept["message"] = {"blocks": (body.get("message") or {}).get("blocks") or []}
        payload = {"body": kept, "action": {"action_id": action.get("action_id"), "value": action.get("value")}}
        if (reference := self.accept(kind, click_key(kind, body, action), user_id, payload)) is None:
            return True
        self.workers.quick(self.tell_clicker, body, sorry.format(reference=reference))
        return False

    def tell_clicker(self, body: dict, text: str) -> None:
        """A note to whoever clicked: ephemeral where they clicked, in a DM from App Home."""
        user_id = (body.get("user") or {}).get("id", "")
        channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
        if channel:
            self.client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        else:
            self.client.chat_postMessage(channel=user_id, text=text)

    def resume(self, now=None) -> int:
        """Take up questions acked earlier that nobody is answering (a process died); how many were taken."""
        return self.intake.resume(now)

    def wait_idle(self, timeout: float) -> bool:
        """Block until every question and click accepted so far is dealt with."""
        return self.workers.wait_idle(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Finish the work under way, within `timeout` seconds if given; what is left is handed back for the next
        process to start (the runtime releases the database). False if some was left."""
        self.intake.close()
        finished = self.workers.close(timeout)
        if not finished:
            self.intake.hand_back()
        return finished

    def _channel(self, channel_id: str) -> ChannelSettings:
        return self.channels.settings(channel_id) if self.channels else ChannelSettings(channel_id)

    def _notify(self, question: Question, reply: Reply) -> None:
        """A notice to the asker alone, in the thread of a channel message, after the ack."""
        replier = ThreadReplier(self.client, channel_id=question.channel_id, thread_ts=question.thread_ts,
                                message_ts=question.message_ts, user_id=question.user_id, private_notices=True)
        self.workers.quick(replier.send, reply)

    def _take(self, question: Question, route: Route) -> Reply | None:
        """Record the question durably (or find it already recorded); the apology to send if that failed."""
        try:
            self.intake.take(question, route)
            return None
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not record %s (reference %s)", question.dedupe_key, reference)
            return failed(reference)

    def _thank(self, user_id, channel_id, response_url, thanks: str) -> None:
        if response_url:
            respond(response_url, thanks)
        elif channel_id:
            self.client.chat_postEphemeral(channel=channel_id, user=user_id, text=thanks)
