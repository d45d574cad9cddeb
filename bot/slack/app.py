"""The Bolt app and the services its listeners call: built once at start-up, shared by HTTP and Socket Mode."""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace

from slack_bolt import App
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient

from bot.answering.asking import Asking, Question, RateLimit, Reply, failed
from bot.answering.channel_settings import Channels
from bot.answering.intake import Intake, Route
from bot.runtime import Runtime
from bot.slack import commands
from bot.slack.client import ThreadReplier, respond
from bot.slack.commands import Routes
from bot.answering.channel_store import ChannelSettings
from bot.store.models import AUTO_SOURCE

log = logging.getLogger(__name__)

QUICK_THREADS = 8  # claims, 👀 reactions, notices and clicks: short database and Slack calls
# Work deferred until the acks under way have left waits at most this long under unbroken traffic: 40 questions
# arriving together are acked in ~25 ms when nothing else runs (BENCHMARKS.md, "Slack edge").
MAX_AFTER_ACKS_SECONDS = 0.05


class Workers:
    """Two bounded pools for the work done after the ack, counted so that shutdown (and tests) can wait for it.

    Quick work (screen a question, show 👀, record a click) never queues behind slow retrieval, so every employee
    sees a sign of work at once even when many ask together; `slow` takes the answers, ROLLOUT_WORKERS at a time.
    Work handed on `after_acks` waits until the HTTP edge has sent every ack it owes (`acking`).
    """

    def __init__(self, answering: int, quick: int = QUICK_THREADS, after_acks_limit: float = MAX_AFTER_ACKS_SECONDS):
        self._quick = ThreadPoolExecutor(quick, thread_name_prefix="rollout-quick")
        self._slow = ThreadPoolExecutor(answering, thread_name_prefix="rollout-answer")
        self._pending = 0
        self._closed = False
        self._changed = threading.Condition()
        self._acks_owed = 0
        self._after_acks: list[tuple] = []  # (work, args) waiting for the acks owed to leave
        self._after_acks_since = 0.0  # monotonic time the oldest of them was deferred
        self._after_acks_limit = after_acks_limit

    @contextmanager
    def acking(self) -> Iterator[None]:
        """Around a request, from its arrival to its response sent: deferred work waits while any is open."""
        with self._changed:
            self._acks_owed += 1
        try:
            yield
        finally:
            with self._changed:
                self._acks_owed -= 1
            self._release_after_acks()

    def after_acks(self, work, *args) -> None:
        """Run short work once no ack is owed (at once outside a request), or `after_acks_limit` seconds after it
        was deferred when acks stay owed (requests keep arriving, or one listener is slow)."""
        with self._changed:
            if self._acks_owed and not self._closed:
                if not self._after_acks:
                    self._after_acks_since = time.monotonic()
                    overdue = threading.Timer(self._after_acks_limit, self._release_after_acks, (True,))
                    overdue.daemon = True  # an ack held up (a slow listener) holds up no one else's work
                    overdue.start()
                self._after_acks.append((work, args))
                self._pending += 1  # counted now: wait_idle and close see it
                return
        self.quick(work, *args)

    def quick(self, work, *args) -> None:
        """Run short work soon; failures are logged with a reference, never lost silently."""
        self._submit(self._quick, work, args)

    def slow(self, work, *args) -> None:
        """Run an answer when a worker is free."""
        self._submit(self._slow, work, args)

    @property
    def pending(self) -> int:
        """How many pieces of work were accepted and are not finished yet."""
        with self._changed:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        """Block until every accepted piece of work has finished; False if `timeout` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Finish what was accepted (answers owed to people), within `timeout` seconds if given, then stop; quick
        work may still hand on slow work. False if work was left unfinished (it is abandoned here: whoever owns it
        hands it back). Closing again does nothing."""
        with self._changed:
            if self._closed:
                return self._pending == 0
            self._closed = True
        self._release_after_acks(force=True)
        if self.pending:
            log.warning("finishing %d pieces of work already under way before stopping", self.pending)
        finished = True if timeout is None else self.wait_idle(timeout)
        self._quick.shutdown(wait=finished, cancel_futures=not finished)
        self._slow.shutdown(wait=finished, cancel_futures=not finished)
        return finished

    def _release_after_acks(self, force: bool = False) -> None:
        with self._changed:
            due = force or not self._acks_owed or time.monotonic() - self._after_acks_since >= self._after_acks_limit
            if not (due and self._after_acks):
                return
            released, self._after_acks = self._after_acks, []
        for work, args in released:
            self._submit(self._quick, work, args, counted=True)

    def _submit(self, pool: ThreadPoolExecutor, work, args: tuple, counted: bool = False) -> None:
        if not counted:
            with self._changed:
                self._pending += 1
        try:
            pool.submit(self._run, work, args)
        except RuntimeError:  # shut down: what was not started is handed back by its owner (bot.answering.intake)
            log.info("not starting %s: stopping", getattr(work, "__name__", work))
            self._done()

    def _done(self) -> None:
        with self._changed:
            self._pending -= 1
            self._changed.notify_all()

    def _run(self, work, args: tuple) -> None:
        try:
            work(*args)
        except Exception:
            log.exception("background work %s failed (reference %s)", getattr(work, "__name__", work),
                          uuid.uuid4().hex[:8])
        finally:
            self._done()


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


