"""Feedback under faults: a 👍 pressed while the database or Slack fails (Chroma plays no part in feedback)."""
from __future__ import annotations

import pytest

from bot.feedback.store import AnswerRating
from tests.faults.conftest import SLACK_FAULTS
from tests.scenario.conftest import ANSWERABLE, button_value


@pytest.mark.parametrize("faulty", ["database", *SLACK_FAULTS], indirect=True)
def test_a_vote_during_a_fault_is_recorded_once_or_owned_up_to(faulty):
    f = faulty()
    r = f.r
    r.dm(ANSWERABLE)
    r.settle()
    answer = r.posts(channel="DU0ALICE")[-1]

    def press() -> None:
        r.sender.block_action("feedback_helpful", button_value(answer.params["blocks"], "feedback_helpful"),
                              channel_id="DU0ALICE", message_ts=answer.response["ts"],
                              blocks=answer.params["blocks"], response_url=r.slack.response_url("vote"))
        r.settle()

    with f.active(("response_url",)):
        press()
    told = [c.params.get("text", "") for c in r.slack.calls_to("response_url") if c.ok]
    if f.fault == "database":
        assert r.rows(AnswerRating) == [] and any("couldn't record your vote" in t for t in told), told
    else:  # recorded; only the message under the answer could not show it
        assert [rating.vote for rating in r.rows(AnswerRating)] == ["helpful"]

    press()  # pressed again once the fault is gone
    assert [rating.vote for rating in r.rows(AnswerRating)] == ["helpful"]
    f.healthy()
