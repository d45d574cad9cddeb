"""Persistence: SQLAlchemy models, the Store repository and Alembic migrations (SQLite or PostgreSQL)."""
from bot.store.db import make_engine, migrate, session_factory
from bot.store.models import Conversation, Interaction, ProcessedEvent
from bot.store.repositories import Store

__all__ = ["Conversation", "Interaction", "ProcessedEvent", "Store", "make_engine", "migrate", "session_factory"]
