"""Answering under faults: a DM question asked while the database, Chroma or Slack fails."""
from __future__ import annotations

from tests.fakes.payloads import message_event
from tests.scenario.conftest import ANSWERABLE

APOLOGY = "something went wrong on my side"


def replies(r, event) -> list[str]:
    """What the bot posted in the question's thread, in order."""
    return [p.params["text"] for p in r.posts(channel=event["channel"]) if p.params.get("thread_ts") == event["ts"]]


def test_a_question_asked_during_a_fault_is_answered_once_or_owned_up_to(faulty):
    f = faulty()
    r = f.r
    event = message_event(ANSWERABLE, user="U0ALICE", channel="DU0ALICE", channel_type="im")
    with f.active():
        first = r.deliver(event)
        r.settle()
    if first.status != 200:  # not acked: Slack delivers it again
        assert f.fault == "database"
        r.sender.event(event, retry_num=1, retry_reason="http_error")
    f.retries()

    said = replies(r, event)
    answers = [t for t in said if "DPO" in t]
    apologies = [t for t in said if APOLOGY in t]
    assert len(answers) + len(apologies) == 1, said  # answered, or told plainly it was not: once
    # An index that is down, or a database that could not record the question when it came (acked, then owned up
    # to: Slack does not deliver an acked event again), end in the apology; every Slack fault ends in the answer.
    assert f.fault in ("chroma", "database") or answers, said
    assert r.services.intake.work.pending() == []
    f.healthy()
    again = message_event("Which AI tools are approved?", user="U0ALICE", channel="DU0ALICE", channel_type="im")
    r.deliver(again)
    r.settle()
    assert len(replies(r, again)) == 1