class RolloutApp(App):
    """Bolt's App with the routing it declares (`routes`): the /rollout subcommands, the threads a feature takes over
    from answering, the App Home. Every listener is a feature's (bot/features.py) and routed by its matchers."""

    def __init__(self, routes: Routes, **options):
        super().__init__(**options)
        self.routes = routes


def create_app(runtime: Runtime) -> RolloutApp:
    """The Bolt app over the runtime: Slack's signature checked on every HTTP request, every feature's listeners
    (which ack at once), the /rollout command, an error handler that also acks the events nobody listens for."""
    from bot.features import FEATURES, admin_home

    settings, services = runtime.settings, runtime.services
    app = RolloutApp(
        Routes(admin_home=lambda: admin_home(runtime)),
        client=services.client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=bool(settings.slack_signing_secret),  # Socket Mode has no signatures
        process_before_response=True,  # listeners only hand work to services.workers, so ack after they return
        raise_error_for_unhandled_request=True,  # to _on_error, which acks events we don't act on
        name="rollout",
    )
    for feature in FEATURES:
        feature.register(app, runtime, app.routes)
    commands.register(app, services, app.routes.subcommands)
    app.error(_on_error)
    return app


def _on_error(error: Exception, body: dict, response: BoltResponse | None) -> None:
    """A listener failed: log it with a reference; Slack gets a 200 (a retry would fail the same way). A request no
    listener matched: an event is acked (Slack neither retries it nor counts a failure), anything else answered as
    Bolt answers it."""
    if isinstance(error, BoltUnhandledRequestError):
        if isinstance(body, dict) and body.get("type") == "event_callback" and response is not None:
            response.status, response.body = 200, ""
        else:
            log.warning("no listener for a Slack %s", _kind(body))
        return
    reference = uuid.uuid4().hex[:8]
    log.error("error handling a Slack %s (reference %s)", _kind(body), reference, exc_info=error)
    if response is None:
        return
    response.status = 200
    response.body = ""
    sorry = "Sorry, something went wrong on my side (reference {}). Please try again."
    if isinstance(body, dict) and body.get("command"):
        response.headers["content-type"] = ["application/json;charset=utf-8"]
        response.body = json.dumps({"response_type": "ephemeral",
                                    "text": ":warning: " + sorry.format(f"`{reference}`")})
    elif isinstance(body, dict) and body.get("type") == "view_submission" and (field := _first_input(body)):
        # An empty 200 would close the modal as if it had worked: keep it open and say so next to its first field.
        response.headers["content-type"] = ["application/json;charset=utf-8"]
        response.body = json.dumps({"response_action": "errors", "errors": {field: sorry.format(reference)}})


def _first_input(body: dict) -> str | None:
    """The block id of a submitted modal's first input, where Slack can show an error."""
    view = body.get("view") or {}
    ids = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")]
    return next(iter(ids or ((view.get("state") or {}).get("values") or {})), None)


def _kind(body) -> str:
    if not isinstance(body, dict):
        return "request"
    return body.get("command") or (body.get("event") or {}).get("type") or body.get("type") or "request"
