"""What policy-change recall stores and asks of the database, one short transaction per call; the database's unique
constraints, not a process, decide what was already recorded or claimed."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk.tables import FaqEntry, Ticket
from bot.recall.tables import (
    HELPDESK,
    PERSON,
    AnswerCitation,
    FaqReview,
    Recall,
    RecallMessage,
    RecordedChange,
    SectionText,
)
from bot.store.models import Conversation
from bot.store.repositories import _insert_new
from knowledge.sections import similarity, text_hash

SENDABLE = ("approved", "failed")
OPEN = ("pending", "approved", "failed")  # not sent yet, not being sent


@dataclass(frozen=True)
class RecallItem:
    """One affected answer of a message: the question and answer, what it relied on, what the section says now."""

    conversation: Conversation
    change: RecordedChange
    relied_on: str
    now: str | None  # None: the section was removed


@dataclass(frozen=True)
class FaqItem:
    """One FAQ entry of the helpdesk's review list and the change to the section it cites."""

    entry: FaqEntry
    change: RecordedChange
    before: str
    now: str | None


@dataclass(frozen=True)
class RecallStats:
    """What one run recorded."""

    run_id: str
    changes: int = 0
    answers: int = 0
    people: int = 0
    faq_entries: int = 0


class RecallStore:
    """Citations, section changes, recalls and their messages, safe to share between threads and processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- at ingest time ------------------------------------------------------------------------------------------
    def record_run(self, run_id: str, changes: Iterable, since: datetime, now: datetime,
                   affects: Callable[[str, object], bool], helpdesk_channel: str | None) -> RecallStats:
        """Record real section changes and the answers (given since `since`) and FAQ entries each affects, grouped
        into one message per person (and one for the helpdesk) for this run. `affects(cited_text, change)` says
        whether a change matters to an answer that relied on `cited_text`. Idempotent across runs and processes."""
        answers, people, faq, count = 0, set(), 0, 0
        with self._sessions.begin() as session:
            for change in changes:
                count += 1
                before = _keep_text(session, change.before)
                after = _keep_text(session, change.after) if change.after is not None else None
                _insert_new(session, RecordedChange.__table__, dict(
                    fingerprint=change.fingerprint, path=change.path, title=change.title, section=change.section,
                    before_hash=before, after_hash=after, run_id=run_id, detected_at=now,
                    similarity=similarity(change.before, change.after or "")), ["fingerprint"])
                for conversation_id, user_id, cited_hash, cited in _citing(session, change, since, after):
                    if affects(cited, change) and _add_recall(session, run_id, conversation_id, user_id, cited_hash,
                                                              change, now):
                        answers += 1
                        people.add(user_id)
                if helpdesk_channel:
                    faq += _flag_faq(session, run_id, change, helpdesk_channel, now)
            _retire_superseded(session)
        return RecallStats(run_id, count, answers, len(people), faq)

    # -- approving and sending -----------------------------------------------------------------------------------
    def approve(self, by: str, now: datetime, run_id: str | None = None) -> int:
        """Approve every pending message (of one run); how many."""
        statement = update(RecallMessage).where(RecallMessage.status == "pending")
        if run_id is not None:
            statement = statement.where(RecallMessage.run_id == run_id)
        with self._sessions.begin() as session:
            return session.execute(statement.values(status="approved", approved_by=by, approved_at=now)).rowcount

    def sendable(self, now: datetime, lease: timedelta, run_id: str | None = None) -> list[int]:
        """Ids of approved messages not yet sent, failed ones, and ones whose sender died mid-send (lease over)."""
        statement = select(RecallMessage.id).where(or_(
            RecallMessage.status.in_(SENDABLE),
            and_(RecallMessage.status == "sending", RecallMessage.claimed_at < now - lease)))
        if run_id is not None:
            statement = statement.where(RecallMessage.run_id == run_id)
        with self._sessions() as session:
            return list(session.scalars(statement.order_by(RecallMessage.id)))

    def claim(self, message_id: int, now: datetime, lease: timedelta) -> RecallMessage | None:
        """Take a message to send it; None when another process has it (or it was sent)."""
        statement = update(RecallMessage).where(RecallMessage.id == message_id, or_(
            RecallMessage.status.in_(SENDABLE),
            and_(RecallMessage.status == "sending", RecallMessage.claimed_at < now - lease)))
        statement = statement.values(status="sending", claimed_at=now, attempts=RecallMessage.attempts + 1)
        with self._sessions.begin() as session:
            if session.execute(statement).rowcount != 1:
                return None
            return session.get_one(RecallMessage, message_id)

    def finish(self, message_id: int, *, channel: str | None = None, ts: str | None = None,
               error: str | None = None, now: datetime, status: str | None = None) -> None:
        """Record how a claimed message's send went: sent (channel, ts), failed (error) or another `status`."""
        values = (dict(status="failed", last_error=error[:300]) if error else
                  dict(status=status or "sent", channel=channel, ts=ts, sent_at=now, last_error=None))
        with self._sessions.begin() as session:
            session.execute(update(RecallMessage).where(RecallMessage.id == message_id).values(**values))

    # -- reading -------------------------------------------------------------------------------------------------
    def messages(self, statuses: Sequence[str] | None = None, run_id: str | None = None) -> list[RecallMessage]:
        statement = select(RecallMessage).order_by(RecallMessage.id)
        if statuses:
            statement = statement.where(RecallMessage.status.in_(statuses))
        if run_id is not None:
            statement = statement.where(RecallMessage.run_id == run_id)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def pending_runs(self) -> list[tuple[str, int, int]]:
        """(run id, people, helpdesk lists) of each run with messages waiting for approval, oldest first."""
        statement = (select(RecallMessage.run_id, RecallMessage.kind, func.count())
                     .where(RecallMessage.status == "pending")
                     .group_by(RecallMessage.run_id, RecallMessage.kind))
        runs: dict[str, list[int]] = {}
        with self._sessions() as session:
            for run_id, kind, n in session.execute(statement):
                runs.setdefault(run_id, [0, 0])[kind == HELPDESK] += n
        return [(run_id, people, faq) for run_id, (people, faq) in sorted(runs.items())]

    def items(self, message_id: int) -> list[RecallItem]:
        """A person's affected answers in one message, oldest answer first (superseded ones left out)."""
        statement = (select(Recall, Conversation, RecordedChange)
                     .join(Conversation, Conversation.id == Recall.conversation_id)
                     .join(RecordedChange, RecordedChange.fingerprint == Recall.fingerprint)
                     .where(Recall.message_id == message_id, Recall.superseded.is_(False))
                     .order_by(Conversation.created_at, Conversation.id, RecordedChange.id))
        with self._sessions() as session:
            rows = session.execute(statement).all()
            texts = _texts(session, [h for r, _, c in rows for h in (r.cited_hash, c.after_hash) if h])
            return [RecallItem(conversation, change, texts[recall.cited_hash], texts.get(change.after_hash))
                    for recall, conversation, change in rows]

    def faq_items(self, message_id: int) -> list[FaqItem]:
        statement = (select(FaqReview, FaqEntry, RecordedChange)
                     .join(FaqEntry, FaqEntry.id == FaqReview.faq_id)
                     .join(RecordedChange, RecordedChange.fingerprint == FaqReview.fingerprint)
                     .where(FaqReview.message_id == message_id).order_by(FaqEntry.id, RecordedChange.id))
        with self._sessions() as session:
            rows = session.execute(statement).all()
            texts = _texts(session, [h for _, _, c in rows for h in (c.before_hash, c.after_hash) if h])
            return [FaqItem(entry, change, texts[change.before_hash], texts.get(change.after_hash))
                    for _, entry, change in rows]

    def sent_between(self, since: datetime, until: datetime) -> tuple[int, int]:
        """(DMs sent to people, answers they listed) in [since, until), for the weekly report."""
        sent = and_(RecallMessage.status == "sent", RecallMessage.kind == PERSON,
                    RecallMessage.sent_at >= since, RecallMessage.sent_at < until)
        with self._sessions() as session:
            messages = session.scalar(select(func.count()).select_from(RecallMessage).where(sent)) or 0
            answers = session.scalar(select(func.count()).select_from(Recall).join(RecallMessage).where(
                sent, Recall.superseded.is_(False))) or 0
        return messages, answers


