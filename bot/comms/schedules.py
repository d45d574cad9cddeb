"""The engine's triggers (jobs/schedule.py) as the features use them on what people type: a schedule the engine
refuses is a BadSchedule, whose message the CLI and Slack show as it is. Features take their triggers from here."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from bot.comms.errors import BadSchedule
from jobs import schedule
from jobs.schedule import next_runs

__all__ = ["check_schedule", "cron_trigger", "describe", "next_runs", "parse_at", "trigger_for", "zone"]
P = ParamSpec("P")
R = TypeVar("R")


def _shown(refusing: Callable[P, R]) -> Callable[P, R]:
    """`refusing` with the engine's ScheduleError raised as a BadSchedule with the same message."""

    @functools.wraps(refusing)
    def shown(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return refusing(*args, **kwargs)
        except schedule.ScheduleError as exc:
            raise BadSchedule(str(exc)) from None

    return shown


zone = _shown(schedule.zone)
parse_at = _shown(schedule.parse_at)
cron_trigger = _shown(schedule.cron_trigger)
trigger_for = _shown(schedule.trigger_for)
check_schedule = _shown(schedule.check_schedule)
describe = _shown(schedule.describe)
