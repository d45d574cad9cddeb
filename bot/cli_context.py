"""What every `rollout` command shares: the settings read once, and the knowledge base and runtime opened on first
use. Its own module so every feature's commands (bot/<feature>/cli*.py) need nothing from bot/cli.py."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from bot.settings import Settings


class Context:
    """Settings read once; the knowledge base and the runtime (one engine, migrated once) opened on first use."""

    def __init__(self):
        self.settings = Settings()
        self._kb = None
        self._runtime = None
        self.recall_runs: list = []  # what `rollout ingest` recorded for policy-change recall (bot/recall/cli.py)

    def runtime(self, knowledge_base=None):
        """The process's runtime (bot/runtime.py), built on first use."""
        from bot.runtime import build_runtime

        if self._runtime is None:
            self._runtime = build_runtime(self.settings, knowledge_base=knowledge_base)
        return self._runtime

    def close(self) -> None:
        """Release the runtime's database connections when the command ends."""
        if self._runtime is not None:
            self._runtime.close()

    def knowledge_base(self, answerer: str | None = None):
        from knowledge.base import KnowledgeBase

        if self._kb is None:
            s = self.settings
            self._kb = KnowledgeBase.open(
                s.data_dir, chroma_url=s.chroma_url, embedding_model=s.rollout_embedding_model,
                answerer=answerer or s.rollout_answerer, **llm_options(s),
            )
        return self._kb

    def asking(self):
        """The Slack answering workflow over the knowledge base and the database (answers here are recorded like
        Slack's), for `ask` and `chat`."""
        kb = self.knowledge_base()
        warn_if_empty(kb)
        return self.runtime(kb).asking


def llm_options(settings: Settings) -> dict:
    """Options the LLM answerer needs (ignored by the extractive one)."""
    return {"base_url": settings.openai_base_url, "api_key": settings.openai_api_key}


pass_context = click.make_pass_decorator(Context)


def warn_if_empty(kb) -> None:
    """Every answer from an empty index is "I don't know": say why, on stderr (stdout stays the answers)."""
    if kb.index.count() == 0:
        click.echo("warning: no documents are indexed yet, so nothing can be answered. "
                   "Run: rollout ingest knowledge/policies", err=True)


class Since(click.ParamType):
    """`--since`, the same on every command: '90m', '24h', '7d', '2w' ago, or an ISO date or time (UTC when it has no
    zone; a date is its midnight)."""

    name = "since"

    def __init__(self, clock=lambda: datetime.now(UTC)):
        self.clock = clock

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if match := _AGO.fullmatch(text):
            return self.clock() - timedelta(**{_UNITS[match[2]]: int(match[1])})
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is not a time: write e.g. 24h, 7d, 2w or 2027-01-18", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


SINCE = Since()
_AGO = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
