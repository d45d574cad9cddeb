"""Reports checked against a seeded database, and the chart is a real PNG."""
from __future__ import annotations

import json
import struct

from bot.feedback.knowledge_gaps import top_gaps
from bot.feedback.report_chart import NO_DATA, chart_figure, chart_png
from bot.feedback.reports import build_report, render
from tests.feedback.conftest import NOW


def test_the_report_counts_the_seeded_week(sessions, pilot_week):
    report = build_report(sessions, NOW)

    cur, prev = report.current, report.previous
    assert (cur.questions, cur.answered, cur.helpful, cur.not_helpful, cur.escalations) == (5, 3, 2, 1, 1)
    assert (prev.questions, prev.answered, prev.helpful) == (2, 2, 1)
    assert report.change() == {"questions_pct": 150.0, "answered_rate_pts": -40.0, "helpful_rate_pts": -33.3,
                               "escalations": 1}
    assert [(t.team, t.responses, t.ease, t.usefulness, t.saved_time_rate) for t in report.teams] == [
        ("Engineering", 2, 3.0, 4.0, 0.5), ("Sales & marketing", 1, 5.0, 4.0, 1.0)]
    assert report.documents == [("AI Handbook", 2), ("Data Policy", 2)]
    assert [d.questions for d in report.days] == [1, 1, 2, 1, 0, 0, 0, 0]  # Feb 1 09:00 to Feb 8 09:00


def test_knowledge_gaps_group_similar_questions_with_counts(sessions, pilot_week):
    gaps = build_report(sessions, NOW).gaps

    assert [(g.question, g.count, g.unanswered, g.not_helpful) for g in gaps] == [
        ("Can I paste customer data into ChatGPT?", 2, 1, 1), ("What is the capital of Peru?", 1, 1, 0)]


def test_gap_grouping_keeps_different_questions_apart():
    gaps = top_gaps([("How do I reset my password?", "unanswered"), ("Can I use Midjourney for logos?", "unanswered"),
                     ("how do I reset my passwords", "not_helpful")])
    assert [(g.count, g.question) for g in gaps] == [(2, "How do I reset my password?"),
                                                     (1, "Can I use Midjourney for logos?")]


def test_every_format_renders(sessions, pilot_week):
    report = build_report(sessions, NOW)

    data = json.loads(render(report, "json"))
    assert data["current"]["questions"] == 5 and data["current"]["helpful_rate"] == 0.667
    assert data["knowledge_gaps"][0]["count"] == 2
    text = render(report, "text")
    assert "Questions asked: 5 (+150% vs previous period)" in text and "Engineering: 3.0, 4.0, 50% yes" in text
    markdown = render(report, "markdown")
    assert markdown.startswith("# Rollout pilot report") and "| Engineering | 2 | 3.0 | 4.0 | 50% |" in markdown


def test_an_empty_database_gives_a_report_without_rates(sessions):
    report = build_report(sessions, NOW)
    assert "Answered: n/a" in render(report, "text") and report.gaps == []
    assert chart_png(report).startswith(b"\x89PNG")


def test_markdown_prints_no_empty_table(sessions):
    markdown = render(build_report(sessions, NOW), "markdown")

    assert "|" not in markdown
    assert "## Survey averages per team\n\nNo survey responses yet.\n" in markdown


def test_a_period_without_questions_is_drawn_as_no_data_yet_not_an_empty_axis(sessions):
    figure = chart_figure(build_report(sessions, NOW))

    assert figure.axes == []  # no axis from -0.04 to 0.04
    assert NO_DATA in [t.get_text() for t in figure.texts]


def test_the_legend_sits_outside_the_plot_and_counts_start_at_zero(sessions, pilot_week):
    figure = chart_figure(build_report(sessions, NOW))
    figure.canvas.draw()

    [legend] = figure.legends
    box = legend.get_window_extent()
    assert [t.get_text() for t in legend.get_texts()] == ["Questions", "Helpful %"]
    assert all(not box.overlaps(axes.get_window_extent()) for axes in figure.axes)
    bars = figure.axes[0]
    assert bars.get_ylim()[0] == 0 and all(tick == int(tick) for tick in bars.get_yticks())


def test_the_chart_is_a_real_png(sessions, pilot_week):
    png = chart_png(build_report(sessions, NOW))

    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (900, 450) and len(png) > 10_000


def test_helpdesk_tickets_are_the_escalations_counted_once_with_their_statuses(sessions, pilot_week):
    from datetime import timedelta

    from bot.helpdesk.tables import Ticket
    from bot.store.models import Conversation

    with sessions.begin() as session:
        peru = session.query(Conversation).filter(Conversation.question.like("%Peru%")).one()
        day = peru.created_at
        session.add_all([
            Ticket(user_id="U0ALICE", origin="escalate", conversation_id=peru.id, question=peru.question,
                   status="claimed", created_at=day + timedelta(hours=1)),  # the same escalation as the click
            Ticket(user_id="U0BOB", origin="help-me", question="my Copilot seat is missing", status="open",
                   created_at=day + timedelta(hours=3)),
        ])

    report = build_report(sessions, NOW)

    assert report.current.escalations == 2  # the click and its ticket once, the help-me ticket once
    assert report.tickets == {"claimed": 1, "open": 1}
    assert report.to_json()["tickets"] == {"claimed": 1, "open": 1}
    assert "tickets 1 claimed, 1 open" in render(report, "text")
