"""Incident reports under faults: a report submitted while the database, Chroma or Slack fails."""
from __future__ import annotations

import json
from datetime import timedelta

from bot.helpdesk.incident_jobs import deliver_incidents
from bot.helpdesk.tables import Incident
from tests.helpdesk.conftest import SECURITY
from tests.helpdesk.test_incidents import submit


def test_a_report_during_a_fault_reaches_security_once_or_the_modal_says_it_did_not(faulty):
    f = faulty()
    r = f.r
    with f.active():
        reply = submit(r, data_kind="internal", ongoing="no", what="I pasted a customer list into a chatbot")
    if f.fault == "database":  # not stored: the modal stays open and says so, and nothing claims otherwise
        assert "couldn't save your report" in json.loads(reply.body)["errors"]["what"]
        assert r.posts(channel=SECURITY) == []
        reply = submit(r, data_kind="internal", ongoing="no", what="I pasted a customer list into a chatbot")
    assert reply.body == ""  # stored before the modal closed
    [incident] = r.rows(Incident)
    later = incident.created_at + timedelta(minutes=2)
    deliver_incidents(r.desk.incidents, later)  # the retry job, once the fault is gone
    deliver_incidents(r.desk.incidents, later + timedelta(minutes=1))

    assert len([p for p in r.posts(channel=SECURITY) if f"#{incident.id}" in p.params["text"]]) == 1
    confirmations = [p for p in r.slack.calls_to("chat.postMessage") if p.ok and "is with the" in p.params["text"]]
    assert len(confirmations) == 1 and r.rows(Incident)[0].reporter_told_at is not None
    f.healthy()
