"""Answering an employee's question, Slack-free: dedupe, secret check, rate limit, thread history, ask, record.

The Slack edge turns a message or command into a `Question` and hands over a `Replier` that knows how to show work
and deliver replies there; everything here is plain Python over the store and the knowledge base.
"""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.answering.blocks import ESCALATE
from bot.answering.safety import find_secrets, redact, secret_warning
from bot.errors import SettingError
from bot.logs import user_hash
from bot.metrics import metrics
from bot.store.models import AUTO_SOURCE, utc_now
from bot.store.repositories import Store
from knowledge.answer import Answer
from knowledge.errors import BadQuestion

log = logging.getLogger(__name__)

HISTORY_TURNS = 6
BUTTON_ACTIONS = (ESCALATE,)  # the votes are pilot feedback's (bot/feedback/ratings.py)


@dataclass(frozen=True)
class Question:
    """A question as it arrived: who asked, where, the text, and the key that makes redelivery a no-op."""

    user_id: str
    channel_id: str
    text: str
    source: str  # dm | mention | thread | command | auto | terminal (bot.store.models.SOURCES)
    dedupe_key: str
    message_ts: str | None = None  # the asking message; None for slash commands
    thread_ts: str | None = None  # the thread answered in, whose earlier turns are the context
    has_files: bool = False
    audiences: tuple[str, ...] = ()  # audiences to answer for besides the asker's own (`rollout ask --as-audience`)
    private: bool = False  # the answer is shown to the asker alone (recorded with it)

    @property
    def quiet(self) -> bool:
        """A question nobody asked the bot (an `auto` channel): answered only when the documents answer it, with no
        sign of work, don't-know, limit notice or apology in the channel; a secret is still warned about, privately."""
        return self.source == AUTO_SOURCE


@dataclass(frozen=True)
class Reply:
    """What to tell the employee: an answer with its stored conversation id, or a notice in mrkdwn."""

    kind: str  # answer | secret | rate_limited | bad_question | files_only | failed | abstained (auto, silent)
    text: str
    answer: Answer | None = None
    conversation_id: int | None = None
    question: str | None = None  # the (redacted) question, for replies that show it
    has_files: bool = False

    @property
    def is_answer(self) -> bool:
        return self.answer is not None


class Replier(Protocol):
    """Where replies go (a Slack thread, a slash command's response URL, a test)."""

    def working(self) -> None:
        """Show that an answer is on its way."""

    def send(self, reply: Reply) -> str | None:
        """Deliver a reply; the id (Slack ts) of the message that carries it, if there is one."""

    def finished(self) -> None:
        """Take down the sign of work."""


class KnowledgeBase(Protocol):
    def ask(self, question: str, history: list[tuple[str, str]] = ...) -> Answer: ...

    def prefetch(self, question: str) -> None: ...


