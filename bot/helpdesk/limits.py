"""Per-person limits on what costs other people's time: help requests, incident reports and relayed messages.

Generous on purpose (nobody with a real need meets them; a script or a stuck key does), counted in the database when
each is accepted, so a burst cannot outrun them and every process sees the same count. A refusal names when to try
again. If the count cannot be read the action is allowed: a limit must never be the reason a real request is lost.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.helpdesk.limit_store import LimitStore
from bot.store.models import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most `allowed` of an action per person per `window`; `what` names them in the refusal."""

    allowed: int
    window: timedelta
    what: str


HELP_ME = "help_me"
INCIDENT = "incident"
RELAY = "relay"
LIMITS = {
    HELP_ME: Limit(10, timedelta(hours=1), "help requests"),
    INCIDENT: Limit(10, timedelta(hours=1), "incident reports"),
    RELAY: Limit(60, timedelta(minutes=10), "messages to the helpdesk"),
}
AFTERWORDS = {INCIDENT: " If it is urgent, contact the security team directly.",
              HELP_ME: " If it is urgent, contact the helpdesk directly."}


class Limits:
    """Take one of a person's allowance for an action; the friendly refusal when none is left."""

    def __init__(self, store: LimitStore, clock: Callable[[], datetime] = utc_now,
                 limits: dict[str, Limit] | None = None):
        self.store, self.clock, self.limits = store, clock, limits or LIMITS

    def refusal(self, user_id: str, action: str) -> str | None:
        """None if `user_id` may do `action` now (and it is counted), else the message saying when to try again."""
        limit, now = self.limits[action], self.clock()
        try:
            again = self.store.take(user_id, action, now, limit.window, limit.allowed)
        except Exception:
            log.warning("could not count %s for %s; allowed", action, user_id, exc_info=True)
            return None
        if again is None:
            return None
        log.info("%s over the limit for %s until %s", action, user_id, again.isoformat(timespec="seconds"))
        return (f":hourglass_flowing_sand: You've sent {limit.allowed} {limit.what} in {describe(limit.window)}, "
                f"which is as many as I take from one person. Please try again {in_about(again - now)}."
                f"{AFTERWORDS.get(action, '')}")


def describe(window: timedelta) -> str:
    """'the last hour', 'the last 10 minutes'."""
    minutes = int(window.total_seconds() // 60)
    if minutes == 60:
        return "the last hour"
    return f"the last {minutes // 60} hours" if minutes % 60 == 0 else f"the last {minutes} minutes"


def in_about(wait: timedelta) -> str:
    """'in about 12 minutes', 'in a minute' (rounded up: never sooner than it is true)."""
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return "in a minute" if minutes == 1 else f"in about {minutes} minutes"


def plain(text: str) -> str:
    """A refusal where mrkdwn is not shown (a modal's field error): without its emoji code."""
    return text.removeprefix(":hourglass_flowing_sand: ")
