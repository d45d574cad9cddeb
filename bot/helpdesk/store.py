"""What the helpdesk and incident workflows ask of the database. Every state change is a conditional UPDATE (so two
processes, or two agents clicking at once, cannot both win) written together with its audit entry."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk.tables import AuditEntry, FaqEntry, Incident, Ticket
from bot.store.models import utc_now


class HelpdeskStore:
    """Tickets, incidents, FAQ entries and the audit log; safe to share between threads and processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- tickets ------------------------------------------------------------------------------------------------

    def create_ticket(self, actor: str, **values: Any) -> tuple[Ticket, bool]:
        """A new open ticket, or (for an answer escalated before) the existing one and False."""
        if (conversation_id := values.get("conversation_id")) is not None:
            if existing := self._ticket_where(Ticket.conversation_id == conversation_id):
                return existing, False
        try:
            with self._sessions.begin() as session:
                ticket = Ticket(status="open", created_at=values.pop("created_at", None) or utc_now(), **values)
                session.add(ticket)
                session.flush()
                _audit(session, actor, "ticket", ticket.id, "created", values.get("origin"), ticket.created_at)
                return ticket, True
        except IntegrityError:  # the same answer escalated at the same moment from another click or process
            if conversation_id is not None and (existing := self._ticket_where(Ticket.conversation_id ==
                                                                               conversation_id)):
                return existing, False
            raise

    def claim_ticket_post(self, ticket_id: int, channel: str) -> bool:
        """Take the posting of a ticket to the helpdesk channel: True for exactly one caller while it is unposted
        (the claim is the channel, set before the post; `release_ticket_post` hands it back if the post fails)."""
        with self._sessions.begin() as session:
            statement = (update(Ticket).where(Ticket.id == ticket_id, Ticket.helpdesk_channel.is_(None))
                         .values(helpdesk_channel=channel))
            return session.execute(statement).rowcount == 1

    def release_ticket_post(self, ticket_id: int) -> None:
        """The post failed: let the next attempt take it."""
        with self._sessions.begin() as session:
            session.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.helpdesk_ts.is_(None))
                            .values(helpdesk_channel=None))

    def ticket(self, ticket_id: int) -> Ticket | None:
        with self._sessions() as session:
            return session.get(Ticket, ticket_id)

    def update_ticket(self, ticket_id: int, **values: Any) -> None:
        """Set where the ticket was posted or the asker was told (no state change, so not audited)."""
        with self._sessions.begin() as session:
            session.execute(update(Ticket).filter_by(id=ticket_id).values(**values))

    def change_ticket(self, ticket_id: int, actor: str, action: str, from_statuses: Sequence[str], now: datetime,
                      detail: str | None = None, **values: Any) -> Ticket | None:
        """Apply a state change if the ticket is still in one of `from_statuses`; the changed ticket, or None."""
        with self._sessions.begin() as session:
            statement = (update(Ticket).where(Ticket.id == ticket_id, Ticket.status.in_(from_statuses))
                         .values(**values))
            if session.execute(statement).rowcount != 1:
                return None
            _audit(session, actor, "ticket", ticket_id, action, detail, now)
            return session.get(Ticket, ticket_id)

    def rate_ticket(self, ticket_id: int, user_id: str, rating: int, now: datetime) -> bool:
        """Record the asker's rating of a resolved ticket, once."""
        with self._sessions.begin() as session:
            statement = update(Ticket).where(Ticket.id == ticket_id, Ticket.user_id == user_id,
                                             Ticket.status == "resolved", Ticket.rating.is_(None)).values(rating=rating)
            if session.execute(statement).rowcount != 1:
                return False
            _audit(session, user_id, "ticket", ticket_id, "rated", str(rating), now)
            return True

    def ticket_in_thread(self, channel: str, thread_ts: str) -> tuple[Ticket, str] | None:
        """The ticket whose helpdesk thread ("helpdesk") or asker thread ("asker") this is, if any."""
        if ticket := self._ticket_where(Ticket.helpdesk_channel == channel, Ticket.helpdesk_ts == thread_ts):
            return ticket, "helpdesk"
        if ticket := self._ticket_where(Ticket.asker_channel == channel, Ticket.asker_thread_ts == thread_ts):
            return ticket, "asker"
        return None

    def tickets(self, status: str | None = None) -> list[Ticket]:
        statement = select(Ticket).order_by(Ticket.id)
        if status:
            statement = statement.filter_by(status=status)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def ticket_counts(self, since: datetime | None = None) -> dict[str, int]:
        """How many tickets are open, claimed and resolved (created since `since`, if given)."""
        statement = select(Ticket.status, func.count(Ticket.id)).group_by(Ticket.status)
        if since is not None:
            statement = statement.where(Ticket.created_at >= since)
        with self._sessions() as session:
            return {status: n for status, n in session.execute(statement)}

    def overdue_count(self, created_before: datetime) -> int:
        """How many tickets are still unclaimed past the SLA (created before `created_before`)."""
        statement = select(func.count(Ticket.id)).where(Ticket.status == "open", Ticket.created_at <= created_before)
        with self._sessions() as session:
            return session.scalar(statement) or 0

    def incident_counts(self) -> dict[tuple[str, str], int]:
        """How many incident reports there are, by (severity, status)."""
        statement = select(Incident.severity, Incident.status, func.count(Incident.id)).group_by(
            Incident.severity, Incident.status)
        with self._sessions() as session:
            return {(severity, status): n for severity, status, n in session.execute(statement)}

    def overdue_tickets(self, created_before: datetime, announced_before: datetime) -> list[Ticket]:
        """Open tickets older than the SLA, not re-announced since `announced_before`."""
        statement = select(Ticket).where(
            Ticket.status == "open", Ticket.created_at <= created_before,
            or_(Ticket.announced_at.is_(None), Ticket.announced_at <= announced_before)).order_by(Ticket.id)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def claim_announcement(self, ticket: Ticket, now: datetime) -> bool:
        """Take the right to re-announce `ticket` now; False if another process already did."""
        previous = Ticket.announced_at.is_(None) if ticket.announced_at is None else \
            Ticket.announced_at == ticket.announced_at
        with self._sessions.begin() as session:
            statement = update(Ticket).where(Ticket.id == ticket.id, Ticket.status == "open", previous)
            if session.execute(statement.values(announced_at=now)).rowcount != 1:
                return False
            _audit(session, "system", "ticket", ticket.id, "reannounced", None, now)
            return True

    def _ticket_where(self, *conditions) -> Ticket | None:
        with self._sessions() as session:
            return session.scalars(select(Ticket).where(*conditions).order_by(Ticket.id.desc()).limit(1)).first()

    # -- incidents ----------------------------------------------------------------------------------------------

    def add_incident(self, now: datetime, **values: Any) -> Incident:
        """Store a report (already redacted) before anything is posted."""
        with self._sessions.begin() as session:
            incident = Incident(status="pending", attempts=0, created_at=now, **values)
            session.add(incident)
            session.flush()
            _audit(session, incident.reporter_id, "incident", incident.id, "reported", incident.severity, now)
            return incident

    def incident(self, incident_id: int) -> Incident | None:
        with self._sessions() as session:
            return session.get(Incident, incident_id)

    def incidents(self, status: str | None = None) -> list[Incident]:
        statement = select(Incident).order_by(Incident.id)
        if status:
            statement = statement.filter_by(status=status)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def claim_post_attempt(self, incident: Incident) -> bool:
        """Take the next attempt at posting a pending report; False if another process took it."""
        with self._sessions.begin() as session:
            statement = update(Incident).where(Incident.id == incident.id, Incident.status == "pending",
                                               Incident.attempts == incident.attempts)
            return session.execute(statement.values(attempts=incident.attempts + 1)).rowcount == 1

    def incident_posted(self, incident_id: int, channel: str, ts: str, now: datetime, action: str = "posted") -> None:
        """Remember where the report is (first post or re-post)."""
        with self._sessions.begin() as session:
            values = dict(channel=channel, ts=ts, posted_at=now, last_error=None)
            statement = update(Incident).where(Incident.id == incident_id, Incident.status != "acknowledged")
            session.execute(statement.values(status="posted", **values))
            _audit(session, "system", "incident", incident_id, action, channel, now)

    def incident_failed(self, incident_id: int, error: str) -> None:
        with self._sessions.begin() as session:
            session.execute(update(Incident).filter_by(id=incident_id).values(last_error=error[:300]))

    def update_incident(self, incident_id: int, **values: Any) -> None:
        with self._sessions.begin() as session:
            session.execute(update(Incident).filter_by(id=incident_id).values(**values))

    def acknowledge_incident(self, incident_id: int, user_id: str, now: datetime) -> Incident | None:
        """Mark a posted report acknowledged, once; the report, or None if it already was."""
        with self._sessions.begin() as session:
            statement = update(Incident).where(Incident.id == incident_id, Incident.status != "acknowledged")
            if session.execute(statement.values(status="acknowledged", acknowledged_by=user_id,
                                                acknowledged_at=now)).rowcount != 1:
                return None
            _audit(session, user_id, "incident", incident_id, "acknowledged", None, now)
            return session.get(Incident, incident_id)

    def incidents_to_repost(self, severity: str, posted_before: datetime) -> list[Incident]:
        statement = select(Incident).where(Incident.status == "posted", Incident.severity == severity,
                                           Incident.posted_at <= posted_before).order_by(Incident.id)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def claim_repost(self, incident: Incident, now: datetime) -> bool:
        """Take the right to re-post `incident` now (moves posted_at on); False if another process did."""
        with self._sessions.begin() as session:
            statement = update(Incident).where(Incident.id == incident.id, Incident.status == "posted",
                                               Incident.posted_at == incident.posted_at)
            return session.execute(statement.values(posted_at=now)).rowcount == 1

    # -- FAQ and audit ------------------------------------------------------------------------------------------

    def add_faq(self, question: str, answer: str, ticket_id: int | None, created_by: str, now: datetime,
                path_for) -> FaqEntry:
        """Store an FAQ entry; `path_for(id)` names its document."""
        with self._sessions.begin() as session:
            entry = FaqEntry(question=question, answer=answer, ticket_id=ticket_id, created_by=created_by,
                             created_at=now, path="")
            session.add(entry)
            session.flush()
            entry.path = str(path_for(entry.id))
            _audit(session, created_by, "faq", entry.id, "added", f"ticket {ticket_id}" if ticket_id else None, now)
            return entry

    def faq_entries(self, indexed: bool | None = None, ids: list[int] | None = None) -> list[FaqEntry]:
        """FAQ entries by id; only those indexed (True) or not yet indexed (False), or with `ids`, if asked."""
        statement = select(FaqEntry).order_by(FaqEntry.id)
        if indexed is not None:
            statement = statement.where(FaqEntry.indexed_at.is_not(None) if indexed else FaqEntry.indexed_at.is_(None))
        if ids is not None:
            statement = statement.where(FaqEntry.id.in_(ids))
        with self._sessions() as session:
            return list(session.scalars(statement))

    def faq_indexed(self, entry_id: int, now: datetime) -> FaqEntry | None:
        """Record that an entry is in the index; the entry, or None if another process recorded it first (or it
        was removed meanwhile)."""
        with self._sessions.begin() as session:
            statement = update(FaqEntry).where(FaqEntry.id == entry_id, FaqEntry.indexed_at.is_(None))
            if session.execute(statement.values(indexed_at=now)).rowcount != 1:
                return None
            return session.get(FaqEntry, entry_id)

    def remove_faq(self, entry_id: int, actor: str, now: datetime) -> FaqEntry | None:
        with self._sessions.begin() as session:
            if (entry := session.get(FaqEntry, entry_id)) is None:
                return None
            session.delete(entry)
            _audit(session, actor, "faq", entry_id, "removed", None, now)
            return entry

    def audit(self, since: datetime | None = None, subject: str | None = None) -> list[AuditEntry]:
        """The audit log, oldest first."""
        statement = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
        if since is not None:
            statement = statement.where(AuditEntry.at >= since)
        if subject:
            statement = statement.filter_by(subject=subject)
        with self._sessions() as session:
            return list(session.scalars(statement))


def _audit(session: Session, actor: str, subject: str, subject_id: int, action: str, detail: str | None,
           at: datetime) -> None:
    session.add(AuditEntry(at=at, actor=actor or "unknown", subject=subject, subject_id=subject_id, action=action,
                           detail=detail))
