"""Rollout running for real: uvicorn on a loopback port, the fake Slack Web API, signed requests, a real database.

The knowledge base (the slow part: loading the model, ingesting the sample policies) is built once per session.
"""
from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.answering.services import Services
from bot.operations import Operations
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.transport import HttpServer
from bot.store import make_engine, session_factory
from bot.store.repositories import Store
from knowledge.base import KnowledgeBase
from tests.fakes.payloads import BOT_USER_ID, app_mention_event, message_event
from tests.fakes.signing import Reply, SlackSender
from tests.fakes.slack_api import Call, FakeSlack, fake_slack  # noqa: F401  (fixture)
from tests.fakes.socket_mode import fake_socket_mode  # noqa: F401  (fixture)

POLICIES = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
SIGNING_SECRET = "8f3b2c1d0e9a7b6c5d4e3f2a1b0c9d8e"
# Shaped like real tokens, so a test can tell whether one ever reaches a log.
BOT_TOKEN = "xoxb-1234567890-0987654321-Sc3nar1oT0kenValue"
APP_TOKEN = "xapp-1-A0ROLLOUT-1234567890-abcdef0123456789abcdef"
ANSWERABLE = "When does the DPO have to be told if an AI incident involves personal data?"
UNANSWERABLE = "What is the capital of Peru?"


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory) -> KnowledgeBase:
    """The sample policies, ingested once for the whole session (loading the model takes seconds)."""
    data_dir = tmp_path_factory.mktemp("knowledge")
    kb = KnowledgeBase.open(data_dir)
    kb.ingest([POLICIES])
    kb.ask("How do I get access to the approved AI tools?")  # warm the caches, as `rollout serve` does
    return kb


@dataclass
class Rollout:
    """One running Rollout process: its HTTP server, services and database, plus Slack's side of the wire."""

    settings: Settings
    services: Services
    server: HttpServer
    slack: FakeSlack
    engine: Engine
    runtime: Runtime
    stopped: bool = False

    @property
    def store(self) -> Store:
        return Store(session_factory(self.engine))

    def rows(self, model) -> list:
        """Every row of a table (a model class), oldest first."""
        with session_factory(self.engine)() as session:
            return list(session.scalars(select(model)))

    @property
    def sender(self) -> SlackSender:
        return SlackSender(self.server.url, SIGNING_SECRET)

    def dm(self, text: str, user: str = "U0ALICE", **fields) -> tuple[dict, Reply]:
        """Send a direct message to the bot; returns the event and the HTTP reply."""
        event = message_event(text, user=user, channel=fields.pop("channel", f"D{user}"), channel_type="im",
                              **fields)
        return event, self.deliver(event)

    def mention(self, text: str, **fields) -> tuple[dict, Reply]:
        """Mention the bot in a channel."""
        event = app_mention_event(f"<@{BOT_USER_ID}> {text}", **fields)
        return event, self.deliver(event)

    def deliver(self, event: dict, **envelope) -> Reply:
        """Post the employee's message in the fake workspace, as Slack holds it, and deliver its event."""
        self.slack.workspace.add_message(event["channel"], event.get("text", ""), user=event["user"], ts=event["ts"],
                                         thread_ts=event.get("thread_ts"))
        return self.sender.event(event, **envelope)

    def settle(self, timeout: float = 20) -> None:
        """Wait until every answer accepted so far has been delivered."""
        assert self.services.wait_idle(timeout), f"{self.services.workers.pending} pieces of work still pending"

    def posts(self, **match) -> list[Call]:
        """Successful chat.postMessage calls whose params include `match`."""
        return [c for c in self.slack.calls_to("chat.postMessage")
                if c.ok and all(c.params.get(k) == v for k, v in match.items())]

    def healthz(self) -> int:
        with urllib.request.urlopen(self.server.url + "/healthz", timeout=5) as response:
            return response.status

    def stop(self) -> None:
        """Stop serving, finish the answers under way, close the database; as a deployed process stops."""
        if self.stopped:
            return
        self.stopped = True
        self.server.stop()
        self.runtime.close()
        self.engine.dispose()


def settings_for(slack: FakeSlack, database_url: str, **overrides) -> Settings:
    """Settings as the environment of a deployed Rollout would give them, pointed at the fakes."""
    values = dict(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.base_url,
                  database_url=database_url, rollout_rate_limit="20/300", rollout_workers=4)
    return Settings(_env_file=None, **{**values, **overrides})


def serve(settings: Settings, knowledge_base: KnowledgeBase, slack: FakeSlack) -> Rollout:
    """A Rollout process serving HTTP on a loopback port over this knowledge base; stop() it when done."""
    runtime = build_runtime(settings, knowledge_base=knowledge_base)
    server = HttpServer(create_app(runtime), "127.0.0.1", 0, acking=runtime.services.workers.acking,
                        operations=Operations(runtime)).start()
    return Rollout(settings, runtime.services, server, slack, make_engine(settings.resolved_database_url), runtime)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'rollout.db'}"


@pytest.fixture
def start_rollout(knowledge_base, fake_slack, sqlite_url) -> Iterator:
    """start_rollout(database_url=None, **settings) -> a running Rollout; several may share one database."""
    started: list[Rollout] = []

    def start(database_url: str | None = None, **overrides) -> Rollout:
        started.append(serve(settings_for(fake_slack, database_url or sqlite_url, **overrides), knowledge_base,
                             fake_slack))
        return started[-1]

    yield start
    for rollout in started:
        rollout.stop()


@pytest.fixture
def rollout(start_rollout) -> Rollout:
    """Rollout on SQLite."""
    return start_rollout()


@pytest.fixture
def rollout_on_each_db(start_rollout, db_url) -> Rollout:
    """Rollout on SQLite, then on the real PostgreSQL (skipped with the reason when it is unreachable)."""
    return start_rollout(db_url)


def section_texts(blocks: list[dict]) -> str:
    """Every text of a message's blocks, joined, for assertions on what the employee reads."""
    texts = []
    for block in blocks or []:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [e.get("text", "") for e in block.get("elements", []) if e.get("type") in ("mrkdwn", "plain_text")]
    return "\n".join(texts)


def action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks or [] if b["type"] == "actions" for e in b["elements"]]


def button_value(blocks: list[dict], action_id: str) -> str:
    return next(e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)


def ack_json(reply: Reply) -> dict:
    return json.loads(reply.body) if reply.body.startswith("{") else {"text": reply.body}
