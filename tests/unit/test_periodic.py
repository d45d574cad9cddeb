"""Periodic jobs: each runs when its interval has passed, on the clock it is given; a failure is not fatal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jobs.periodic import Periodic


class Clock:
    def __init__(self):
        self.now = datetime(2027, 1, 18, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_each_job_runs_at_once_then_every_interval_with_the_time_it_was_given():
    clock, seen = Clock(), []
    periodic = Periodic([("sla", 60, lambda now: seen.append(("sla", now))),
                         ("often", 10, lambda now: seen.append(("often", now)))], clock=clock)

    assert periodic.run_due() == ["sla", "often"]
    clock.now += timedelta(seconds=30)
    assert periodic.run_due() == ["often"]
    clock.now += timedelta(seconds=30)
    assert periodic.run_due() == ["sla", "often"]
    assert seen[-1] == ("often", clock.now)


def test_a_failing_job_is_logged_and_does_not_stop_the_others(caplog):
    clock, seen = Clock(), []

    def broken(now):
        raise RuntimeError("database unreachable")

    periodic = Periodic([("broken", 60, broken), ("fine", 60, seen.append)], clock=clock)

    assert periodic.run_due() == ["broken", "fine"]
    assert seen == [clock.now]
    assert "periodic job broken failed" in caplog.text
