"""The buttons under an answer: acked at once, recorded once per person, and the employee is thanked."""
from __future__ import annotations

import pytest

from bot.feedback.store import AnswerRating
from bot.store import Interaction
from tests.scenario.conftest import ANSWERABLE, UNANSWERABLE, button_value


def answered(rollout, question: str = ANSWERABLE):
    """Ask in a DM; the answer's chat.postMessage call."""
    rollout.dm(question)
    post = rollout.slack.wait_for("chat.postMessage")[-1]
    rollout.settle()
    return post


@pytest.mark.parametrize("action_id, thanks", [
    ("escalate", "a person to follow up"),  # 👍/👎 are ratings now: tests/feedback/test_slack.py and below
])
def test_a_click_is_acked_recorded_and_the_employee_thanked(rollout_on_each_db, action_id, thanks):
    rollout = rollout_on_each_db
    post = answered(rollout)
    value = button_value(post.params["blocks"], action_id)

    reply = rollout.sender.block_action(action_id, value, channel_id=post.params["channel"],
                                        message_ts=post.response["ts"], blocks=post.params["blocks"],
                                        response_url=rollout.slack.response_url("click-1"))
    [response] = rollout.slack.wait_for("response_url")
    rollout.settle()

    assert reply.status == 200 and reply.elapsed < 3
    assert thanks in response.params["text"] and response.params["response_type"] == "ephemeral"
    assert response.params["replace_original"] is False  # the answer and its buttons stay
    [interaction] = rollout.rows(Interaction)
    assert (interaction.conversation_id, interaction.user_id, interaction.action) == (int(value), "U0ALICE", action_id)


def test_the_escalate_button_of_a_dont_know_answer_is_recorded(rollout):
    post = answered(rollout, UNANSWERABLE)

    rollout.sender.block_action("escalate", button_value(post.params["blocks"], "escalate"),
                                response_url=rollout.slack.response_url("click-2"))
    rollout.slack.wait_for("response_url")
    rollout.settle()
    assert [i.action for i in rollout.rows(Interaction)] == ["escalate"]


def test_clicking_twice_records_once_and_says_so(rollout):
    post = answered(rollout)
    value = button_value(post.params["blocks"], "feedback_helpful")

    for n in (1, 2):
        rollout.sender.block_action("feedback_helpful", value, blocks=post.params["blocks"],
                                    response_url=rollout.slack.response_url(f"c{n}"))
        rollout.settle()
    first, second = rollout.slack.wait_for("response_url", count=2)
    assert first.params["replace_original"] is True and "Thanks — recorded: helpful" in str(first.params["blocks"])
    assert [r.vote for r in rollout.rows(AnswerRating)] == ["helpful"]


def test_a_click_on_an_unknown_answer_is_explained_not_recorded(rollout):
    rollout.sender.block_action("feedback_helpful", "999999", response_url=rollout.slack.response_url("c"))

    [response] = rollout.slack.wait_for("response_url")
    rollout.settle()
    assert "couldn't find that answer" in response.params["text"]
    assert rollout.rows(AnswerRating) == []


def test_a_click_without_a_value_is_matched_by_the_message_it_was_on(rollout):
    post = answered(rollout)

    rollout.sender.block_action("feedback_not_helpful", "", channel_id=post.params["channel"],
                                message_ts=post.response["ts"], response_url=rollout.slack.response_url("c"))
    rollout.slack.wait_for("response_url")
    rollout.settle()
    assert [r.vote for r in rollout.rows(AnswerRating)] == ["not_helpful"]


def test_a_vote_is_stored_before_its_ack(rollout_on_each_db):
    """Its whole effect is one write made in the listener: once Slack has the ack, the vote is in the database, so a
    process dying right after the ack loses nothing (README, "Clicks, commands and modal submissions")."""
    rollout = rollout_on_each_db
    post = answered(rollout)
    rollout.slack.hold_next("response_url", 1, act=False)  # the thanks after the ack never arrives

    reply = rollout.sender.block_action("feedback_helpful", button_value(post.params["blocks"], "feedback_helpful"),
                                        channel_id=post.params["channel"], message_ts=post.response["ts"],
                                        blocks=post.params["blocks"], response_url=rollout.slack.response_url("v"))

    assert reply.status == 200
    [rating] = rollout.rows(AnswerRating)  # read as soon as the ack arrived, without waiting for the workers
    assert rating.user_id == "U0ALICE"
    rollout.slack.release()