@dataclass(frozen=True)
class RateLimit:
    """At most `questions` per `window`, per employee."""

    questions: int
    window: timedelta

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """'20/300' (questions per seconds) as ROLLOUT_RATE_LIMIT spells it."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not match or int(match[1]) < 1 or int(match[2]) < 1:
            raise SettingError(f"ROLLOUT_RATE_LIMIT must look like '20/300' (questions per seconds), not {text!r}")
        return cls(int(match[1]), timedelta(seconds=int(match[2])))

    def describe(self) -> str:
        """'20 questions every 5 minutes'."""
        seconds = int(self.window.total_seconds())
        unit = f"{seconds // 60} minutes" if seconds % 60 == 0 and seconds >= 120 else f"{seconds} seconds"
        return f"{self.questions} questions every {unit}"


class Asking:
    """The question-answering workflow, safe to run from many worker threads and processes at once."""

    def __init__(self, store: Store, knowledge_base: KnowledgeBase, limit: RateLimit,
                 clock: Callable[[], datetime] = utc_now, audiences: Callable[[str], frozenset[str]] | None = None,
                 channel_audiences: Callable[[str], list[str]] | None = None):
        self.store = store
        self.knowledge_base = knowledge_base
        self.limit = limit
        self.clock = clock
        self.audiences = audiences  # user id -> the document audiences they belong to (bot/comms/memberships.py)
        self.channel_audiences = channel_audiences  # channel id -> the audiences its settings apply to everyone

    def answer_question(self, question: Question, replier: Replier) -> Reply | None:
        """Both steps in one go; None when the question was not accepted (already handled, or a notice sent)."""
        return self.answer(question, replier) if self.accept(question, replier) else None

    def accept(self, question: Question, replier: Replier) -> bool:
        """The quick step: claim the message, turn away secrets, files and the over-limit, show work has begun.

        True when the question should now be answered (`answer`); each message is accepted once, by one process.
        """
        try:
            if not self.store.claim_event(question.dedupe_key, question.source, question.user_id, self.clock()):
                log.info("already handled %s", question.dedupe_key)
                return False
        except Exception:
            self._apologise(question, replier)
            return False
        return self.begin(question, replier)

    def begin(self, question: Question, replier: Replier) -> bool:
        """For a question already claimed (bot.answering.intake records it before the ack): turn away secrets, files
        and the over-limit, show work has begun; True when it should now be answered."""
        try:
            if notice := self._screen(question):
                _count(question, notice)
                if not question.quiet or notice.kind == "secret":
                    replier.send(notice)
                return False
            if not question.quiet:
                replier.working()
            if not self._has_history(question):  # else the query needs the thread, read when answering
                self.knowledge_base.prefetch(redact(question.text))
            return True
        except Exception:
            _count(question, self._apologise(question, replier))
            return False

    def answer(self, question: Question, replier: Replier) -> Reply:
        """The slow step, for an accepted question: ask with the thread's history, record, reply, finish."""
        try:
            reply = self._ask_and_record(question, replier)
        except Exception:
            reply = self._apologise(question, replier)
        finally:
            replier.finished()
        _count(question, reply)
        return reply

    def _screen(self, question: Question) -> Reply | None:
        """The notice to send instead of an answer, if any."""
        if findings := find_secrets(question.text):
            kinds = ", ".join(sorted({f.kind for f in findings}))
            log.warning("secret (%s) in a message from %s in %s; warned, not stored", kinds, question.user_id,
                        question.channel_id)
            return Reply("secret", secret_warning(findings))
        if not question.text.strip() and question.has_files:
            return Reply("files_only", FILES_ONLY)
        if self.rate_limited(question.user_id):
            return Reply("rate_limited", rate_limit_text(self.limit))
        return None

    def _apologise(self, question: Question, replier: Replier) -> Reply:
        reference = uuid.uuid4().hex[:8]
        log.exception("could not answer %s (reference %s)", question.dedupe_key, reference)
        if question.quiet:  # nobody asked the bot: an apology would be noise in the channel
            return failed(reference)
        return _deliver(replier, failed(reference))

    def _ask_and_record(self, question: Question, replier: Replier) -> Reply:
        text = redact(question.text)  # personal data never reaches storage or an LLM
        history = self.history(question)
        audiences = self.audiences_of(question)
        try:  # no audience: the general documents (and a knowledge base that knows nothing of audiences)
            answer = self.knowledge_base.ask(text, history, **({"audiences": audiences} if audiences else {}))
        except BadQuestion as exc:
            notice = Reply("bad_question", str(exc))
            return notice if question.quiet else _deliver(replier, notice)
        if question.quiet and not answer.answered:
            log.info("no answer above the threshold for %s; staying silent (auto mode)", question.dedupe_key)
            return Reply("abstained", "")
        cited = self._cited(answer)
        conversation = self.store.record_conversation(
            user_id=question.user_id, channel_id=question.channel_id, thread_ts=question.thread_ts,
            message_ts=question.message_ts, source=question.source, question=text, answer=answer.text,
            more=answer.more, answered=answer.answered, latency_ms=answer.latency_ms, answerer=answer.answerer,
            prompt_version=answer.prompt_version, sources=[_source_json(s) for s in answer.sources],
            created_at=self.clock(), cited=cited, private=question.private,
        )
        reply = Reply("answer", answer.text, answer, conversation.id, text, question.has_files)
        if reply_ts := replier.send(reply):
            self.store.set_reply_ts(conversation.id, reply_ts)
        log.info("answered conversation %s for %s (%s, %d ms)", conversation.id, question.user_id,
                 "answered" if answer.answered else "don't know", answer.latency_ms,
                 extra={"conversation_id": conversation.id})
        return reply

    def _cited(self, answer: Answer) -> list:
        """The text of each section the answer cites, kept with it so a later change can be recalled
        (bot/recall/recalls.py); none when the knowledge base cannot tell (the answer is given all the same)."""
        sections = getattr(self.knowledge_base, "cited_sections", None)
        if sections is None:
            return []
        try:
            return sections(answer)
        except Exception:
            log.exception("could not read the sections an answer cites; it cannot be recalled if they change")
            return []

    def audiences_of(self, question: Question) -> list[str]:
        """The document audiences to answer for: the asker's, the channel's (its `audience` setting) and any the
        question was asked as."""
        own = self.audiences(question.user_id) if self.audiences else frozenset()
        channel = self.channel_audiences(question.channel_id) if self.channel_audiences else ()
        return sorted(own | set(channel) | set(question.audiences))

    def history(self, question: Question) -> list[tuple[str, str]]:
        """The thread's earlier questions and answers, oldest first (none outside threads)."""
        if not self._has_history(question):
            return []  # a message that starts its own thread has no earlier turns: no need to ask the database
        return self.store.thread_history(question.channel_id, question.thread_ts, HISTORY_TURNS)

    @staticmethod
    def _has_history(question: Question) -> bool:
        return bool(question.thread_ts) and question.thread_ts != question.message_ts

    def rate_limited(self, user_id: str) -> bool:
        """Whether this employee's question, just accepted, is over what the window allows."""
        since = self.clock() - self.limit.window
        return self.store.count_recent_questions(user_id, since) > self.limit.questions  # this one is counted too

    def record_button(self, conversation_id: int | None, user_id: str, action: str) -> str:
        """Record a click on an answer's button once; the thank-you (or explanation) to show the employee."""
        if action not in BUTTON_ACTIONS:
            raise ValueError(f"unknown answer action {action!r}")
        if conversation_id is None or self.store.get_conversation(conversation_id) is None:
            return "I couldn't find that answer any more, so I couldn't record your click. Please ask again."
        if not self.store.record_interaction(conversation_id, user_id, action):
            return "You already told me about this answer. Thank you!"
        log.info("%s on conversation %s by %s", action, conversation_id, user_id,
                 extra={"conversation_id": conversation_id, "user_hash": user_hash(user_id)})
        return THANKS[action]


