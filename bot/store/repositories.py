"""What the product stores and asks of its database, one short transaction per call."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.recall.tables import AnswerCitation, SectionText
from bot.store.models import SOURCES, Conversation, Interaction, ProcessedEvent, utc_now
from knowledge.sections import text_hash

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class Store:
    """Processed events, conversations and interactions, safe to share between threads and processes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claim_event(self, key: str, kind: str, user_id: str | None = None, at: datetime | None = None) -> bool:
        """True the first time `key` is claimed by any process, False for every redelivery; a question's claim
        records who asked, so `count_recent_questions` sees it at once."""
        values = {"key": key, "kind": kind, "received_at": at or utc_now(), "user_id": user_id}
        with self._sessions.begin() as session:
            return _insert_new(session, ProcessedEvent.__table__, values, ["key"]) is not None

    def forget_events_before(self, moment: datetime) -> int:
        """Delete event keys older than `moment` (Slack stops retrying within minutes); returns how many."""
        with self._sessions.begin() as session:
            result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < moment))
            return result.rowcount

    def record_conversation(
        self, *, user_id: str, channel_id: str, thread_ts: str | None, source: str, question: str,
        answer: str, answered: bool, latency_ms: int, answerer: str, sources: Sequence[dict[str, Any]] = (),
        message_ts: str | None = None, prompt_version: str | None = None, created_at: datetime | None = None,
        more: str | None = None, cited: Sequence = (), private: bool = False,
    ) -> Conversation:
        """Store a question (already redacted), its answer and the answer's longer extract (`more`, "" or None when
        there is none), with the text of each section it cites (`cited`: knowledge.base.CitedSection), in one
        transaction, and whether it was shown to the asker alone (`private`); the same Slack message is stored
        once."""
        if source not in SOURCES:
            raise ValueError(f"unknown conversation source {source!r}; expected one of {sorted(SOURCES)}")
        values = dict(
            user_id=user_id, channel_id=channel_id, thread_ts=thread_ts, message_ts=message_ts, source=source,
            question=question, answer=answer, more=more or None, sources=[dict(s) for s in sources],
            answered=answered, latency_ms=latency_ms, answerer=answerer, prompt_version=prompt_version,
            created_at=created_at or utc_now(), private=private,
        )
        with self._sessions.begin() as session:
            new_id = _insert_new(session, Conversation.__table__, values, ["channel_id", "message_ts"])
            if new_id is not None:
                record_citations(session, new_id, cited)
                return session.get_one(Conversation, new_id)
            existing = select(Conversation).filter_by(channel_id=channel_id, message_ts=message_ts)
            return session.scalars(existing).one()

    def set_reply_ts(self, conversation_id: int, reply_ts: str) -> bool:
        """Remember which bot message carries the answer; False if there is no such conversation."""
        with self._sessions.begin() as session:
            statement = update(Conversation).filter_by(id=conversation_id).values(reply_ts=reply_ts)
            return session.execute(statement).rowcount == 1

    def find_by_reply(self, channel_id: str, reply_ts: str) -> Conversation | None:
        """The conversation whose answer is the bot message `reply_ts` (e.g. a button was clicked on it)."""
        with self._sessions() as session:
            statement = select(Conversation).filter_by(channel_id=channel_id, reply_ts=reply_ts)
            return session.scalars(statement.order_by(Conversation.id.desc()).limit(1)).first()

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        """The conversation with this id, if any."""
        with self._sessions() as session:
            return session.get(Conversation, conversation_id)

    def thread_history(self, channel_id: str, thread_ts: str, limit: int) -> list[tuple[str, str]]:
        """The last `limit` (question, answer) pairs of a Slack thread, oldest first
        (bot.answering.asking.HISTORY_TURNS)."""
        statement = (
            select(Conversation.question, Conversation.answer)
            .filter_by(channel_id=channel_id, thread_ts=thread_ts)
            .order_by(Conversation.created_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
        with self._sessions() as session:
            return [(question, answer) for question, answer in reversed(session.execute(statement).all())]

    def recent_questions(self, user_id: str, limit: int = 10) -> list[Conversation]:
        """An employee's latest conversations, newest first."""
        statement = (
            select(Conversation)
            .filter_by(user_id=user_id)
            .order_by(Conversation.created_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
        with self._sessions() as session:
            return list(session.scalars(statement))

    def count_recent_questions(self, user_id: str, since: datetime) -> int:
        """How many questions an employee sent since `since`, counted when each was accepted (not when answered, so a
        burst cannot outrun the limit), across all processes (for rate limits)."""
        statement = select(func.count()).select_from(ProcessedEvent).where(
            ProcessedEvent.user_id == user_id, ProcessedEvent.received_at >= since
        )
        with self._sessions() as session:
            return session.scalar(statement) or 0

    def record_interaction(self, conversation_id: int, user_id: str, action: str) -> bool:
        """True the first time this user does `action` on this answer, False on every repeat."""
        values = dict(conversation_id=conversation_id, user_id=user_id, action=action, created_at=utc_now())
        unique = ["conversation_id", "user_id", "action"]
        with self._sessions.begin() as session:
            return _insert_new(session, Interaction.__table__, values, unique) is not None


def _insert_new(session: Session, table: Table, values: dict[str, Any], unique: list[str]) -> Any | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING the new primary key, or None if the row existed.

    The database, not this process, decides who was first: no read-then-write race, no aborted transaction.
    """
    insert = _INSERTS[session.get_bind().dialect.name]
    [key] = table.primary_key.columns
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=unique).returning(key)
    return session.execute(statement).scalar_one_or_none()


def record_citations(session: Session, conversation_id: int, cited: Sequence) -> None:
    """Keep the text of each section an answer cites (stored once by hash), for policy-change recall."""
    for c in cited:
        digest = text_hash(c.text)
        _insert_new(session, SectionText.__table__, dict(hash=digest, text=c.text), ["hash"])
        _insert_new(session, AnswerCitation.__table__, dict(conversation_id=conversation_id, number=c.number,
                                                             path=c.path, section=c.section, text_hash=digest),
                    ["conversation_id", "number"])
