"""`/rollout announce`, its modal and buttons, and ack_accept: signed requests over HTTP to a Bolt app, answered
through the fake Slack; nothing inside the app is mocked."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from slack_bolt import App

from bot.comms import listeners as announce
from bot.comms.acknowledgements import PolicySummary
from bot.comms.blocks import ACK_ACCEPT, ANNOUNCE_CANCEL, ANNOUNCE_CONFIRM, ANNOUNCE_MODAL
from bot.runtime import build_runtime
from bot.slack import commands
from bot.store.models import ProcessedEvent
from tests.comms.conftest import StrictSlack, settings_for
from tests.fakes.payloads import block_actions, view_submission
from tests.fakes.test_fakes import SIGNING_SECRET, served


@pytest.fixture
def runtime(db_url: str, slack: StrictSlack, tmp_path: Path):
    runtime = build_runtime(settings_for(db_url, slack, tmp_path))
    yield runtime
    runtime.close()


@pytest.fixture
def app(runtime):
    """A Bolt app with the /rollout command and the announce listeners; yields (sender, comms)."""
    bolt = App(client=runtime.services.client, signing_secret=SIGNING_SECRET,
               process_before_response=True)  # as bot/slack/app.py
    subcommands = commands.Subcommands()
    commands.register(bolt, SimpleNamespace(), subcommands)
    announce.register(bolt, runtime.comms, runtime.services, subcommands=subcommands)
    with served(bolt) as sender:
        yield sender, runtime.comms


def modal_values(text: str, audience: str, at: datetime | None = None, cron: str = "", tz: str = "Europe/London"):
    return {"message": {"value": {"type": "plain_text_input", "value": text}},
            "audience": {"value": {"type": "plain_text_input", "value": audience}},
            "at": {"value": {"type": "datetimepicker", "selected_date_time": int(at.timestamp()) if at else None}},
            "cron": {"value": {"type": "plain_text_input", "value": cron or None}},
            "tz": {"value": {"type": "plain_text_input", "value": tz}}}


def test_only_admins_can_announce_and_others_are_told_who_can(app, slack: StrictSlack) -> None:
    sender, _ = app
    reply = sender.command(text="announce", user_id="U0ALICE")
    assert reply.status == 200
    assert "Only Rollout admins can schedule announcements: <@U0ADMIN>. Ask one of them." in reply.body
    assert slack.calls_to("views.open") == []


def test_an_admin_schedules_through_the_modal_after_a_preview_dm(app, slack: StrictSlack) -> None:
    sender, comms = app
    assert sender.command(text="announce", user_id="U0ADMIN").status == 200
    [opened] = slack.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == ANNOUNCE_MODAL
    assert next(b for b in view["blocks"] if b["block_id"] == "tz")["element"]["initial_value"] == "Europe/London"
    assert slack.violations == []

    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    refused = sender.view_submission(ANNOUNCE_MODAL, modal_values("Hi", "C0NOSUCH", at), user_id="U0ADMIN")
    assert json.loads(refused.body)["response_action"] == "errors"
    assert "channel C0NOSUCH can't be used" in json.loads(refused.body)["errors"]["audience"]
    refused = sender.view_submission(ANNOUNCE_MODAL, modal_values("Hi", "C0GENERAL", at, tz="Mars/Base"),
                                     user_id="U0ADMIN")
    assert "unknown time zone 'Mars/Base'" in json.loads(refused.body)["errors"]["tz"]
    assert comms.announcements.list(include_past=True) == []

    accepted = sender.view_submission(ANNOUNCE_MODAL, modal_values("**Phase 2** starts", "C0GENERAL pilot-team", at),
                                      user_id="U0ADMIN")
    assert (accepted.status, accepted.body) == (200, "")
    [preview] = slack.wait_for("chat.postMessage")
    assert preview.params["channel"] == "U0ADMIN"
    assert "*Preview*" in preview.params["blocks"][0]["elements"][0]["text"]
    assert preview.params["blocks"][1]["text"]["text"] == "*Phase 2* starts"
    [draft] = comms.announcements.list()
    assert (draft.announcement.status, draft.announcement.at, draft.announcement.created_by) == ("draft", at,
                                                                                                 "U0ADMIN")

    sender.block_action(ANNOUNCE_CONFIRM, draft.announcement.id, user_id="U0ADMIN",
                        response_url=slack.response_url("confirm"))
    [confirmed] = slack.wait_for("response_url")
    assert confirmed.params["text"].startswith(f"Scheduled {draft.announcement.id}: once at ")
    assert comms.announcements.get(draft.announcement.id).status == "scheduled"

    sender.block_action(f"{ANNOUNCE_CANCEL}:{draft.announcement.id}", draft.announcement.id, user_id="U0ALICE")
    sender.block_action(f"{ANNOUNCE_CANCEL}:{draft.announcement.id}", draft.announcement.id, user_id="U0ADMIN")
    replies = {c.params["channel"]: c.params["text"] for c in slack.wait_for("chat.postMessage", count=3)[1:]}
    assert replies["U0ALICE"].startswith("Only Rollout admins")  # the two clicks are handled concurrently
    assert replies["U0ADMIN"].startswith(f"Cancelled {draft.announcement.id}")
    assert comms.announcements.get(draft.announcement.id).status == "cancelled"


def test_the_accept_button_records_the_acceptance_once_and_updates_the_message(app, slack: StrictSlack) -> None:
    sender, comms = app
    summary = PolicySummary("genai-acceptable-use.md", "Generative AI Acceptable Use Policy",
                            "https://intranet.example/aup", "87510785a9cb", "Use approved tools only. [1]",
                            [{"number": 1, "label": "AUP › Tools", "path": "genai-acceptable-use.md", "url": None}])
    deadline = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()  # ahead, whatever the date
    campaign, _ = comms.acknowledgements.start(summary, ["pilot-team"], deadline)
    for response_id in ("first", "second"):
        sender.block_action(ACK_ACCEPT, str(campaign.id), user_id="U0ALICE",
                            response_url=slack.response_url(response_id))
    sender.block_action(ACK_ACCEPT, str(campaign.id), user_id="U0EVE", response_url=slack.response_url("eve"))
    replies = {c.path.rsplit("/", 1)[-1]: c.params for c in slack.wait_for("response_url", count=3)}
    assert replies["first"]["replace_original"] is True
    assert "You accepted *Generative AI Acceptable Use Policy* (version `87510785a9cb`)" in replies["first"]["text"]
    assert replies["second"]["text"] == replies["first"]["text"]  # the first acceptance's time is kept
    assert "not on this campaign's list" in replies["eve"]["text"]
    [status] = comms.acknowledgements.status(campaign.id)
    assert [(m.user_id, m.acceptance.policy_version if m.acceptance else None) for m in status.members] == [
        ("U0ALICE", "87510785a9cb"), ("U0BOB", None)]


def work(runtime) -> list[tuple[str, str]]:
    """The acked work recorded in the database: (kind, status)."""
    with runtime.sessions() as session:
        return sorted((row.kind, row.status) for row in session.query(ProcessedEvent).filter(
            ProcessedEvent.kind.like("%:%")))


def test_a_submission_and_a_click_slack_sends_again_are_each_done_once(app, runtime, slack: StrictSlack) -> None:
    sender, comms = app
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    submission = view_submission(ANNOUNCE_MODAL, modal_values("Phase 2", "C0GENERAL", at), user_id="U0ADMIN")
    for _ in range(2):  # the same view id and hash: Slack's retry, or a double submit
        reply = sender.action(submission)
        assert (reply.status, reply.body) == (200, "")
    assert runtime.services.wait_idle(10)
    [draft] = comms.announcements.list()
    [preview] = slack.posts()
    assert preview.params["channel"] == "U0ADMIN" and draft.announcement.id in json.dumps(preview.params["blocks"])

    click = block_actions(ANNOUNCE_CONFIRM, draft.announcement.id, user_id="U0ADMIN",
                          response_url=slack.response_url("confirm"))
    for _ in range(2):
        assert sender.action(click).status == 200
    assert runtime.services.wait_idle(10)
    [confirmed] = slack.calls_to("response_url")
    assert confirmed.params["text"].startswith(f"Scheduled {draft.announcement.id}")
    assert work(runtime) == [("click:announce-confirm", "done"), ("view:announce", "done")]


def test_acked_announce_work_nobody_started_is_done_by_the_next_resume(app, runtime, slack: StrictSlack) -> None:
    """As after a crash right after the ack: the record is all there is, and any process takes it up."""
    sender, comms = app
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    runtime.services.intake.limit = 0  # nothing held in memory: the work waits in the database
    assert sender.view_submission(ANNOUNCE_MODAL, modal_values("Phase 2", "C0GENERAL", at),
                                  user_id="U0ADMIN").body == ""
    assert runtime.services.wait_idle(10)
    assert comms.announcements.list() == [] and slack.posts() == []
    assert work(runtime) == [("view:announce", "pending")]

    runtime.services.intake.limit = 4
    assert runtime.services.resume() == 1 and runtime.services.wait_idle(10)
    [draft] = comms.announcements.list()
    [preview] = slack.posts()
    assert preview.params["channel"] == "U0ADMIN" and draft.announcement.status == "draft"
    assert work(runtime) == [("view:announce", "done")]


def test_a_submission_that_cannot_be_recorded_keeps_the_modal_open_saying_so(app, runtime) -> None:
    sender, comms = app
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE processed_events")

    refused = sender.view_submission(ANNOUNCE_MODAL, modal_values("Phase 2", "C0GENERAL", at), user_id="U0ADMIN")

    errors = json.loads(refused.body)["errors"]
    assert "couldn't take your announcement" in errors["message"] and "nothing was saved" in errors["message"]
