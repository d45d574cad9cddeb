"""Questions beyond the in-memory queue wait in the database; a question the database cannot record is owned up to."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import text

from bot.answering.work_store import WorkStore
from bot.store import session_factory
from tests.scenario.conftest import ANSWERABLE

QUESTIONS = ["Which AI tools are approved?", "How fast must I report a leaked API key?"]


def test_beyond_the_queue_limit_questions_wait_in_the_database_not_in_memory(start_rollout, fake_slack):
    rollout = start_rollout(rollout_queue_limit=1, rollout_workers=1)
    work = WorkStore(session_factory(rollout.engine))
    fake_slack.hold_next("chat.postMessage", 1)
    first, _ = rollout.dm(ANSWERABLE, user="U0FIRST")
    fake_slack.wait_held("chat.postMessage")

    others = [rollout.dm(question, user=f"U0NEXT{n}")[0] for n, question in enumerate(QUESTIONS)]

    assert rollout.services.intake.held == 1
    assert sorted(item.attempts for item in work.pending()) == [0, 0, 1]  # two wait, taken by nobody yet
    fake_slack.release()
    rollout.settle()
    while work.pending():  # what the serving process's resume job does every few seconds
        assert rollout.services.resume() == 1  # one at a time: the limit holds for resumed work too
        rollout.settle()
    answers = Counter(c.params["thread_ts"] for c in rollout.posts())
    assert answers == Counter({event["ts"]: 1 for event in [first, *others]})


def test_a_question_the_database_cannot_record_is_owned_up_to_in_its_thread(rollout):
    with rollout.engine.begin() as connection:  # every question's record goes through this table
        connection.execute(text("DROP TABLE processed_events"))

    event, reply = rollout.dm(ANSWERABLE)
    rollout.settle()

    assert reply.status == 200
    [apology] = rollout.posts(thread_ts=event["ts"])
    assert "something went wrong on my side" in apology.params["text"] and "reference" in apology.params["text"]
