"""The Bolt app and the services its listeners call: built once at start-up, shared by HTTP and Socket Mode."""
from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from slack_bolt import App
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient

from bot.asking import Asking, Question, RateLimit
from bot.listeners import actions, commands, events
from bot.settings import Settings
from bot.slack_client import ResponseUrlReplier, ThreadReplier, respond, web_client
from bot.store import Store, make_engine, migrate, session_factory

log = logging.getLogger(__name__)

LISTENER_THREADS = 4  # listeners only parse and hand over, so a few threads keep every ack quick


@dataclass
class Services:
    """What listeners hand work to: answering and recording, run by a bounded pool of workers after the ack."""

    asking: Asking
    client: WebClient
    workers: ThreadPoolExecutor
    _pending: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def rate_limit(self) -> RateLimit:
        return self.asking.limit

    def answer_in_thread(self, question: Question, private_notices: bool) -> None:
        """Answer a DM or mention in its thread, after the ack."""
        replier = ThreadReplier(self.client, channel_id=question.channel_id, thread_ts=question.thread_ts,
                                message_ts=question.message_ts, user_id=question.user_id,
                                private_notices=private_notices)
        self.later(self.asking.answer_question, question, replier)

    def answer_command(self, question: Question, response_url: str) -> None:
        """Answer a slash command through its response_url, after the ack."""
        self.later(self.asking.answer_question, question, ResponseUrlReplier(response_url))

    def record_click(self, *, action: str, user_id: str, conversation_id: int | None, channel_id: str | None,
                     message_ts: str | None, response_url: str | None) -> None:
        """Record a click on an answer's button and thank the employee, after the ack."""
        self.later(self._record_click, action, user_id, conversation_id, channel_id, message_ts, response_url)

    def _record_click(self, action, user_id, conversation_id, channel_id, message_ts, response_url) -> None:
        if conversation_id is None and channel_id and message_ts:
            found = self.asking.store.find_by_reply(channel_id, message_ts)
            conversation_id = found.id if found else None
        thanks = self.asking.record_button(conversation_id, user_id, action)
        if response_url:
            respond(response_url, thanks)
        elif channel_id:
            self.client.chat_postEphemeral(channel=channel_id, user=user_id, text=thanks)

    def later(self, work, *args) -> None:
        """Run `work(*args)` on a worker; failures are logged with a reference, never lost silently."""
        with self._changed:
            self._pending += 1
        self.workers.submit(self._run, work, *args)

    @property
    def pending(self) -> int:
        """How many pieces of work were accepted and are not finished yet."""
        with self._changed:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        """Block until every accepted piece of work has finished; False if `timeout` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Finish the work already accepted (answers owed to people), then stop the workers."""
        if self.pending:
            log.warning("finishing %d answers already under way before stopping", self.pending)
        self.workers.shutdown(wait=True)

    def _run(self, work, *args) -> None:
        try:
            work(*args)
        except Exception:
            log.exception("background work %s failed (reference %s)", getattr(work, "__name__", work),
                          uuid.uuid4().hex[:8])
        finally:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()


def build_services(settings: Settings, knowledge_base, store: Store | None = None,
                   client: WebClient | None = None) -> Services:
    """Services over the database (migrated here), a loaded knowledge base and a Web API client."""
    limit = RateLimit.parse(settings.rollout_rate_limit)
    if store is None:
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        store = Store(session_factory(engine))
    client = client or web_client(settings.slack_bot_token, settings.slack_api_url)
    workers = ThreadPoolExecutor(max_workers=settings.rollout_workers, thread_name_prefix="rollout-worker")
    return Services(Asking(store, knowledge_base, limit), client, workers)


def create_app(settings: Settings, services: Services) -> App:
    """The Bolt app: Slack's signature checked on every HTTP request, listeners that ack at once, an error handler."""
    app = App(
        client=services.client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=bool(settings.slack_signing_secret),  # Socket Mode has no signatures
        process_before_response=True,  # listeners only hand work to services.workers, so ack after they return
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="rollout-listener"),
        name="rollout",
    )
    events.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    app.error(_on_error)
    return app


def _on_error(error: Exception, body: dict, response: BoltResponse | None) -> None:
    """A listener failed: log it with a reference; Slack gets a 200 (a retry would fail the same way)."""
    reference = uuid.uuid4().hex[:8]
    log.error("error handling a Slack %s (reference %s)", _kind(body), reference, exc_info=error)
    if response is None:
        return
    response.status = 200
    response.body = ""
    if isinstance(body, dict) and body.get("command"):
        response.headers["content-type"] = ["application/json;charset=utf-8"]
        response.body = json.dumps({"response_type": "ephemeral", "text": (
            f":warning: Sorry, something went wrong on my side (reference `{reference}`). Please try again.")})


def _kind(body) -> str:
    if not isinstance(body, dict):
        return "request"
    return body.get("command") or (body.get("event") or {}).get("type") or body.get("type") or "request"
