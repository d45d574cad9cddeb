"""Durable intake over a real SQLite store, real workers and the fake Slack: what is stored, resumed, given up on."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.slack.app import Workers
from bot.answering.intake import GIVE_UP, Intake, Route
from bot.store import session_factory
from bot.store.models import ProcessedEvent
from bot.answering.work_store import WorkStore
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)
from tests.unit.test_asking import NOW, CannedKnowledgeBase, asking, question, store  # noqa: F401  (fixture)

LEASE = timedelta(seconds=20)


@pytest.fixture
def intake(store, fake_slack):  # noqa: F811
    workers = Workers(1)
    yield Intake(asking(store, CannedKnowledgeBase()), WorkStore(store._sessions), fake_slack.client(), workers,
                 lease=LEASE, limit=4, clock=lambda: NOW)
    workers.close()


def stored(intake: Intake, key: str) -> ProcessedEvent:
    with intake.work._sessions() as session:
        return session.get_one(ProcessedEvent, key)


def test_a_question_with_a_secret_is_recorded_without_it_and_a_resumed_one_gets_only_the_warning(intake,
                                                                                                  fake_slack):
    secret = question("my key AKIAZ7Q4N2WXK5PLM3RT leaked, what now? mail bob@example.com", ts="1.1")
    intake.limit = 0  # nothing held in memory: the record is all there is

    assert intake.take(secret, Route()) is True

    row = stored(intake, secret.dedupe_key)
    assert "AKIA" not in str(row.payload) and "bob@" not in str(row.payload)
    assert row.payload["secret"] and row.lease_owner is None
    intake.limit = 4
    assert intake.resume(NOW) == 1 and intake.workers.wait_idle(10)
    [warning] = fake_slack.calls_to("chat.postMessage")
    assert "I did not store it" in warning.params["text"] and intake.asking.knowledge_base.asked == []
    assert stored(intake, secret.dedupe_key).status == "done"


def test_a_question_left_past_the_give_up_bound_is_owned_up_to_not_answered(intake, fake_slack):
    old = question("Can I use Copilot?", ts="2.1")
    intake.work.record(old.dedupe_key, "dm", "U1", NOW - GIVE_UP - timedelta(seconds=1),
                       {"question": {**old.__dict__, "dedupe_key": None}, "route": {}}, "dead-process",
                       NOW - timedelta(seconds=1))

    assert intake.resume(NOW) == 1 and intake.workers.wait_idle(10)

    [apology] = fake_slack.calls_to("chat.postMessage")
    assert "couldn't answer your question in time" in apology.params["text"]
    assert apology.params["thread_ts"] == "2.1" and intake.asking.knowledge_base.asked == []
    assert (stored(intake, old.dedupe_key).status, stored(intake, old.dedupe_key).payload) == ("abandoned", None)


def test_work_whose_reply_fails_is_let_go_and_taken_again_once_slack_is_back(intake, fake_slack):
    asked = question("Can I use Copilot?", ts="3.1")
    fake_slack.fail_next("chat.postMessage", times=2, status=400)  # the answer, then the apology, both refused

    intake.take(asked, Route())
    assert intake.workers.wait_idle(10)

    assert stored(intake, asked.dedupe_key).status == "pending" and intake.held == 0
    assert intake.resume(NOW + LEASE + timedelta(seconds=1)) == 1 and intake.workers.wait_idle(10)
    assert [c.ok for c in fake_slack.calls_to("chat.postMessage")][-1] is True
    assert stored(intake, asked.dedupe_key).status == "done"
