"""`rollout report` counts auto-answers, private answers and shares, with their 👍/👎 (issue 15)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from click.testing import CliRunner

from bot.answering.channel_store import ChannelStore
from bot.cli import main
from bot.feedback.reports import build_report, render
from bot.feedback.store import FeedbackStore
from bot.store import make_engine, migrate, session_factory
from bot.store.repositories import Store

NOW = datetime(2027, 2, 10, 12, tzinfo=UTC)


def seed(db_url) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    store, votes, shares = Store(sessions), FeedbackStore(sessions), ChannelStore(sessions)

    def asked(n, source, private=False, days_ago=1):
        return store.record_conversation(user_id=f"U{n}", channel_id="C0POLICY", thread_ts=f"{n}.0",
                                         message_ts=f"{n}.0", source=source, question=f"q{n}", answer="a",
                                         answered=True, latency_ms=5, answerer="extractive", private=private,
                                         created_at=NOW - timedelta(days=days_ago)).id

    auto = [asked(n, "auto") for n in range(3)]
    private = [asked(n, "mention", private=True) for n in range(3, 6)]
    asked(6, "mention")
    asked(7, "auto", days_ago=9)  # the week before
    when = NOW - timedelta(hours=5)
    votes.rate(auto[0], "U0A", "helpful", when)
    votes.rate(auto[1], "U0B", "not_helpful", when)
    votes.rate(auto[1], "U0C", "not_helpful", when)
    votes.rate(private[0], "U0D", "helpful", when)  # shared below
    votes.rate(private[2], "U0E", "not_helpful", when)  # never shared
    for conversation_id in private[:2]:
        shares.claim_share(conversation_id, "U3", "C0POLICY", "3.0", when)
        shares.shared(conversation_id, "9.0", when)
    shares.claim_share(private[2], "U5", "C0POLICY", "5.0", when)  # claimed, never posted: not a share
    engine.dispose()


def test_the_report_counts_auto_answers_private_answers_and_shares_with_their_votes(db_url, tmp_path):
    seed(db_url)
    engine = make_engine(db_url)
    report = build_report(session_factory(engine), NOW)
    engine.dispose()
    figures = report.to_json()["current"]
    assert (figures["auto_answers"], figures["auto_helpful"], figures["auto_not_helpful"]) == (3, 1, 2)
    assert (figures["private_answers"], figures["shares"]) == (3, 2)
    assert (figures["shared_helpful"], figures["shared_not_helpful"]) == (1, 0)
    assert report.to_json()["previous"]["auto_answers"] == 1
    text = render(report, "text")
    assert "Auto-answers (no mention, auto channels): 3 (👍 1, 👎 2)" in text
    assert "Private answers: 3; shared in channel: 2 (👍 1, 👎 0 on shared answers)" in text

    with time_machine.travel(NOW, tick=False):
        cli = CliRunner().invoke(main, ["report", "--format", "json"],
                                 env={"DATABASE_URL": db_url, "ROLLOUT_DATA_DIR": str(tmp_path / "data")})
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["current"]["shares"] == 2
