"""The SLA job: unclaimed tickets older than ROLLOUT_ESCALATION_SLA_MINUTES are re-announced in the helpdesk
channel once, then every hour. Each announcement is taken with a conditional update, so it happens once however
many schedulers run the job."""
from __future__ import annotations

from datetime import datetime

from bot.helpdesk.escalation import Escalations

JOB_ID = "helpdesk-sla"
EVERY_SECONDS = 60


def reannounce_overdue_tickets(escalations: Escalations, now: datetime) -> list[int]:
    """Re-announce the overdue tickets; their ids."""
    return escalations.reannounce_overdue(now)
