"""Block Kit for the weekly pilot report (bot/feedback/report_job.py posts it): headlines, survey averages per team,
knowledge gaps and most-cited documents. Pure functions of a `Report`."""
from __future__ import annotations

from bot.feedback.reports import Report, gap_lines, headline_lines
from bot.slack.blocks import escape, shorten, text_sections


def report_message(report: Report) -> dict:
    """The weekly report as a message: {"text", "blocks"}."""
    title = f"Rollout pilot report, {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"
    teams = [f"• {escape(t.team)}: ease {t.ease:.1f}, usefulness {t.usefulness:.1f}, "
             f"{t.saved_time_rate:.0%} saved time ({t.responses} responses)" for t in report.teams]
    gaps = [f"• {escape(shorten(line, 200))}" for line in gap_lines(report)]
    documents = [f"• {escape(name)}: {count}" for name, count in report.documents]
    blocks: list[dict] = [{"type": "header", "block_id": "report_header",
                           "text": {"type": "plain_text", "text": shorten(title, 150)}}]
    blocks += text_sections("*Headlines*\n" + "\n".join(f"• {escape(line)}" for line in headline_lines(report)),
                            "report_headlines")
    blocks += text_sections("*Survey averages per team*\n" + ("\n".join(teams) or "• no responses yet"),
                            "report_teams")
    blocks += text_sections("*Top knowledge gaps*\n" + ("\n".join(gaps) or "• none"), "report_gaps")
    blocks += text_sections("*Most-cited documents*\n" + ("\n".join(documents) or "• none"), "report_documents")
    blocks.append({"type": "context", "block_id": "report_chart_note",
                   "elements": [{"type": "mrkdwn", "text": "The chart of questions per day and helpful rate "
                                                           "follows in the thread."}]})
    return {"text": title, "blocks": blocks}