THANKS = {
    ESCALATE: (":raising_hand: Thanks. I've recorded that you'd like a person to follow up on this question. "
                 "If it's urgent, contact the helpdesk directly."),
}


FILES_ONLY = (":page_facing_up: I can't read files yet. Please ask your question in words (leave out secrets and "
              "personal data) and I'll answer from our policy documents.")


def rate_limit_text(limit: RateLimit) -> str:
    """The friendly message for an employee who hit the rate limit."""
    return (f":hourglass_flowing_sand: You've asked a lot of questions in a short time: I answer up to "
            f"{limit.describe()} per person, to keep things quick for everyone. Please try again in a few minutes.")


def failed(reference: str) -> Reply:
    """The apology for a failure on our side, with a reference the logs can be searched for."""
    return Reply("failed", f":warning: Sorry, something went wrong on my side and I couldn't answer "
                           f"(reference `{reference}`). Please try again in a minute; if it keeps happening, tell "
                           f"the helpdesk and quote the reference.")


def _count(question: Question, reply: Reply) -> None:
    """The question's outcome in rollout_questions_total (bot/metrics.py)."""
    metrics().question(question.source, reply.kind, reply.answer is not None and reply.answer.answered)


def _deliver(replier: Replier, reply: Reply) -> Reply:
    replier.send(reply)
    return reply


def _source_json(source) -> dict:
    return {**source.to_json(), "number": source.number, "url": source.url}
