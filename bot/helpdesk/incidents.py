"""Security incident reports, Slack-free: severity, stored before anything is posted, posted (and retried) to the
security channel, acknowledged, re-posted while a high-severity report waits, and the reporter's first steps
retrieved from the organisation's own incident-response policy.

Severity rule (docs/helpdesk.md):
- high: credentials or personal data involved, or confidential data while it is still happening;
- medium: confidential data (no longer happening), or internal data while it is still happening;
- low: internal data (no longer happening), or public data.
"Not sure" whether it is still happening counts as still happening: when in doubt, the higher level applies.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.answering.blocks import shown_sources, sources_text
from bot.answering.safety import redact
from bot.errors import NotFound
from bot.helpdesk import blocks
from bot.helpdesk.errors import AlreadyHandled, HelpdeskError, NotAllowed, NotConfigured
from bot.helpdesk.escalation import Notifier
from bot.helpdesk.store import HelpdeskStore
from bot.helpdesk.tables import Incident
from bot.slack.blocks import context, text_sections, to_mrkdwn
from bot.store.models import utc_now

log = logging.getLogger(__name__)
DATA_KINDS = tuple(blocks.DATA_KINDS)
REPOST_AFTER = timedelta(minutes=15)  # an unacknowledged high-severity report is posted again
RETRY_AFTER = timedelta(minutes=1)  # a report Slack refused is retried by the job after this long
IMMEDIATE_STEPS_QUESTION = "What are my first steps: containment, while I wait for Security to respond?"


def severity(data_kind: str, ongoing: bool) -> str:
    """high | medium | low, from the kind of data involved and whether it is still happening."""
    if data_kind in ("credentials", "personal") or (data_kind == "confidential" and ongoing):
        return "high"
    if data_kind == "confidential" or (data_kind == "internal" and ongoing):
        return "medium"
    return "low"


class Incidents:
    """Reports from `/rollout incident`, for the security channel."""

    def __init__(self, store: HelpdeskStore, notifier: Notifier, security_channel: str | None, knowledge_base,
                 clock: Callable[[], datetime] = utc_now):
        self.store, self.notifier, self.channel = store, notifier, security_channel
        self.knowledge_base, self.clock = knowledge_base, clock

    def report(self, reporter_id: str, what: str, happened: str | None, tool: str | None, data_kind: str,
               ongoing: bool) -> Incident:
        """Store the report (secrets and personal data redacted) first, then post it and tell the reporter."""
        return self.deliver(self.record(reporter_id, what, happened, tool, data_kind, ongoing))

    def deliver(self, incident: Incident) -> Incident:
        """Post a stored report to the security channel and tell its reporter (each retried later if Slack fails)."""
        self.post(incident)
        self.tell_reporter(incident)
        return self.store.incident(incident.id)

    def record(self, reporter_id: str, what: str, happened: str | None, tool: str | None, data_kind: str,
               ongoing: bool) -> Incident:
        """Store a report (secrets and personal data redacted); from then on nothing can lose it."""
        if data_kind not in DATA_KINDS:
            raise HelpdeskError(f"Choose the kind of data involved: {', '.join(DATA_KINDS)}.")
        if not what.strip():
            raise HelpdeskError("Please say what happened.")
        incident = self.store.add_incident(
            self.clock(), reporter_id=reporter_id, what=redact(what), happened=redact(happened or "")[:300] or None,
            tool=redact(tool or "")[:300] or None, data_kind=data_kind, ongoing=ongoing,
            severity=severity(data_kind, ongoing))
        log.info("incident %s stored (%s)", incident.id, incident.severity)
        return incident

    def post(self, incident: Incident) -> bool:
        """Post a pending report to the security channel (one attempt, taken once); False if Slack failed."""
        if not self.store.claim_post_attempt(incident):
            return False
        try:
            if not self.channel:
                raise NotConfigured("ROLLOUT_SECURITY_CHANNEL is not set")
            ts = self.notifier.post(self.channel, blocks.incident_text(incident), blocks.incident_blocks(incident))
        except Exception as exc:
            log.warning("could not post incident %s (attempt %d); it is kept and retried", incident.id,
                        incident.attempts + 1, exc_info=True)
            self.store.incident_failed(incident.id, f"{type(exc).__name__}: {exc}")
            return False
        self.store.incident_posted(incident.id, self.channel, ts, self.clock())
        return True

    def tell_reporter(self, incident: Incident) -> bool:
        """A confirmation DM with the immediate steps, retrieved and cited from our incident-response policy."""
        try:
            text, steps = confirmation(incident, self.knowledge_base)
            self.notifier.post(self.notifier.dm_channel(incident.reporter_id), text, steps)
        except Exception:
            log.warning("could not confirm incident %s to its reporter; retried later", incident.id, exc_info=True)
            return False
        self.store.update_incident(incident.id, reporter_told_at=self.clock())
        return True

    def acknowledge(self, incident_id: int, user_id: str) -> Incident:
        """The security team has it: stop re-posting, show who acknowledged. Only members of the security channel
        may: an acknowledgement stops the re-posts that keep a report in front of the team."""
        try:
            member = bool(self.channel) and user_id in self.notifier.channel_members(self.channel)
        except Exception as exc:
            log.warning("could not read the security channel's members", exc_info=True)
            raise HelpdeskError("I couldn't check the security channel's members just now, so the report is not "
                                "acknowledged yet. Please press Acknowledge again in a minute.") from exc
        if not member:
            raise NotAllowed("Only members of the security channel can acknowledge an incident report.")
        incident = self.store.acknowledge_incident(incident_id, user_id, self.clock())
        if incident is None:
            found = self.store.incident(incident_id)
            if found is None:
                raise NotFound(f"I can't find incident #{incident_id}.")
            raise AlreadyHandled(f"Incident #{incident_id} was already acknowledged by <@{found.acknowledged_by}>.")
        if incident.channel and incident.ts:
            self.notifier.update(incident.channel, incident.ts, blocks.incident_text(incident),
                                 blocks.incident_blocks(incident))
        return incident

    def retry_pending(self, now: datetime) -> list[int]:
        """Post reports Slack refused earlier, and confirmations reporters did not get."""
        posted = [i.id for i in self.store.incidents("pending")
                  if i.created_at <= now - RETRY_AFTER and self.post(i)]
        for incident in self.store.incidents():
            if incident.reporter_told_at is None and incident.created_at <= now - RETRY_AFTER:
                self.tell_reporter(incident)
        return posted

    def repost_unacknowledged(self, now: datetime) -> list[int]:
        """Post high-severity reports again every 15 minutes until acknowledged; each once, across processes."""
        reposted = []
        for incident in self.store.incidents_to_repost("high", now - REPOST_AFTER):
            if not self.store.claim_repost(incident, now):
                continue
            ts = self.notifier.post(self.channel or incident.channel, blocks.incident_text(incident),
                                    blocks.incident_blocks(incident, repost=True))
            self.store.incident_posted(incident.id, self.channel or incident.channel, ts, now, action="reposted")
            reposted.append(incident.id)
        return reposted


def confirmation(incident: Incident, knowledge_base) -> tuple[str, list[dict]]:
    """The reporter's confirmation: severity, and the first steps as the knowledge engine answers them, cited."""
    intro = (f":shield: Thank you. Your report (incident #{incident.id}, {incident.severity} severity) is with the "
             f"security team. While you wait, from our incident-response policy:")
    answer = knowledge_base.ask(IMMEDIATE_STEPS_QUESTION)
    message = text_sections(intro, "incident_confirmation") + text_sections(to_mrkdwn(answer.text), "incident_steps")
    if shown := shown_sources(answer):
        message.append(context(sources_text(shown, answer.answered), "incident_sources"))
    return intro, message
