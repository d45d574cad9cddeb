"""/rollout pilot from Slack: signed slash commands over real HTTP to the app, the fake Web API for user groups and
the response_url, and the real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from bot.comms.announcement_store import PilotCohort
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)
from tests.feedback.test_slack import Running


@pytest.fixture
def running(fake_slack, db_url):
    fake_slack.workspace.add_usergroup("pilot-team", ["U0BOB", "U0CAROL"])
    running = Running(fake_slack, db_url)  # ROLLOUT_ADMINS=U0ADMIN
    yield running
    running.stop()


def command(running: Running, text: str, user: str = "U0ADMIN", n: str = "p1"):
    reply = running.sender.command(text=f"pilot {text}", user_id=user, response_url=running.slack.response_url(n))
    assert reply.status == 200 and reply.elapsed < 3
    assert running.services.wait_idle(10)
    return reply


def members(running: Running) -> list[str]:
    return PilotCohort(running.store._sessions).members()


def test_an_admin_adds_people_and_a_user_group_then_lists_and_removes(running) -> None:
    command(running, "add <@U0ALICE|alice> <!subteam^S0PILOT|@pilot-team>")
    [answer] = running.slack.wait_for("response_url")
    assert answer.params["text"] == "Added 3 to the pilot (0 already in it); 3 members."
    assert sorted(members(running)) == ["U0ALICE", "U0BOB", "U0CAROL"]

    command(running, "add <@U0BOB|bob>", n="p2")
    assert running.slack.wait_for("response_url", 2)[-1].params["text"] == \
        "Added 0 to the pilot (1 already in it); 3 members."

    listed = command(running, "list")
    assert "3 in the pilot: <@U0ALICE>, <@U0BOB>, <@U0CAROL>" in listed.body

    command(running, "remove <@U0BOB|bob>", n="p3")
    assert running.slack.wait_for("response_url", 3)[-1].params["text"] == "Removed 1 from the pilot; 2 members."
    assert sorted(members(running)) == ["U0ALICE", "U0CAROL"]


def test_someone_who_is_not_an_admin_is_told_who_can(running) -> None:
    reply = command(running, "add <@U0BOB|bob>", user="U0ALICE")
    assert "Only Rollout admins can change the pilot: <@U0ADMIN>. Ask one of them." in reply.body
    assert members(running) == [] and running.slack.calls_to("response_url") == []


def test_an_unknown_group_or_a_missing_name_gets_a_message_saying_what_to_do(running) -> None:
    command(running, "add @no-such-team")
    [answer] = running.slack.wait_for("response_url")
    assert "no user group '@no-such-team'" in answer.params["text"]
    assert "Usage: `/rollout pilot add|remove|list" in command(running, "add").body
    assert members(running) == []


def test_a_command_slack_sends_again_changes_the_pilot_and_answers_once(running) -> None:
    for _ in range(2):  # one trigger_id: Slack's retry of a command it had no ack for in time
        reply = running.sender.command(text="pilot add <@U0ALICE|alice>", user_id="U0ADMIN", trigger_id="13.42.abc",
                                       response_url=running.slack.response_url("p1"))
        assert reply.status == 200 and "Updating the pilot" in reply.body
    assert running.services.wait_idle(10)

    [answer] = running.slack.calls_to("response_url")
    assert answer.params["text"] == "Added 1 to the pilot (0 already in it); 1 members."
    assert members(running) == ["U0ALICE"]
