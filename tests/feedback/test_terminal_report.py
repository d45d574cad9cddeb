"""Questions asked in a terminal (`rollout ask`, `rollout chat`) are counted apart: Slack's figures stay Slack's."""
from __future__ import annotations

import json
from datetime import timedelta

from bot.feedback.reports import build_report, render
from bot.store.repositories import Store
from tests.feedback.conftest import HANDBOOK, NOW


def ask_in_terminal(store: Store, question: str, when, answered: bool = False) -> None:
    message = f"{when.timestamp():.0f}"
    store.record_conversation(
        user_id="terminal:ops", channel_id="terminal", thread_ts=message, message_ts=message, source="terminal",
        question=question, answer="An answer." if answered else "I don't know.", answered=answered, latency_ms=5,
        answerer="extractive", sources=[HANDBOOK], created_at=when)


def test_terminal_questions_are_counted_apart_and_leave_slack_rates_gaps_and_documents_alone(sessions, pilot_week):
    store, day = Store(sessions), NOW - timedelta(days=7)
    ask_in_terminal(store, "What is the capital of Peru?", day + timedelta(days=4))
    ask_in_terminal(store, "whats for lunch", day + timedelta(days=4, hours=1))
    ask_in_terminal(store, "Which AI tools are approved?", day + timedelta(days=5), answered=True)
    ask_in_terminal(store, "test question", day - timedelta(days=3))  # the previous period

    report = build_report(sessions, NOW)

    cur, prev = report.current, report.previous
    assert (cur.questions, cur.answered, cur.answered_rate, cur.helpful_rate) == (5, 3, 0.6, 2 / 3)  # as without
    assert (cur.terminal, cur.terminal_answered, prev.terminal, prev.terminal_answered) == (3, 1, 1, 0)
    assert report.change()["questions_pct"] == 150.0
    assert [(g.question, g.count) for g in report.gaps] == [("Can I paste customer data into ChatGPT?", 2),
                                                            ("What is the capital of Peru?", 1)]
    assert report.documents == [("AI Handbook", 2), ("Data Policy", 2)]
    assert [d.questions for d in report.days] == [1, 1, 2, 1, 0, 0, 0, 0]
    data = json.loads(render(report, "json"))
    assert (data["current"]["terminal"], data["current"]["terminal_answered"], data["current"]["questions"]) == (
        3, 1, 5)
    line = "Terminal questions (rollout ask/chat, not in the figures above): 3, 1 answered"
    assert line in render(report, "text") and f"- {line}" in render(report, "markdown")


def test_a_report_with_only_terminal_questions_has_no_slack_rates(sessions):
    ask_in_terminal(Store(sessions), "Which AI tools are approved?", NOW - timedelta(days=1), answered=True)

    report = build_report(sessions, NOW)

    assert (report.current.questions, report.current.answered_rate, report.current.terminal) == (0, None, 1)
    assert "Answered: n/a" in render(report, "text")
