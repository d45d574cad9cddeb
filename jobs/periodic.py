"""Plain job functions of `now`, run every few seconds on one daemon thread of a serving process.

For jobs that are safe to run in every process at once because each piece of work inside them is taken with a
conditional update (the helpdesk SLA and incident re-posting): no lease or run log is needed."""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

log = logging.getLogger(__name__)

PeriodicJob = tuple[str, float, Callable[[datetime], object]]  # (job id, every seconds, fn(now))


class Periodic:
    """Runs each job when its interval has passed; a failing job is logged with a reference and tried again."""

    def __init__(self, jobs: list[PeriodicJob], clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 tick: float = 1.0):
        self.jobs, self.clock, self.tick = jobs, clock, tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rollout-periodic", daemon=True)
        self._last: dict[str, datetime] = {}

    def start(self) -> "Periodic":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run_due(self) -> list[str]:
        """Run every job whose interval has passed since its last run; the ids run."""
        now, ran = self.clock(), []
        for job_id, every, fn in self.jobs:
            last = self._last.get(job_id)
            if last is not None and (now - last).total_seconds() < every:
                continue
            self._last[job_id] = now
            ran.append(job_id)
            try:
                fn(now)
            except Exception:
                log.exception("periodic job %s failed (reference %s)", job_id, uuid.uuid4().hex[:8])
        return ran

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            self.run_due()