def _keep_text(session: Session, text: str) -> str:
    digest = text_hash(text)
    _insert_new(session, SectionText.__table__, dict(hash=digest, text=text), ["hash"])
    return digest


def _texts(session: Session, hashes: list[str]) -> dict[str, str]:
    if not hashes:
        return {}
    rows = session.execute(select(SectionText.hash, SectionText.text).where(SectionText.hash.in_(set(hashes))))
    return {digest: text for digest, text in rows}


def _citing(session: Session, change, since: datetime, after_hash: str | None):
    """(conversation id, asker, cited hash, cited text) of answers since `since` that cite the changed section and
    relied on a text other than what it says now."""
    section = (AnswerCitation.section.is_(None) if change.section is None
               else AnswerCitation.section == change.section)
    statement = (select(Conversation.id, Conversation.user_id, AnswerCitation.text_hash, SectionText.text)
                 .join(AnswerCitation, AnswerCitation.conversation_id == Conversation.id)
                 .join(SectionText, SectionText.hash == AnswerCitation.text_hash)
                 .where(AnswerCitation.path == change.path, section, Conversation.answered.is_(True),
                        Conversation.created_at >= since)
                 .order_by(Conversation.id))
    if after_hash is not None:
        statement = statement.where(AnswerCitation.text_hash != after_hash)
    return list(dict.fromkeys(tuple(row) for row in session.execute(statement)))


