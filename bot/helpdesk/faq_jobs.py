"""The FAQ index job: entries saved while the knowledge base was down are indexed once it is back, and each one's
agent is told. Runs at every start and every minute; each entry is recorded indexed with a conditional update, so
its agent is told once however many processes run the job."""
from __future__ import annotations

from datetime import datetime

JOB_ID = "faq-index"
EVERY_SECONDS = 60


def index_pending_faq(desk, now: datetime) -> list[int]:
    """Index what is pending and tell each entry's agent; the ids indexed."""
    from bot.helpdesk.blocks import faq_now_searchable_text

    indexed = desk.faq.index_pending(now)
    for entry in indexed:
        desk.tell_about_faq(entry, faq_now_searchable_text(entry))
    return [entry.id for entry in indexed]
