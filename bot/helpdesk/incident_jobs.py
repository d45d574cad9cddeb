"""The incident jobs: post reports Slack refused earlier (and confirmations reporters did not get), and re-post
unacknowledged high-severity reports every 15 minutes. Each attempt is taken with a conditional update, so it
happens once however many schedulers run the job."""
from __future__ import annotations

from datetime import datetime

from bot.helpdesk.incidents import Incidents

JOB_ID = "incident-delivery"
EVERY_SECONDS = 60


def deliver_incidents(incidents: Incidents, now: datetime) -> dict[str, list[int]]:
    """Retry pending reports, then re-post the unacknowledged high-severity ones; the ids touched."""
    return {"posted": incidents.retry_pending(now), "reposted": incidents.repost_unacknowledged(now)}
