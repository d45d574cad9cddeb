"""Durable intake: a question is recorded in the database before Slack gets its ack, and stays there until answered.

`take` runs in the listener, so the record is written before the ack leaves (Bolt acks once the listener returns):
one insert that is both the dedupe claim and the work record (bot.answering.work_store), committed together with the
other questions arriving at the same moment (group commit). The workers get the question once the acks owed at that
moment have left (`Workers.after_acks`), so a burst's answering does not slow its acks. While this process holds the item it
renews a lease on it; a process that dies stops renewing, and once the lease runs out `resume` in any process (at
start and every few seconds) takes it again. Beyond `limit` items held in memory new work is recorded unleased and
left to `resume`, so a burst waits in the database, not in this process's memory. Work older than GIVE_UP is not
answered any more: the asker is told so.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.answering.asking import Asking, Question, Reply
from bot.answering.repliers import ResponseUrlReplier, ThreadReplier
from bot.answering.safety import Finding, find_secrets, redact_personal_data, secret_warning
from bot.answering.work_store import GroupCommit, NewWork, WorkItem, WorkStore
from bot.logs import log_ids, user_hash
from bot.metrics import metrics
from bot.store.models import WORK_ABANDONED, utc_now

log = logging.getLogger(__name__)

GIVE_UP = timedelta(minutes=10)  # a question not answered by then is owned up to, not answered late
RESUME_SECONDS = 5.0  # how often `resume` runs in a serving process
SOMETHING = "something you asked me to do (a button you pressed, a command or a form you sent)"  # of acked work


@dataclass(frozen=True)
class Route:
    """Where a question's replies go: its thread (notices to the asker alone in channels), or a response_url."""

    response_url: str | None = None
    private_notices: bool = False
    private_answers: bool = False  # answers to the asker alone, with *Share in channel* (channel settings)
    share: bool = False  # a response_url answer offers *Share in channel* (not in DMs)
    show_work: bool = True  # False in `auto` channels: no 👀 on a message that may get no answer


