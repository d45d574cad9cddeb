"""The App Home tab's content, Slack-free: everyone's recent questions, and for admins this week's headline figures
and top knowledge gaps (from bot/feedback/reports.py)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.feedback.blocks import home_view
from bot.feedback.reports import build_report, gap_lines, headline_lines
from bot.store.models import utc_now
from bot.store.repositories import Store

RECENT = 5


class Home:
    """Builds a person's App Home view."""

    def __init__(self, store: Store, sessions: sessionmaker[Session], admin_ids: frozenset[str],
                 clock: Callable[[], datetime] = utc_now, admin_blocks: Callable[[], list[dict]] | None = None):
        self.store, self.sessions, self.admin_ids, self.clock = store, sessions, admin_ids, clock
        self.admin_blocks = admin_blocks

    def view(self, user_id: str) -> dict:
        """The Home tab for `user_id`."""
        recent = [(c.question, c.answered) for c in self.store.recent_questions(user_id, RECENT)]
        if user_id not in self.admin_ids:
            return home_view(recent)
        report = build_report(self.sessions, self.clock())
        extra = self.admin_blocks() if self.admin_blocks else []
        return home_view(recent, admin=headline_lines(report), gaps=gap_lines(report), admin_extra=extra)
