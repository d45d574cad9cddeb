"""Helpdesk and incident errors; each message is safe to show the person who caused it."""
from __future__ import annotations

from bot.errors import RolloutError


class HelpdeskError(RolloutError):
    """A request the helpdesk workflows turned down; str(exc) tells the person what to do next."""


class NotAllowed(HelpdeskError):
    """Someone outside the helpdesk tried to claim, resolve or add to the knowledge base."""


class AlreadyHandled(HelpdeskError):
    """Someone else got there first (claimed, resolved, acknowledged)."""


class NotConfigured(HelpdeskError):
    """A channel the workflow needs is not set."""