def _add_recall(session: Session, run_id: str, conversation_id: int, user_id: str, cited_hash: str, change,
                now: datetime) -> bool:
    """A recall of this answer for this change, in the asker's message of this run; False if it was recorded before."""
    if session.scalar(select(Recall.id).filter_by(conversation_id=conversation_id, fingerprint=change.fingerprint)):
        return False  # told (or to be told) already: no empty message for it
    message_id = _message(session, run_id, PERSON, user_id, now)
    values = dict(conversation_id=conversation_id, fingerprint=change.fingerprint, cited_hash=cited_hash,
                  message_id=message_id, superseded=False, created_at=now)
    new_id = _insert_new(session, Recall.__table__, values, ["conversation_id", "fingerprint"])
    if new_id is None:
        return False
    earlier = (select(Recall.id).join(RecallMessage)
               .join(RecordedChange, RecordedChange.fingerprint == Recall.fingerprint)
               .where(Recall.conversation_id == conversation_id, Recall.id != new_id,
                      RecordedChange.path == change.path, RecallMessage.status.in_(OPEN),
                      RecallMessage.id != message_id,
                      RecordedChange.section.is_(None) if change.section is None
                      else RecordedChange.section == change.section))
    session.execute(update(Recall).where(Recall.id.in_(earlier)).values(superseded=True))
    return True


def _message(session: Session, run_id: str, kind: str, recipient: str, now: datetime) -> int:
    values = dict(run_id=run_id, kind=kind, recipient=recipient, status="pending", attempts=0, created_at=now)
    new_id = _insert_new(session, RecallMessage.__table__, values, ["run_id", "recipient", "kind"])
    if new_id is not None:
        return new_id
    return session.scalars(select(RecallMessage.id).filter_by(run_id=run_id, recipient=recipient, kind=kind)).one()


def _flag_faq(session: Session, run_id: str, change, channel: str, now: datetime) -> int:
    """Flag the FAQ entries whose ticket's answer cited the changed section; how many were new."""
    statement = select(FaqEntry.id, Ticket.sources).join(Ticket, Ticket.id == FaqEntry.ticket_id)
    flagged = 0
    for faq_id, sources in session.execute(statement):
        if not any(s.get("path") == change.path and (s.get("section") or None) == change.section
                   for s in sources or []):
            continue
        if session.scalar(select(FaqReview.id).filter_by(faq_id=faq_id, fingerprint=change.fingerprint)):
            continue
        message_id = _message(session, run_id, HELPDESK, channel, now)
        values = dict(faq_id=faq_id, fingerprint=change.fingerprint, message_id=message_id, created_at=now)
        flagged += _insert_new(session, FaqReview.__table__, values, ["faq_id", "fingerprint"]) is not None
    return flagged


def _retire_superseded(session: Session) -> None:
    """Messages not yet sent whose every answer was recalled again later and that list no FAQ entry: nothing to send."""
    live = select(Recall.message_id).where(Recall.superseded.is_(False))
    faq = select(FaqReview.message_id)
    session.execute(update(RecallMessage).where(RecallMessage.status.in_(OPEN), RecallMessage.id.not_in(live),
                                                RecallMessage.id.not_in(faq)).values(status="superseded"))
