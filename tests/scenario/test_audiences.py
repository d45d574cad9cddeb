"""Stage-aware answers through Slack: the same question from a pilot participant, an engineer (by user group) and a
colleague in neither gets each the rules that apply to them; a user group Slack cannot read falls back to the general
answer. Signed requests over real HTTP, the fake Slack Web API, the real model over our sample policies."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.comms.announcement_store import AudienceMembers, PilotCohort
from bot.store import session_factory
from tests.scenario.conftest import section_texts

RETENTION = "How long are prompts and responses stored?"
GATEWAY_KEY = "Where should I keep my AI Gateway key?"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def answers(rollout, count: int) -> dict[str, str]:
    """The text of each answer, by the DM channel it went to."""
    posts = rollout.slack.wait_for("chat.postMessage", count=count)
    rollout.settle()
    return {p.params["channel"]: section_texts(p.params["blocks"]) for p in posts}


def test_a_pilot_participant_gets_their_rule_and_everyone_elses_and_a_colleague_only_the_general(rollout_on_each_db):
    rollout = rollout_on_each_db
    PilotCohort(session_factory(rollout.engine)).add(["U0ALICE"], "test", NOW)
    rollout.dm(RETENTION, user="U0ALICE")
    rollout.dm(RETENTION, user="U0BOB")

    texts = answers(rollout, 2)
    alice, bob = texts["DU0ALICE"], texts["DU0BOB"]
    assert "*As a pilot participant:*" in alice and "pilot participants are kept for 90 days" in alice
    assert "*For everyone else:*" in alice and "kept for 30 days" in alice
    assert "Retention during the pilot" in alice  # cited among the sources
    assert "kept for 30 days" in bob and "pilot participants" not in bob and "Retention during the pilot" not in bob
    assert rollout.slack.violations == []


def test_an_engineer_is_known_by_the_user_group_and_others_hear_engineers_have_their_own_rule(rollout):
    rollout.slack.workspace.add_usergroup("engineering", ["U0CAROL"])
    rollout.dm(GATEWAY_KEY, user="U0CAROL")
    rollout.dm(GATEWAY_KEY, user="U0DAN")

    texts = answers(rollout, 2)
    assert "*As a member of engineering:*" in texts["DU0CAROL"] and "sandbox key" in texts["DU0CAROL"]
    assert "Azure Key Vault" in texts["DU0DAN"] and "sandbox" not in texts["DU0DAN"].lower()
    assert "_Members of engineering have different rules on this._" in texts["DU0DAN"]
    assert rollout.slack.calls_to("usergroups.users.list")


def test_people_added_with_rollout_audiences_get_that_audiences_rules(rollout):
    AudienceMembers(session_factory(rollout.engine)).add("engineering", ["U0ERIN"], "test", NOW)
    rollout.dm(GATEWAY_KEY, user="U0ERIN")
    assert "*As a member of engineering:*" in answers(rollout, 1)["DU0ERIN"]


def test_when_slack_cannot_say_who_is_in_a_group_the_answer_is_the_general_one_and_the_log_says_why(rollout,
                                                                                                   caplog):
    rollout.slack.workspace.add_usergroup("engineering", ["U0CAROL"])
    rollout.slack.fail_next("usergroups.list", times=3, status=500)
    with caplog.at_level(logging.WARNING, logger="bot.comms.memberships"):
        rollout.dm(GATEWAY_KEY, user="U0CAROL")
        text = answers(rollout, 1)["DU0CAROL"]
    assert "Azure Key Vault" in text and "As a member of engineering" not in text
    assert "could not read user group @engineering from Slack" in caplog.text
