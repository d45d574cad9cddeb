"""Durable intake over a real SQLite store, real workers and the fake Slack: what is stored, resumed, given up on."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.answering.intake import GIVE_UP, Intake, Route
from bot.answering.work_store import WorkStore
from bot.slack.workers import Workers
from bot.store.models import ProcessedEvent
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


def test_a_click_is_recorded_before_its_ack_done_after_it_and_resumed_if_its_process_died(intake, fake_slack):
    done = []
    intake.handle("click:test", lambda payload: done.append((payload["user"], payload["n"])))
    intake.limit = 0  # a process that died at once: the record is all there is

    assert intake.accept("click:test", "click:test:U1:1.1", "U1", {"n": 1}) is True
    assert intake.accept("click:test", "click:test:U1:1.1", "U1", {"n": 1}) is False  # the same click again

    assert done == [] and stored(intake, "click:test:U1:1.1").user_id is None  # not a question for the rate limit
    intake.limit = 4
    assert intake.resume(NOW) == 1 and intake.workers.wait_idle(10)
    assert done == [("U1", 1)] and stored(intake, "click:test:U1:1.1").status == "done"


def test_click_work_that_fails_is_tried_again_and_owned_up_to_past_the_bound(intake, fake_slack):
    attempts = []

    def flaky(payload):
        attempts.append(payload)
        raise RuntimeError("the database went away")

    intake.handle("click:test", flaky)
    intake.accept("click:test", "k", "U1", {})
    assert intake.workers.wait_idle(10) and len(attempts) == 1
    assert stored(intake, "k").status == "pending" and intake.held == 0  # let go, its lease running out

    assert intake.resume(NOW + LEASE + timedelta(seconds=1)) == 1 and intake.workers.wait_idle(10)
    assert len(attempts) == 2
    assert intake.resume(NOW + GIVE_UP + timedelta(minutes=1)) == 1 and intake.workers.wait_idle(10)
    [sorry] = fake_slack.calls_to("chat.postMessage")
    assert sorry.params["channel"] == "U1" and "could not be finished in time" in sorry.params["text"]
    assert len(attempts) == 2 and stored(intake, "k").status == "abandoned"


def test_work_given_up_on_tells_the_person_what_was_not_done(intake, fake_slack):
    intake.handle("command:test", lambda payload: None, "changing the pilot")
    intake.work.record("command:test:T1", "command:test", None, NOW - GIVE_UP - timedelta(seconds=1),
                       {"user": "U1"}, "dead-process", NOW - timedelta(seconds=1))

    assert intake.resume(NOW) == 1 and intake.workers.wait_idle(10)

    [sorry] = fake_slack.calls_to("chat.postMessage")
    assert sorry.params["channel"] == "U1"
    assert sorry.params["text"].startswith(":warning: Sorry, changing the pilot could not be finished in time")
    assert stored(intake, "command:test:T1").status == "abandoned"


def test_work_of_a_kind_this_process_does_not_handle_yet_is_left_for_later_not_lost(intake, fake_slack):
    """A process that resumes work before every feature registered its kinds (or an older one meeting a newer
    kind) leaves it pending under a fresh lease; once a handler exists it is done."""
    intake.work.record("click:later:U1:1.1", "click:later", None, NOW, {"user": "U1", "n": 1}, None, None)
    assert intake.resume(NOW) == 1 and intake.workers.wait_idle(10)
    assert stored(intake, "click:later:U1:1.1").status != "done" and fake_slack.calls == []
    done = []
    intake.handle("click:later", lambda payload: done.append(payload["n"]))
    assert intake.resume(NOW + LEASE + timedelta(seconds=1)) == 1 and intake.workers.wait_idle(10)
    assert done == [1] and stored(intake, "click:later:U1:1.1").status == "done"
