"""Persistence shared by every feature: engines, sessions and migrations (one Alembic chain, SQLite or PostgreSQL),
and the core tables (processed events, conversations, interactions). Each feature keeps its own tables in its
package; bot/features.py lists them for the migrations. The repository over the core tables is
bot.store.repositories.Store."""
from bot.store.db import make_engine, migrate, session_factory
from bot.store.models import Conversation, Interaction, ProcessedEvent

__all__ = ["Conversation", "Interaction", "ProcessedEvent", "make_engine", "migrate", "session_factory"]
