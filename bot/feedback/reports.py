"""Pilot reports from the database: usage, answer quality, survey averages per team, escalations, knowledge gaps,
most-cited documents and week-over-week change; rendered as text, JSON, Markdown (the chart:
bot/feedback/report_chart.py).

Every figure is about Slack, where the pilot happens; questions asked in a terminal (`rollout ask`, `rollout chat`:
often the team trying things out) are counted apart, so they never dilute Slack's rates, gaps or documents."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.answering.channel_store import SharedAnswer
from bot.feedback.knowledge_gaps import Gap, Vectorize, top_gaps
from bot.feedback.store import AnswerRating, SurveyResponse
from bot.feedback.surveys import TEAMS
from bot.store.models import AUTO_SOURCE, TERMINAL_SOURCE, Conversation, Interaction

PERIOD = timedelta(days=7)


@dataclass
class Figures:
    """The headline numbers of one period."""

    questions: int = 0
    answered: int = 0
    helpful: int = 0
    not_helpful: int = 0
    escalations: int = 0
    survey_responses: int = 0
    terminal: int = 0  # questions asked with `rollout ask` / `rollout chat`, in none of the figures above
    terminal_answered: int = 0
    auto_answers: int = 0  # answers to questions asked without a mention in `auto` channels (issue 15)
    auto_helpful: int = 0
    auto_not_helpful: int = 0
    private_answers: int = 0  # answers shown to the asker alone (/rollout, channels with private answers)
    shares: int = 0  # private answers their askers shared in the channel
    shared_helpful: int = 0  # votes on shared answers
    shared_not_helpful: int = 0

    @property
    def answered_rate(self) -> float | None:
        return _rate(self.answered, self.questions)

    @property
    def helpful_rate(self) -> float | None:
        return _rate(self.helpful, self.helpful + self.not_helpful)

    def to_json(self) -> dict:
        return {**asdict(self), "answered_rate": _round(self.answered_rate), "helpful_rate": _round(self.helpful_rate)}


@dataclass
class TeamSurvey:
    """Survey averages for one team."""

    team: str
    responses: int
    ease: float
    usefulness: float
    saved_time_rate: float  # share answering "yes"


@dataclass
class Day:
    """One day of the chart."""

    day: date
    questions: int
    helpful_rate: float | None


@dataclass
class Report:
    """Everything `rollout report` shows for [since, until), with the period before it for comparison."""

    since: datetime
    until: datetime
    current: Figures
    previous: Figures
    teams: list[TeamSurvey] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    documents: list[tuple[str, int]] = field(default_factory=list)
    recalls: dict[str, int] = field(default_factory=dict)  # policy-change recalls sent: {"messages", "answers"}
    days: list[Day] = field(default_factory=list)
    tickets: dict[str, int] = field(default_factory=dict)  # tickets opened in the period, by status now

    def change(self) -> dict[str, float | None]:
        """Week-over-week change: questions in percent, rates in percentage points."""
        cur, prev = self.current, self.previous
        return {"questions_pct": _pct_change(cur.questions, prev.questions),
                "answered_rate_pts": _pts(cur.answered_rate, prev.answered_rate),
                "helpful_rate_pts": _pts(cur.helpful_rate, prev.helpful_rate),
                "escalations": cur.escalations - prev.escalations}

    def to_json(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "current": self.current.to_json(),
                "previous": self.previous.to_json(), "change": self.change(),
                "surveys_by_team": [asdict(t) for t in self.teams], "knowledge_gaps": [g.to_json() for g in self.gaps],
                "most_cited_documents": [{"document": d, "citations": n} for d, n in self.documents],
                "tickets": dict(self.tickets), "recalls_sent": dict(self.recalls),
                "days": [{"day": d.day.isoformat(), "questions": d.questions, "helpful_rate": _round(d.helpful_rate)}
                         for d in self.days]}


def build_report(sessions: sessionmaker[Session], until: datetime, since: datetime | None = None,
                 vectorize: Vectorize | None = None, gaps: int = 5) -> Report:
    """The report for [since, until) (default: the 7 days before `until`) and the same length before it."""
    since = since or until - PERIOD
    before = since - (until - since)
    with sessions() as session:
        conversations, terminal = _conversations(session, before, until)
        ratings = session.execute(select(AnswerRating.conversation_id, AnswerRating.vote, AnswerRating.updated_at)
                                  .where(AnswerRating.updated_at >= before, AnswerRating.updated_at < until)).all()
        escalations = _escalations(session, before, until)
        tickets = _ticket_statuses(session, since, until)
        responses = list(session.scalars(select(SurveyResponse).where(
            SurveyResponse.created_at >= since, SurveyResponse.created_at < until)))
        shares = session.execute(select(SharedAnswer.conversation_id, SharedAnswer.posted_at)
                                 .where(SharedAnswer.posted_at.isnot(None), SharedAnswer.posted_at >= before,
                                        SharedAnswer.posted_at < until)).all()
        shared_ids = set(session.scalars(select(SharedAnswer.conversation_id).where(
            SharedAnswer.posted_at.isnot(None))))
    now_convs = [c for c in conversations if c.created_at >= since]
    now_ratings = [r for r in ratings if r.updated_at >= since]
    report = Report(
        since, until,
        _figures(now_convs, now_ratings, [e for e in escalations if e.created_at >= since], len(responses),
                 [c for c in terminal if c.created_at >= since]),
        _figures([c for c in conversations if c.created_at < since], [r for r in ratings if r.updated_at < since],
                 [e for e in escalations if e.created_at < since], 0, [c for c in terminal if c.created_at < since]),
        teams=_teams(responses), documents=_documents(now_convs), days=_days(now_convs, now_ratings, since, until),
        tickets=tickets, recalls=_recalls(sessions, since, until))
    auto_ids = {c.id for c in conversations if c.source == AUTO_SOURCE}
    for figures, convs, rates, shared in ((report.current, now_convs, now_ratings,
                                           [x for x in shares if x.posted_at >= since]),
                                          (report.previous, [c for c in conversations if c.created_at < since],
                                           [r for r in ratings if r.updated_at < since],
                                           [x for x in shares if x.posted_at < since])):
        _channel_figures(figures, convs, rates, len(shared), auto_ids, shared_ids)
    report.gaps = top_gaps(_gap_items(now_convs, now_ratings), gaps, vectorize)
    return report


def _recalls(sessions: sessionmaker[Session], since: datetime, until: datetime) -> dict[str, int]:
    """Policy-change recall DMs sent in the period and the answers they listed (bot/recall/recalls.py)."""
    from bot.recall.store import RecallStore

    messages, answers = RecallStore(sessions).sent_between(since, until)
    return {"messages": messages, "answers": answers}


def _channel_figures(figures: Figures, conversations, ratings, shares: int, auto_ids: set[int],
                     shared_ids: set[int]) -> None:
    """Auto-answers, private answers and shares, and the votes on auto-answers and on shared answers."""
    figures.auto_answers = sum(c.source == AUTO_SOURCE for c in conversations)
    figures.private_answers = sum(bool(c.private) for c in conversations)
    figures.shares = shares
    auto, shared = Counter(r.vote for r in ratings if r.conversation_id in auto_ids), Counter(
        r.vote for r in ratings if r.conversation_id in shared_ids)
    figures.auto_helpful, figures.auto_not_helpful = auto["helpful"], auto["not_helpful"]
    figures.shared_helpful, figures.shared_not_helpful = shared["helpful"], shared["not_helpful"]


def _escalations(session: Session, since: datetime, until: datetime) -> list:
    """Helpdesk tickets opened, and escalate clicks recorded without a ticket (no helpdesk channel set)."""
    from bot.helpdesk.tables import Ticket

    tickets = session.execute(select(Ticket.created_at, Ticket.conversation_id).where(
        Ticket.created_at >= since, Ticket.created_at < until)).all()
    ticketed = {t.conversation_id for t in tickets if t.conversation_id is not None}
    clicks = session.execute(select(Interaction.created_at, Interaction.conversation_id).where(
        Interaction.action == "escalate", Interaction.created_at >= since, Interaction.created_at < until)).all()
    return list(tickets) + [c for c in clicks if c.conversation_id not in ticketed]


def _ticket_statuses(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Tickets opened in the period by where they are now: open, claimed, resolved (as `rollout tickets list`)."""
    from bot.helpdesk.tables import Ticket

    rows = session.execute(select(Ticket.status, func.count(Ticket.id)).where(
        Ticket.created_at >= since, Ticket.created_at < until).group_by(Ticket.status)).all()
    return {status: n for status, n in rows}


