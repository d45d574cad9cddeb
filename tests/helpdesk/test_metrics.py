"""Tickets, SLA breaches and incidents on /metrics: read from the database when scraped, over real HTTP."""
from __future__ import annotations

from tests.helpdesk.conftest import escalated
from tests.helpdesk.test_incidents import submit
from tests.scenario.test_operations import moved, scrape


def test_open_tickets_sla_breaches_and_incidents_are_scraped(start_helpdesk):
    r = start_helpdesk(rollout_escalation_sla_minutes=0)  # every unclaimed ticket is past its SLA at once
    before = scrape(r.server.url)

    escalated(r)
    submit(r, data_kind="internal", ongoing="no")

    after = scrape(r.server.url)
    assert moved(before, after, "rollout_tickets_open", status="open") == 1
    assert moved(before, after, "rollout_tickets_past_sla") == 1
    assert moved(before, after, "rollout_incidents_total", severity="low") == 1
    assert moved(before, after, "rollout_incidents_unacknowledged", severity="low") == 1
