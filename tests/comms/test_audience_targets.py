"""Announcements and acknowledgement campaigns aimed at a document audience (`audience:NAME`): its people are looked
up when it is sent — the pilot cohort for `pilot`, people and user groups added with `rollout audiences`, and the user
group named like the audience — each reached once. Real database (SQLite and PostgreSQL), the fake Slack."""
from __future__ import annotations

from collections import Counter

import pytest

from bot.comms.announcement_store import AudienceMembers, PilotCohort
from bot.comms.audiences import Target, parse_target, parse_targets
from bot.comms.delivery import SlackDelivery
from bot.comms.errors import BadTarget
from bot.comms.memberships import Memberships, UserGroupCache
from bot.comms.tables import Announcement
from bot.features import job_kinds
from bot.slack.pacing import SendPacer
from bot.store import session_factory
from jobs.dispatch import Dispatcher
from jobs.runs import DueRun
from tests.comms.conftest import StrictSlack, job_context

KINDS = job_kinds()


def test_an_audience_target_is_parsed_apart_from_a_user_group_handle():
    assert parse_target("audience:Engineering") == Target("audience", "engineering")
    assert str(parse_target("audience:Engineering")) == "audience:engineering"  # stored, and parsed again, as such
    assert parse_target("engineering") == Target("usergroup", "engineering")
    assert parse_targets(["audience:pilot, pilot"]) == [Target("audience", "pilot"), Target("pilot", "pilot")]
    with pytest.raises(BadTarget, match="audience:NAME"):
        parse_target("audience:")


def test_an_announcement_to_an_audience_reaches_its_people_once_when_it_is_sent(engine, slack: StrictSlack,
                                                                              clock) -> None:
    sessions = session_factory(engine)
    delivery = SlackDelivery("xoxb-test", slack.base_url, SendPacer(200, channel_interval=0))
    groups = UserGroupCache(delivery.usergroup_members)
    memberships = Memberships(AudienceMembers(sessions), PilotCohort(sessions), groups)
    ctx = job_context(engine, slack, clock, audience_people=memberships.people)
    AudienceMembers(sessions).add("engineering", ["U0EVE", "@pilot-team"], "test", clock.now)
    PilotCohort(sessions).add(["U0ALICE"], "test", clock.now)
    announcement = ctx.announcements.add(Announcement(
        id="ann-audience", text="Sandbox keys are here", targets=["audience:engineering", "audience:pilot"],
        at=clock.now, tz="UTC", status="scheduled", created_at=clock.now, updated_at=clock.now))
    ctx.runs.record("announcement:ann-audience", "announcement", announcement.id, [DueRun(clock.now, "due")],
                    clock.now)

    assert Dispatcher(ctx, KINDS).run_once() is True
    # @engineering (same name): BOB, CAROL, DAN; listed: EVE and @pilot-team (ALICE, BOB); pilot: ALICE again
    assert Counter(slack.posted_to()) == {"U0EVE": 1, "U0BOB": 1, "U0CAROL": 1, "U0DAN": 1, "U0ALICE": 1}
    [run] = ctx.runs.runs("announcement", announcement.id)
    assert (run.status, run.detail) == ("done", "5 sent, 0 failed")
    vias = {d.recipient: d.via for d in ctx.runs.deliveries([run.id])}
    # each through the first target that reached them
    assert vias["U0ALICE"] == "audience:engineering" and vias["U0EVE"] == "audience:engineering"
    ctx.pool.shutdown()


def test_an_acknowledgement_campaign_can_ask_an_audience(engine, slack: StrictSlack, clock) -> None:
    from bot.comms.acknowledgements import AckService

    sessions = session_factory(engine)
    ctx = job_context(engine, slack, clock)
    AudienceMembers(sessions).add("engineering", ["U0EVE"], "test", clock.now)
    memberships = Memberships(AudienceMembers(sessions), PilotCohort(sessions), None)
    service = AckService(ctx.acks, ctx.runs, ctx.directory, ctx.pilot, clock, "UTC", memberships.people)
    _, members = service.check_start(["audience:engineering", "U0ALICE"], "2026-12-11")
    assert members == [("U0EVE", "audience:engineering"), ("U0ALICE", "U0ALICE")]
    ctx.pool.shutdown()
