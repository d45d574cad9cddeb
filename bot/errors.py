"""The root of Rollout's errors and the kinds every feature shares; each message is safe to show the person who
caused it. A feature's own kinds live with it (bot/helpdesk/errors.py, bot/comms/errors.py, …) and derive from
`RolloutError`, so the CLI (bot/cli_errors.py) and the Slack edge handle them all as one."""
from __future__ import annotations

from knowledge.errors import RolloutError

__all__ = ["NotFound", "RolloutError", "SettingError"]


class NotFound(RolloutError):
    """What was asked for (a ticket, incident, FAQ entry, announcement or campaign) does not exist (any more)."""


class SettingError(RolloutError, ValueError):
    """A setting (an environment variable such as DATABASE_URL or ROLLOUT_RATE_LIMIT) whose value can't be used."""
