"""Errors of deployment communications, with messages safe to show the person who caused them."""
from __future__ import annotations

from bot.errors import RolloutError


class CommsError(RolloutError):
    """Something about an announcement, plan, audience or campaign that the user can fix; the message says how."""


class BadSchedule(CommsError):
    """A time, cron expression or time zone that cannot be scheduled."""


class BadTarget(CommsError):
    """An audience target that is malformed or unknown to Slack."""


class TargetsUnchecked(CommsError):
    """Targets that only Slack can vouch for, and Slack could not be asked (no SLACK_BOT_TOKEN, or unreachable)."""


class PlanError(CommsError):
    """A rollout plan that does not match the schema; `problems` are "file:line: what is wrong" lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))