def _conversations(session: Session, since: datetime, until: datetime) -> tuple[list[Conversation], list]:
    """Slack's conversations in [since, until), and the terminal's (when and whether answered) apart."""
    statement = (select(Conversation).where(Conversation.created_at >= since, Conversation.created_at < until,
                                            Conversation.source != TERMINAL_SOURCE)
                 .order_by(Conversation.created_at, Conversation.id))
    terminal = select(Conversation.created_at, Conversation.answered).where(
        Conversation.created_at >= since, Conversation.created_at < until, Conversation.source == TERMINAL_SOURCE)
    return list(session.scalars(statement)), session.execute(terminal).all()


def _figures(conversations, ratings, escalations, responses: int, terminal) -> Figures:
    votes = Counter(r.vote for r in ratings)
    return Figures(len(conversations), sum(c.answered for c in conversations), votes["helpful"],
                   votes["not_helpful"], len(escalations), responses, len(terminal),
                   sum(t.answered for t in terminal))


def _teams(responses: list[SurveyResponse]) -> list[TeamSurvey]:
    by_team: dict[str, list[SurveyResponse]] = defaultdict(list)
    for response in responses:
        by_team[response.team].append(response)
    return [TeamSurvey(TEAMS.get(team, team), len(rs), _mean(r.ease for r in rs), _mean(r.usefulness for r in rs),
                       round(sum(r.saved_time == "yes" for r in rs) / len(rs), 3))
            for team, rs in sorted(by_team.items(), key=lambda item: (-len(item[1]), item[0]))]


