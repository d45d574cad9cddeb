"""Who is in which document audience: the pilot cohort, `rollout audiences` entries (people and user groups) and the
user group named like the audience, read through the fake Slack Web API; on SQLite and PostgreSQL."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.comms.announcement_store import AudienceMembers, PilotCohort
from bot.comms.delivery import SlackDelivery
from bot.comms.errors import BadTarget
from bot.comms.memberships import (
    Memberships,
    UserGroupCache,
    asker_audiences,
    audience_name,
    known_audiences,
    member_entry,
)
from bot.slack.pacing import SendPacer
from tests.fakes.slack_api import FakeSlack

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
GROUPS = {"engineering": ["U0BOB", "U0CAROL"], "data-team": ["U0DAN"]}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack():
    with FakeSlack(usergroups=GROUPS) as fake:
        yield fake


def memberships(sessions, slack, clock=None) -> Memberships:
    delivery = SlackDelivery("xoxb-test", slack.base_url, SendPacer(50, channel_interval=0))
    groups = UserGroupCache(delivery.usergroup_members, clock=clock or Clock())
    return Memberships(AudienceMembers(sessions), PilotCohort(sessions), groups)


def test_people_belong_through_the_pilot_the_list_and_user_groups(sessions, slack):
    PilotCohort(sessions).add(["U0ALICE"], "test", NOW)
    listed = AudienceMembers(sessions)
    assert listed.add("engineering", ["U0EVE", "@data-team"], "test", NOW) == 2
    assert listed.add("engineering", ["U0EVE"], "test", NOW) == 0  # added again: no duplicate
    m = memberships(sessions, slack)
    names = {"pilot", "engineering"}
    assert m.audiences_of("U0ALICE", names) == {"pilot"}
    assert m.audiences_of("U0EVE", names) == {"engineering"}  # listed by id
    assert m.audiences_of("U0BOB", names) == {"engineering"}  # in the user group @engineering (same name)
    assert m.audiences_of("U0DAN", names) == {"engineering"}  # in @data-team, added to the audience
    assert m.audiences_of("U0ZOE", names) == set()
    assert m.audiences_of("U0BOB", set()) == set()
    assert m.people("engineering") == ["U0EVE", "U0BOB", "U0CAROL", "U0DAN"]
    assert m.people("pilot") == ["U0ALICE"]
    assert listed.remove("engineering", ["@data-team", "U0NOBODY"]) == 1
    assert m.audiences_of("U0DAN", names) == set()
    assert listed.all() == {"engineering": ["U0EVE"]}


def test_user_groups_are_read_once_per_expiry_and_a_failure_falls_back_to_the_general_answers(sessions, slack,
                                                                                             caplog):
    clock = Clock()
    m = memberships(sessions, slack, clock)
    assert m.audiences_of("U0BOB", {"engineering"}) == {"engineering"}
    calls = len(slack.calls_to("usergroups.users.list"))
    assert m.audiences_of("U0CAROL", {"engineering"}) == {"engineering"}
    assert len(slack.calls_to("usergroups.users.list")) == calls  # from the cache
    clock.now += 601
    slack.fail_next("usergroups.users.list", status=500)
    with caplog.at_level(logging.WARNING, logger="bot.comms.memberships"):
        assert m.audiences_of("U0BOB", {"engineering"}) == set()
    assert "could not read user group @engineering from Slack" in caplog.text
    clock.now += 30
    assert m.audiences_of("U0BOB", {"engineering"}) == set()  # not asked again at once
    clock.now += 31
    assert m.audiences_of("U0BOB", {"engineering"}) == {"engineering"}  # retried after a minute


def test_without_slack_only_the_pilot_and_listed_people_count(sessions):
    AudienceMembers(sessions).add("engineering", ["U0EVE", "@eng"], "test", NOW)
    m = Memberships(AudienceMembers(sessions), PilotCohort(sessions), None)
    assert m.audiences_of("U0EVE", {"engineering"}) == {"engineering"}
    assert m.people("engineering") == ["U0EVE"]


def test_nobody_is_looked_up_while_no_document_names_an_audience(sessions, slack):
    class KnowledgeBase:
        def audiences(self):
            return frozenset()

    asker = asker_audiences(memberships(sessions, slack), KnowledgeBase())
    assert asker("U0BOB") == frozenset()
    assert slack.calls_to("usergroups.list") == []


@pytest.mark.parametrize("text", ["All employees", "everyone", "", "#eng", "eng/ops"])
def test_an_audience_name_is_one_word(text):
    with pytest.raises(BadTarget, match="is not an audience name"):
        audience_name(text)


def test_members_are_user_ids_or_group_handles():
    assert [member_entry(t) for t in ["U0ALICE", "@U0ALICE", "@eng-team"]] == ["U0ALICE", "U0ALICE", "@eng-team"]
    with pytest.raises(BadTarget, match="neither a Slack user id"):
        member_entry("alice")


def test_an_audience_is_known_through_the_pilot_the_list_or_a_user_group_and_other_names_are_not(sessions, slack):
    names = {"pilot", "engineering", "data-team", "finance", "developers", "isso"}
    assert memberships(sessions, slack).known(names) == {"pilot", "engineering", "data-team"}  # the last two: groups
    AudienceMembers(sessions).add("finance", ["U0FRANK"], "test", NOW)
    assert memberships(sessions, slack).known(names) == {"pilot", "engineering", "data-team", "finance"}
    without_slack = Memberships(AudienceMembers(sessions), PilotCohort(sessions), None)
    assert without_slack.known(names) == {"pilot", "finance"}
    assert without_slack.known(set()) == set()


def test_a_group_slack_cannot_read_still_restricts_and_one_that_does_not_exist_does_not(sessions, slack):
    m = memberships(sessions, slack)
    slack.fail_next("usergroups.list", times=2, status=500)  # one lookup each, in whatever order
    assert m.known({"engineering", "nosuchgroup"}) == {"engineering", "nosuchgroup"}  # Slack could not say: keep both
    fresh = memberships(sessions, slack)
    assert fresh.known({"engineering", "nosuchgroup"}) == {"engineering"}


def test_an_audience_a_channel_setting_names_is_known(sessions):
    class Indexed:
        def audiences(self):
            return frozenset({"engineering", "finance", "isso"})

    without_slack = Memberships(AudienceMembers(sessions), PilotCohort(sessions), None)
    known = known_audiences(without_slack, Indexed(), lambda: {"finance", "pilot"})
    assert known() == {"finance"}