class Intake:
    """Takes questions, and the clicks, commands and submissions whose work runs after their ack, durably; hands them
    to the workers; resumes what a dead process left."""

    def __init__(self, asking: Asking, work: WorkStore, client: WebClient, workers, *, lease: timedelta,
                 limit: int, clock: Callable[[], datetime] = utc_now):
        self.asking, self.work, self.client, self.workers = asking, work, client, workers
        self.lease, self.limit, self.clock = lease, limit, clock
        self.owner = uuid.uuid4().hex  # this process, in lease_owner
        self._recording = GroupCommit(work)
        self._kinds: dict[str, Callable[[dict], None]] = {}  # the work of each kind of acked click or submission
        self._what: dict[str, str] = {}  # each kind in the words of the apology when it is given up on
        self._held: set[str] = set()  # keys leased by this process and with its workers
        self._reserved = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """How many questions this process holds (queued or being answered)."""
        with self._lock:
            return len(self._held) + self._reserved

    def take(self, question: Question, route: Route) -> bool:
        """Record a question before the ack and hand it to the workers (if they have room); False if it was
        recorded before (Slack redelivered it). Raises if the database cannot record it: nothing was accepted."""
        with question_ids(question):
            return self._record(question.dedupe_key, question.source, question.user_id, _payload(question, route),
                                self._begin, question.dedupe_key, question, route, False, self.clock())

    def handle(self, kind: str, work: Callable[[dict], None], what: str = SOMETHING) -> None:
        """What to do for acked work of `kind` (a click, a command, a modal submission) with its payload: after the
        ack, and again in any process if this one dies first (so `work` must be idempotent). If it raises, it is
        tried again once its lease runs out; given up on after GIVE_UP, the person is told `what` was not done."""
        self._kinds[kind], self._what[kind] = work, what

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of acked work this process knows how to do (`handle`)."""
        return frozenset(self._kinds)

    def accept(self, kind: str, key: str, user_id: str, payload: dict) -> bool:
        """Record a click, command or submission before its ack (`key` makes a repeat a no-op); its kind's work
        runs after the acks. False if it was recorded before. Raises if it cannot be recorded: nothing accepted."""
        if kind not in self._kinds:
            raise ValueError(f"no work is registered for {kind!r}")
        # Not counted against the asker's question rate limit, which counts rows by user_id: the user is in payload.
        return self._record(key, kind, None, {**payload, "user": user_id}, self._perform, key, kind,
                            {**payload, "user": user_id})

    def _record(self, key: str, kind: str, user_id: str | None, payload: dict, then, *args) -> bool:
        now, room = self.clock(), self._reserve(1)
        try:
            new = self._recording.record(NewWork(key, kind, user_id, now, payload, self.owner if room else None,
                                                 now + self.lease if room else None))
        except Exception:
            self._unreserve(room)
            raise
        if not new:
            self._unreserve(room)
            log.info("already handled %s", key)
        elif room:
            log.info("recorded %s (%s)", key, kind)
            self._hold([key], room)
            self.workers.after_acks(then, *args)
        else:
            log.warning("%d pieces of work already held: %s waits in the database", self.limit, key)
        return new

    def resume(self, now: datetime | None = None) -> int:
        """Renew this process's leases and take pending work nobody holds; how many items were taken."""
        now = now or self.clock()
        with self._lock:
            held = list(self._held)
        self.work.renew(self.owner, held, now + self.lease)
        room = self._reserve(self.limit)
        try:
            items = self.work.take_expired(self.owner, now, now + self.lease, room)
        finally:
            self._unreserve(room)
        for item in items:
            self._hold([item.key], 0)
            log.info("resuming %s (acked %s, attempt %d)", item.key, item.received_at.isoformat(), item.attempts)
            self.workers.quick(self._resume, item, now)
        return len(items)

    def close(self) -> None:
        """Stop recording (after the server has stopped taking requests)."""
        self._recording.close()

    def hand_back(self) -> int:
        """On shutdown: what this process still holds becomes takeable at once by the next process to start."""
        with self._lock:
            held, self._held = list(self._held), set()
        if held:
            log.warning("handing back %d unanswered questions for the next start", len(held))
        return self.work.release(self.owner, held)

    # -- the work ------------------------------------------------------------------------------------------------

    def _resume(self, item: WorkItem, now: datetime) -> None:
        if item.kind in self._kinds:
            return self._resume_work(item, now)
        if "question" not in item.payload:  # a kind this process does not handle (yet): leave it to one that does
            log.error("no handler for %s work %s; leaving it for another process", item.kind, item.key)
            return self._let_go(item.key, now + self.lease)
        question = _question(item)
        with question_ids(question):
            self._resume_question(item, question, now)

    def _resume_question(self, item: WorkItem, question: Question, now: datetime) -> None:
        route = Route(**item.payload.get("route", {}))
        replier = self._replier(question, route, resumed=True)
        if now - item.received_at > GIVE_UP:
            log.error("giving up on %s: not answered within %s of its ack", item.key, GIVE_UP)
            if self._run(item.key, _tell, replier, Reply("failed", TOO_LATE)):
                self._finish(item.key, WORK_ABANDONED)
        elif kinds := item.payload.get("secret"):  # the text was never stored: the warning is all there is to send
            warning = Reply("secret", secret_warning([Finding(kind, 0, 0) for kind in kinds]))
            if self._run(item.key, _tell, replier, warning):
                self._finish(item.key)
        else:
            self._begin(item.key, question, route, True, item.received_at)

    def _resume_work(self, item: WorkItem, now: datetime) -> None:
        if now - item.received_at <= GIVE_UP:
            return self._perform(item.key, item.kind, item.payload)
        log.error("giving up on %s: not done within %s of its ack", item.key, GIVE_UP)
        sorry = NOT_DONE_IN_TIME.format(what=self._what[item.kind])
        if self._run(item.key, self.client.chat_postMessage, channel=item.payload["user"], text=sorry):
            self._finish(item.key, WORK_ABANDONED)

    def _perform(self, key: str, kind: str, payload: dict) -> None:
        if self._run(key, _done, self._kinds[kind], payload):
            self._finish(key)

    def _begin(self, key: str, question: Question, route: Route, resumed: bool, received: datetime) -> None:
        replier = self._replier(question, route, resumed)
        with question_ids(question):
            accepted = self._run(key, self.asking.begin, question, replier)
            if accepted:
                self.workers.slow(self._answer, key, question, replier, received)
            elif accepted is False:  # a notice (secret, files, rate limit) or an apology was sent instead
                self._finish(key)

    def _answer(self, key: str, question: Question, replier, received: datetime) -> None:
        with question_ids(question):
            self._answer_question(key, question, replier, received)

    def _answer_question(self, key: str, question: Question, replier, received: datetime) -> None:
        if (reply := self._run(key, self.asking.answer, question, replier)) is not None:
            self._finish(key)
            if reply.is_answer:
                seconds = (self.clock() - received).total_seconds()
                metrics().answer_seconds.labels(question.source).observe(max(0.0, seconds))

    def _run(self, key: str, step, *args, **kwargs):
        """A step of the work, or None if it failed (Slack or the database down, even for the apology): the item is
        let go with its lease running out, and taken again then."""
        try:
            return step(*args, **kwargs)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not finish %s; it will be tried again (reference %s)", key, reference)
            self._let_go(key, self.clock() + self.lease)
            return None

    def _finish(self, key: str, status: str | None = None) -> None:
        try:
            self.work.finish(key, *(status,) if status else ())
        except Exception:  # the answer was sent: a second attempt finds it in the thread (ThreadReplier)
            log.exception("could not mark %s done", key)
            self._let_go(key, None)
        else:
            self._unhold(key)

    def _let_go(self, key: str, until: datetime | None) -> None:
        self._unhold(key)
        try:
            self.work.release(self.owner, [key], until)
        except Exception:
            log.exception("could not hand back %s; its lease runs out by itself", key)

    def _replier(self, question: Question, route: Route, resumed: bool):
        if route.response_url:
            return ResponseUrlReplier(route.response_url, share=route.share)
        return ThreadReplier(self.client, channel_id=question.channel_id, thread_ts=question.thread_ts,
                             message_ts=question.message_ts, user_id=question.user_id,
                             private_notices=route.private_notices, check_thread_first=resumed,
                             private_answers=route.private_answers, show_work=route.show_work)

    # -- what this process holds ---------------------------------------------------------------------------------

    def _reserve(self, wanted: int) -> int:
        with self._lock:
            granted = max(0, min(wanted, self.limit - len(self._held) - self._reserved))
            self._reserved += granted
            return granted

    def _unreserve(self, count: int) -> None:
        with self._lock:
            self._reserved -= count

    def _hold(self, keys: list[str], reserved: int) -> None:
        with self._lock:
            self._reserved -= reserved
            self._held.update(keys)

    def _unhold(self, key: str) -> None:
        with self._lock:
            self._held.discard(key)