def _documents(conversations: list[Conversation], limit: int = 5) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for conversation in conversations:
        if conversation.answered:
            counts.update({s.get("title") or s.get("path") or "?" for s in conversation.sources or []})
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def _days(conversations, ratings, since: datetime, until: datetime) -> list[Day]:
    asked = Counter(c.created_at.date() for c in conversations)
    votes: dict[date, Counter] = defaultdict(Counter)
    for rating in ratings:
        votes[rating.updated_at.date()][rating.vote] += 1
    days, day = [], since.date()
    while day <= (until - timedelta(microseconds=1)).date():
        v = votes[day]
        days.append(Day(day, asked[day], _rate(v["helpful"], v["helpful"] + v["not_helpful"])))
        day += timedelta(days=1)
    return days


def _gap_items(conversations: list[Conversation], ratings) -> list[tuple[str, str]]:
    disliked = {r.conversation_id for r in ratings if r.vote == "not_helpful"}
    items = []
    for conversation in conversations:
        if not conversation.answered:
            items.append((conversation.question, "unanswered"))
        elif conversation.id in disliked:
            items.append((conversation.question, "not_helpful"))
    return items


# -- rendering ---------------------------------------------------------------------------------------------------


def render(report: Report, fmt: str) -> str:
    """The report as "text", "json" or "markdown"."""
    renderers: dict[str, Callable[[Report], str]] = {
        "text": render_text, "markdown": render_markdown,
        "json": lambda r: json.dumps(r.to_json(), indent=2, ensure_ascii=False)}
    return renderers[fmt](report)


def headline_lines(report: Report) -> list[str]:
    """The headline figures, one per line, with week-over-week change."""
    cur, change = report.current, report.change()
    return [
        f"Questions asked: {cur.questions} ({_signed(change['questions_pct'], '%')} vs previous period)",
        f"Answered: {_percent(cur.answered_rate)} ({_signed(change['answered_rate_pts'], ' pts')})",
        f"Helpful: {_percent(cur.helpful_rate)} of {cur.helpful + cur.not_helpful} ratings "
        f"({_signed(change['helpful_rate_pts'], ' pts')})",
        f"Escalations: {cur.escalations} ({_signed(change['escalations'], '')})"
        + (f"; tickets {', '.join(f'{n} {status}' for status, n in sorted(report.tickets.items()))}"
           if report.tickets else ""),
        f"Survey responses: {cur.survey_responses}",
        f"Recalls sent: {report.recalls.get('messages', 0)} DMs about {report.recalls.get('answers', 0)} earlier "
        f"answers whose policy sections changed",
        f"Auto-answers (no mention, auto channels): {cur.auto_answers} "
        f"(👍 {cur.auto_helpful}, 👎 {cur.auto_not_helpful})",
        f"Private answers: {cur.private_answers}; shared in channel: {cur.shares} "
        f"(👍 {cur.shared_helpful}, 👎 {cur.shared_not_helpful} on shared answers)",
        f"Terminal questions (rollout ask/chat, not in the figures above): {cur.terminal}, "
        f"{cur.terminal_answered} answered",
    ]


def gap_lines(report: Report) -> list[str]:
    """'3× "can I paste customer data" (2 unanswered, 1 👎)' per gap."""
    return [f"{g.count}× \"{g.question}\" ({g.unanswered} unanswered, {g.not_helpful} not helpful)"
            for g in report.gaps]


def render_text(report: Report) -> str:
    lines = [f"Rollout pilot report {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}", ""]
    lines += headline_lines(report)
    lines += ["", "Survey averages per team (ease, usefulness out of 5; saved time):"]
    lines += [f"  {t.team}: {t.ease:.1f}, {t.usefulness:.1f}, {t.saved_time_rate:.0%} yes ({t.responses} responses)"
              for t in report.teams] or ["  no responses yet"]
    lines += ["", "Top knowledge gaps:"] + ([f"  {line}" for line in gap_lines(report)] or ["  none"])
    lines += ["", "Most-cited documents:"] + ([f"  {d}: {n}" for d, n in report.documents] or ["  none"])
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    lines = [f"# Rollout pilot report, {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}", "", "## Headlines", ""]
    lines += [f"- {line}" for line in headline_lines(report)]
    lines += ["", "## Survey averages per team", ""]
    if report.teams:
        lines += ["| Team | Responses | Ease | Usefulness | Saved time |", "|---|---|---|---|---|"]
        lines += [f"| {t.team} | {t.responses} | {t.ease:.1f} | {t.usefulness:.1f} | {t.saved_time_rate:.0%} |"
                  for t in report.teams]
    else:
        lines += ["No survey responses yet."]
    lines += ["", "## Top knowledge gaps", ""] + ([f"1. {line}" for line in gap_lines(report)] or ["None."])
    lines += ["", "## Most-cited documents", ""] + ([f"- {d}: {n}" for d, n in report.documents] or ["None."])
    return "\n".join(lines) + "\n"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 2)


def _pct_change(now: int, before: int) -> float | None:
    return None if not before else round(100 * (now - before) / before, 1)


def _pts(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else round(100 * (now - before), 1)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _signed(value: float | int | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:+g}{unit}"
