"""Rollout with the helpdesk and incident listeners, running over real HTTP against the fake Slack Web API."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from bot.helpdesk.desk import Desk
from bot.operations import Operations
from bot.runtime import build_runtime
from bot.slack.app import create_app
from bot.slack.transport import HttpServer
from bot.store import make_engine
from tests.fakes.payloads import message_event
from tests.scenario.conftest import (  # noqa: F401  (fixtures)
    ANSWERABLE,
    Rollout,
    button_value,
    fake_slack,
    knowledge_base,
    settings_for,
)

HELPDESK, SECURITY = "C0HELPDESK", "C0SECURITY"
AGENT, ASKER, STRANGER = "U0AGENT", "U0ALICE", "U0MALLORY"


@dataclass
class HelpdeskRollout:
    """A running Rollout plus its Desk."""

    rollout: Rollout
    desk: Desk

    def __getattr__(self, name):
        return getattr(self.rollout, name)

    def later(self, minutes: float) -> datetime:
        """A clock `minutes` ahead of now, to drive jobs."""
        return datetime.now().astimezone() + timedelta(minutes=minutes)

    def say(self, text: str, user: str, channel: str, thread_ts: str, channel_type: str = "channel"):
        """A person writes in a thread."""
        return self.rollout.deliver(message_event(text, user=user, channel=channel, thread_ts=thread_ts,
                                                  channel_type=channel_type))


@pytest.fixture
def start_helpdesk(knowledge_base, fake_slack, tmp_path) -> Iterator:
    """start_helpdesk(database_url=None, knowledge_base=None, **settings) -> a running HelpdeskRollout."""
    started: list[Rollout] = []
    fake_slack.workspace.add_channel(HELPDESK, "ai-helpdesk", members=[AGENT, fake_slack.workspace.bot_user_id])
    fake_slack.workspace.add_channel(SECURITY, "security", members=["U0SECURITY"])

    def start(database_url: str | None = None, kb=None, **overrides) -> HelpdeskRollout:
        settings = settings_for(fake_slack, database_url or f"sqlite:///{tmp_path / 'data' / 'rollout.db'}",
                                rollout_helpdesk_channel=HELPDESK, rollout_security_channel=SECURITY,
                                rollout_data_dir=tmp_path / "data", **overrides)
        runtime = build_runtime(settings, knowledge_base=kb or knowledge_base)
        server = HttpServer(create_app(runtime), "127.0.0.1", 0, acking=runtime.services.workers.acking,
                            operations=Operations(runtime)).start()
        started.append(Rollout(settings, runtime.services, server, fake_slack,
                               make_engine(settings.resolved_database_url), runtime))
        return HelpdeskRollout(started[-1], runtime.desk)  # the app's own Desk drives the jobs in tests

    yield start
    for rollout in started:
        rollout.stop()


@pytest.fixture
def desk_rollout(start_helpdesk) -> HelpdeskRollout:
    return start_helpdesk()


@pytest.fixture
def desk_on_each_db(start_helpdesk, db_url) -> HelpdeskRollout:
    return start_helpdesk(db_url)


def escalated(r: HelpdeskRollout, question: str = ANSWERABLE):
    """Ask in a DM, click escalate on the answer; (the answer post, the helpdesk post)."""
    r.dm(question)
    answer = r.slack.wait_for("chat.postMessage")[-1]
    r.settle()
    click = r.sender.block_action("escalate", button_value(answer.params["blocks"], "escalate"),
                                  channel_id=answer.params["channel"], message_ts=answer.response["ts"],
                                  blocks=answer.params["blocks"])
    assert (click.status, click.body) == (200, "")  # else Slack shows the employee an error on the button
    r.settle()
    [ticket_post] = r.posts(channel=HELPDESK)
    return answer, ticket_post