TOO_LATE = (":warning: Sorry, I couldn't answer your question in time: something went wrong on my side. "
            "Please ask again; if it keeps happening, tell the helpdesk.")


NOT_DONE_IN_TIME = (":warning: Sorry, {what} could not be finished in time because something went wrong on my side. "
                    "Please try it again.")


def _done(work: Callable[[dict], None], payload: dict) -> bool:
    work(payload)
    return True


def question_ids(question: Question):
    """The ids every log line about this question carries (bot/logs.py): never its text."""
    return log_ids(work_id=question.dedupe_key, channel=question.channel_id, surface=question.source,
                   user_hash=user_hash(question.user_id))


def _tell(replier, reply: Reply) -> bool:
    replier.send(reply)
    return True


def _payload(question: Question, route: Route) -> dict:
    """What answering needs later, without secrets or personal data: a secret's kinds instead of the text."""
    stored = dict(vars(question))  # flat, and cheaper than asdict on the ack's path
    if findings := find_secrets(question.text):
        stored["text"] = ""
        return {"question": stored, "route": dict(vars(route)), "secret": sorted({f.kind for f in findings})}
    stored["text"] = redact_personal_data(question.text)  # no secret was found: this is all `redact` would do
    return {"question": stored, "route": dict(vars(route))}


def _question(item: WorkItem) -> Question:
    return Question(**{**item.payload["question"], "dedupe_key": item.key})
