"""Persistence: SQLAlchemy models, the Store repository and Alembic migrations (SQLite or PostgreSQL)."""
from bot.store.db import make_engine, migrate, session_factory
from bot.store.models import Conversation, Interaction, ProcessedEvent
from bot.store.repositories import Store

# Every feature's tables join Base.metadata when the store is imported, so migrations (env.py imports this package)
# and the model/migration comparison see every table; the table modules import only bot.store.models, never this.
from bot.answering import channel_store as _channels  # noqa: E402,F401,I001  (channel settings, shares of private answers)
from bot.comms import tables as _comms  # noqa: E402,F401  (announcements, runs, campaigns, pilot cohort)
from bot.feedback import store as _feedback  # noqa: E402,F401  (answer ratings, survey responses, pulse schedules)
from bot.helpdesk import tables as _helpdesk  # noqa: E402,F401  (tickets, incidents, FAQ entries, audit log)
from bot.recall import tables as _recall  # noqa: E402,F401  (cited sections, section changes, recalls)

__all__ = ["Conversation", "Interaction", "ProcessedEvent", "Store", "make_engine", "migrate", "session_factory"]
