"""Incident reports through signed requests over HTTP: the modal, the security post with its severity, the reporter's
cited first steps, redaction, Slack failing during posting (kept, delivered later), acknowledgement and re-posts."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from bot.helpdesk.incident_jobs import deliver_incidents
from bot.helpdesk.incidents import severity
from bot.helpdesk.tables import AuditEntry, Incident
from tests.helpdesk.conftest import SECURITY, STRANGER
from tests.scenario.conftest import action_ids, section_texts

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def submit(r, data_kind: str = "credentials", ongoing: str = "yes", what: str | None = None, user: str = "U0ALICE"):
    values = {
        "what": {"value": {"type": "plain_text_input", "value": what or f"I pasted our key {AWS_KEY} into ChatGPT"}},
        "when": {"value": {"type": "plain_text_input", "value": "this morning"}},
        "tool": {"value": {"type": "plain_text_input", "value": "ChatGPT (personal account)"}},
        "data_kind": {"value": {"type": "static_select", "selected_option": {"value": data_kind}}},
        "ongoing": {"value": {"type": "radio_buttons", "selected_option": {"value": ongoing}}},
    }
    reply = r.sender.view_submission("incident_modal", values, user_id=user)
    r.settle()
    return reply


@pytest.mark.parametrize("data_kind, ongoing, expected", [
    ("credentials", False, "high"), ("personal", False, "high"), ("confidential", True, "high"),
    ("confidential", False, "medium"), ("internal", True, "medium"), ("internal", False, "low"),
    ("public", True, "low"),
])
def test_severity_rule(data_kind, ongoing, expected):
    assert severity(data_kind, ongoing) == expected


def test_incident_command_opens_the_modal(desk_rollout):
    reply = desk_rollout.sender.command(text="incident")
    [opened] = desk_rollout.slack.wait_for("views.open")
    assert reply.status == 200 and opened.params["view"]["callback_id"] == "incident_modal"
    assert {b["block_id"] for b in opened.params["view"]["blocks"]} >= {"what", "when", "tool", "data_kind", "ongoing"}


def test_a_report_goes_to_security_with_severity_and_the_reporter_gets_cited_first_steps(desk_on_each_db):
    r = desk_on_each_db
    assert submit(r).status == 200

    [post] = r.posts(channel=SECURITY)
    assert "HIGH severity" in post.params["text"] and action_ids(post.params["blocks"]) == ["incident_acknowledge"]
    shown = section_texts(post.params["blocks"])
    assert AWS_KEY not in shown and "[REDACTED" in shown and "ChatGPT (personal account)" in shown
    [incident] = r.rows(Incident)
    assert AWS_KEY not in incident.what and incident.status == "posted" and incident.severity == "high"
    [confirmation] = [c for c in r.posts() if c.params["channel"].startswith("D")]
    steps = section_texts(confirmation.params["blocks"])
    assert "incident #1" in steps and "AI Incident Response Procedure" in steps and "first steps: containment" in steps


def test_slack_failing_during_posting_keeps_the_report_and_the_job_delivers_it_later(desk_on_each_db):
    r = desk_on_each_db
    r.slack.fail_next("chat.postMessage", times=2, status=500)  # the security post and the reporter's DM
    submit(r, data_kind="internal", ongoing="no")

    [incident] = r.rows(Incident)
    assert incident.status == "pending" and incident.attempts == 1 and "internal_error" in (incident.last_error or "")
    assert r.posts(channel=SECURITY) == []
    assert deliver_incidents(r.desk.incidents, r.later(0.5)) == {"posted": [], "reposted": []}  # not yet retried
    assert deliver_incidents(r.desk.incidents, r.later(2)) == {"posted": [1], "reposted": []}
    [post] = r.posts(channel=SECURITY)
    assert "LOW severity" in post.params["text"]
    assert r.rows(Incident)[0].reporter_told_at is not None
    assert deliver_incidents(r.desk.incidents, r.later(3)) == {"posted": [], "reposted": []}


def test_unacknowledged_high_severity_reports_are_reposted_until_acknowledged(desk_rollout):
    r = desk_rollout
    submit(r)
    incidents = r.desk.incidents
    assert deliver_incidents(incidents, r.later(14))["reposted"] == []
    assert deliver_incidents(incidents, r.later(16))["reposted"] == [1]
    assert deliver_incidents(incidents, r.later(17))["reposted"] == []
    reposts = r.posts(channel=SECURITY)
    assert len(reposts) == 2 and "Still unacknowledged" in section_texts(reposts[1].params["blocks"])

    r.sender.block_action("incident_acknowledge", "1", user_id=STRANGER, channel_id=SECURITY,
                          message_ts=reposts[1].response["ts"])
    r.settle()
    assert r.rows(Incident)[0].acknowledged_by is None  # only the security channel's members may
    assert "Only members of the security channel" in r.slack.calls_to("chat.postEphemeral")[-1].params["text"]
    r.sender.block_action("incident_acknowledge", "1", user_id="U0SECURITY", channel_id=SECURITY,
                          message_ts=reposts[1].response["ts"])
    r.settle()
    assert r.rows(Incident)[0].acknowledged_by == "U0SECURITY"
    assert deliver_incidents(incidents, r.later(60))["reposted"] == []
    assert [a.action for a in r.rows(AuditEntry)] == ["reported", "posted", "reposted", "acknowledged"]


def test_a_low_severity_report_is_not_reposted(desk_rollout):
    submit(desk_rollout, data_kind="public", ongoing="no")
    assert deliver_incidents(desk_rollout.desk.incidents, desk_rollout.later(60))["reposted"] == []


def test_an_empty_report_is_refused_next_to_the_field(desk_rollout):
    reply = submit(desk_rollout, what=" ")
    assert '"response_action":"errors"' in reply.body.replace(" ", "") and desk_rollout.rows(Incident) == []


def test_the_report_an_incident_button_opens_the_modal(desk_rollout):
    reply = desk_rollout.sender.block_action("incident_report", "incident")
    [opened] = desk_rollout.slack.wait_for("views.open")
    assert reply.status == 200 and opened.params["view"]["callback_id"] == "incident_modal"


def test_a_report_the_database_cannot_store_keeps_the_modal_open_and_says_so(desk_rollout):
    r = desk_rollout
    with r.engine.begin() as connection:  # the database loses the incidents table
        connection.execute(text("DROP TABLE incidents"))

    reply = submit(r)

    body = json.loads(reply.body)
    assert body["response_action"] == "errors" and "couldn't save your report" in body["errors"]["what"]
    assert "reference" in body["errors"]["what"]
    r.settle()
    assert r.posts(channel=SECURITY) == []  # nothing claims it reached Security
