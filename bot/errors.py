"""The root of Rollout's errors and the kinds every feature shares; each message is safe to show the person who
caused it. A feature's own kinds live with it (bot/helpdesk/errors.py, bot/comms/errors.py, …) and derive from
`RolloutError`, so the CLI (bot/cli_errors.py) and the Slack edge handle them all as one."""
from __future__ import annotations

from knowledge.errors import RolloutError

__all__ = ["DatabaseTooNew", "NotFound", "RolloutError", "SettingError"]


class NotFound(RolloutError):
    """What was asked for (a ticket, incident, FAQ entry, announcement or campaign) does not exist (any more)."""


class SettingError(RolloutError, ValueError):
    """A setting (an environment variable such as DATABASE_URL or ROLLOUT_RATE_LIMIT) whose value can't be used."""


class DatabaseTooNew(RolloutError):
    """The database was migrated by a newer Rollout: its schema revision is one this version does not know."""

    def __init__(self, database: str, revisions: list[str], newest: str | None):
        self.revisions = revisions
        super().__init__(
            f"the database at {database} was upgraded by a newer Rollout (schema revision {', '.join(revisions)}; "
            f"this version knows up to {newest}): install that newer Rollout or a later one, or point DATABASE_URL "
            "at another database")
