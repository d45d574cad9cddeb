"""The features Rollout is made of, each a package under bot/, and what each brings to the process (issue 12).

Every place that needs all of them loops over FEATURES instead of naming each: the migrations (bot/store/migrations/
env.py) load every feature's tables through `metadata()`."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from sqlalchemy import MetaData


@dataclass(frozen=True)
class Feature:
    """One feature: its package name and the modules that define its tables."""

    name: str
    tables: tuple[str, ...] = ()


FEATURES: tuple[Feature, ...] = (
    Feature("answering", tables=("bot.store.models", "bot.answering.channel_store")),
    Feature("feedback", tables=("bot.feedback.store",)),
    Feature("helpdesk", tables=("bot.helpdesk.tables", "bot.helpdesk.limit_store")),
    Feature("comms", tables=("bot.comms.tables",)),
    Feature("recall", tables=("bot.recall.tables",)),
)


def metadata() -> MetaData:
    """Base.metadata with every feature's tables on it, for migrations and the model/migration comparison."""
    for feature in FEATURES:
        for module in feature.tables:
            importlib.import_module(module)
    from bot.store.models import Base

    return Base.metadata
