"""How every Rollout process logs: text (the default) or, with ROLLOUT_LOG_FORMAT=json, one JSON object per line
(python-json-logger) with time, level, logger, event and the ids of the work under way; the secret filter always on.

The ids tie a question together: `work_id` (the Slack event's key) from its ack to its answer, `conversation_id` from
the answer to the feedback on it, with `channel`, `surface` and `user_hash` (a Slack user id, hashed). Question text
and secrets are never fields; messages go through the secret and personal-data filter (bot/answering/safety.py).
"""
from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from bot.answering.safety import install_redacting_filter
from bot.errors import SettingError

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_ids: ContextVar[dict[str, object]] = ContextVar("rollout_log_ids", default={})


class LogFormatError(SettingError):
    """ROLLOUT_LOG_FORMAT names no format we have."""


def configure(level: str = "WARNING", log_format: str | None = None) -> None:
    """Log to stderr at `level` in `log_format` (text or json), with the secret and personal-data filter."""
    chosen = (log_format or "text").strip().lower()
    if chosen not in FORMATS:
        raise LogFormatError(f"ROLLOUT_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    level = level.upper()
    handler = logging.StreamHandler()
    handler.setLevel(level)  # filter here too: bm25s sets its own logger to DEBUG when imported, after this runs
    handler.setFormatter(RolloutJsonFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(WorkIds())
    logging.basicConfig(level=level, handlers=[handler])
    install_redacting_filter(personal_data=True)


class RolloutJsonFormatter(JsonFormatter):
    """time, level, logger, event, then the work's ids; a traceback as the secret filter left it."""

    def __init__(self):
        super().__init__(["levelname", "name", "message"], timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger", "message": "event"})

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_text:  # already formatted and redacted: don't format the raw one again
            record = copy.copy(record)
            record.exc_info = None
        return super().format(record)


class WorkIds(logging.Filter):
    """Adds the ids of the work under way in this thread (`log_ids`) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _ids.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


@contextmanager
def log_ids(**ids: object) -> Iterator[None]:
    """Within this block (this thread), every log record carries `ids` (None values left out)."""
    token = _ids.set({**_ids.get(), **{name: value for name, value in ids.items() if value is not None}})
    try:
        yield
    finally:
        _ids.reset(token)


def user_hash(user_id: str | None) -> str | None:
    """A stable, short stand-in for a Slack user id in logs."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:12] if user_id else None
