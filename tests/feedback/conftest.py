"""A migrated database (SQLite, then PostgreSQL) and a seeded pilot week for the feedback tests."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.feedback.store import FeedbackStore
from bot.store import Interaction
from bot.store.repositories import Store

NOW = datetime(2027, 2, 8, 9, 0, tzinfo=UTC)  # a Monday morning: the report covers Feb 1-7
HANDBOOK = {"path": "handbook.md", "title": "AI Handbook", "section": "Access", "score": 0.8, "number": 1, "url": None}
DATA = {"path": "data.md", "title": "Data Policy", "section": "Customer data", "score": 0.7, "number": 2, "url": None}


def ask(store: Store, question: str, *, answered: bool = True, when: datetime, user: str = "U0ALICE",
        sources=(HANDBOOK,), ts: str | None = None) -> int:
    """Record a conversation as the answering workflow would."""
    conversation = store.record_conversation(
        user_id=user, channel_id=f"D{user}", thread_ts=None, source="dm", question=question,
        answer="An answer." if answered else "I don't know.", answered=answered, latency_ms=5,
        answerer="extractive", sources=list(sources), message_ts=ts or f"{when.timestamp():.6f}", created_at=when)
    return conversation.id


@pytest.fixture
def pilot_week(sessions):
    """Last week (Feb 1-7) and the week before, as numbers the report tests check by hand."""
    store, feedback = Store(sessions), FeedbackStore(sessions)
    day = NOW - timedelta(days=7)  # Feb 1
    ids = {
        "access": ask(store, "How do I get access to Copilot?", when=day + timedelta(hours=1), sources=(HANDBOOK,)),
        "data1": ask(store, "Can I paste customer data into ChatGPT?", when=day + timedelta(days=1),
                     sources=(DATA, HANDBOOK)),
        "data2": ask(store, "Can I paste customer data into Claude?", answered=False, when=day + timedelta(days=2),
                     user="U0BOB"),
        "peru": ask(store, "What is the capital of Peru?", answered=False, when=day + timedelta(days=2, hours=1)),
        "data3": ask(store, "Is pasting customer data into ChatGPT allowed?", when=day + timedelta(days=3),
                     sources=(DATA,), user="U0CAROL"),
    }
    feedback.rate(ids["access"], "U0ALICE", "helpful", day + timedelta(hours=2))
    feedback.rate(ids["data1"], "U0ALICE", "not_helpful", day + timedelta(days=1, hours=1))
    feedback.rate(ids["data3"], "U0CAROL", "helpful", day + timedelta(days=3, hours=1))
    with sessions.begin() as session:  # Store.record_interaction stamps the real time
        session.add(Interaction(conversation_id=ids["peru"], user_id="U0ALICE", action="escalate",
                                created_at=day + timedelta(days=2, hours=2)))
    before = day - timedelta(days=3)  # the previous week: 2 questions, both answered, 1 helpful
    old = ask(store, "Which AI tools are approved?", when=before)
    ask(store, "Who approves new AI tools?", when=before + timedelta(hours=1))
    feedback.rate(old, "U0DAVE", "helpful", before + timedelta(hours=2))
    for n, (team, ease, useful, saved) in enumerate([("engineering", 4, 5, "yes"), ("engineering", 2, 3, "no"),
                                                     ("sales", 5, 4, "yes")]):
        feedback.add_response(f"seed-{n}", dict(user_id=f"U{n}", ease=ease, usefulness=useful, saved_time=saved,
                                                team=team, problems=None, comment=None), day + timedelta(days=n))
    return ids
