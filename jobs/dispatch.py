"""Runs recorded in the database are claimed here, one process at a time under a lease, and handed to their job
kind's function. A process that dies mid-run stops renewing its leases; another (or its restart) takes the run over
and the deliveries already settled are not sent again."""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jobs.delivery import Interrupted, Sender
from jobs.runs import Run, RunStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a run ended: "done", "failed" or "missed", and a line saying what happened."""

    status: str
    detail: str


@dataclass(kw_only=True)
class RunContext:
    """What the engine needs of a process, handed to every job kind with its run; the product extends it with what
    its job kinds use (bot/comms/job_context.py)."""

    runs: RunStore
    sender: Sender  # the fan-out's Slack
    pool: Executor  # the fan-out's senders
    holder: str  # this process, as lease holder
    lease: timedelta
    grace: timedelta
    clock: Callable[[], datetime]
    report: Callable[[str], None]  # tell the admins (log, and the report channel when there is one)
    stopping: threading.Event = field(default_factory=threading.Event)  # set on shutdown: leave runs to resume


class RunMetrics:
    """Where the engine tells what became of runs, for counting (bot/metrics.py counts them for /metrics); this one
    counts nothing."""

    def started(self, kind: str, late_seconds: float) -> None:
        """A run of `kind` is starting, `late_seconds` after it was due."""

    def ended(self, kind: str, status: str) -> None:
        """A run of `kind` ended "done", "failed" or "missed" (when it was found or when it was claimed)."""


JobKind = Callable[[RunContext, Run, datetime], Outcome]  # a kind of run's function, given the context it needs


class Dispatcher:
    """Claims due runs (and runs whose owner died) a few at a time, and runs them on worker threads; a heartbeat
    renews the leases of every run this process holds."""

    def __init__(self, ctx: RunContext, kinds: Mapping[str, JobKind], workers: int = 4, poll: float = 1.0,
                 metrics: RunMetrics | None = None):
        self.ctx, self.kinds, self.poll, self.metrics = ctx, dict(kinds), poll, metrics or RunMetrics()
        self.prefetch = 2 * workers  # claimed in one transaction when many runs are due at once
        self._queue: queue.Queue[Run] = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, name=f"rollout-runs-{n}", daemon=True)
                         for n in range(workers)]
        self._threads += [threading.Thread(target=self._claim, name="rollout-run-claims", daemon=True),
                          threading.Thread(target=self._heartbeat, name="rollout-run-leases", daemon=True)]

    def start(self) -> Dispatcher:
        """Start claiming runs."""
        for thread in self._threads:
            thread.start()
        return self

    def wake(self) -> None:
        """Look for runs now (the scheduler just recorded some)."""
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        """Stop claiming; runs in progress stop after the sends under way and are left for the next process."""
        self.ctx.stopping.set()
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        while not self._queue.empty():  # claimed but not started: free them for another process now
            self.ctx.runs.release(self._queue.get_nowait().id, self.ctx.holder, self.ctx.clock())

    def run_once(self) -> bool:
        """Claim and run one run if there is one; True if it did."""
        runs = self.ctx.runs.claim_many(self.ctx.holder, self.ctx.clock(), self.ctx.lease, 1)
        for run in runs:
            self.execute(run)
        return bool(runs)

    def execute(self, run: Run) -> Outcome:
        """Run a claimed run with its kind's function and record how it ended."""
        now = self.ctx.clock()
        self.metrics.started(run.kind, max(0.0, (now - run.run_time).total_seconds()))
        try:
            outcome = self._outcome(run, now)
        except Interrupted:
            self.ctx.runs.release(run.id, self.ctx.holder, self.ctx.clock())
            log.info("%s run at %s: left for the next scheduler to resume", run.job_id, run.run_time.isoformat())
            return Outcome("running", "interrupted by shutdown")
        except Exception as exc:
            log.exception("%s run at %s failed", run.job_id, run.run_time.isoformat())
            outcome = Outcome("failed", f"error: {exc}"[:500])
        self.ctx.runs.finish(run.id, self.ctx.holder, outcome.status, outcome.detail, self.ctx.clock())
        self.metrics.ended(run.kind, outcome.status)
        log.info("%s run at %s: %s (%s)", run.job_id, run.run_time.isoformat(), outcome.status, outcome.detail)
        if outcome.status == "missed":
            self.ctx.report(f"{run.job_id}: the run due {run.run_time.isoformat()} was missed ({outcome.detail})")
        return outcome

    def _outcome(self, run: Run, now: datetime) -> Outcome:
        late = now - run.run_time
        if not run.resolved and late > self.ctx.grace:  # nothing sent yet, and too late to start now
            return Outcome("missed", f"{_duration(late)} late, beyond the {_duration(self.ctx.grace)} grace period")
        kind = self.kinds.get(run.kind)
        if kind is None:
            return Outcome("failed", f"no job kind '{run.kind}' in this version of Rollout")
        return kind(self.ctx, run, now)

    def _claim(self) -> None:
        while not self._stop.is_set():
            room = self.prefetch - self._queue.qsize()
            claimed = []
            if room > 0:
                try:
                    claimed = self.ctx.runs.claim_many(self.ctx.holder, self.ctx.clock(), self.ctx.lease, room)
                except Exception:  # the database went away for a moment: keep claiming
                    log.exception("could not claim runs; trying again in %.1f s", self.poll)
            for run in claimed:
                self._queue.put(run)
            if not claimed:
                self._wake.wait(self.poll if room > 0 else 0.05)
                self._wake.clear()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                run = self._queue.get(timeout=self.poll)
            except queue.Empty:
                continue
            try:
                self.execute(run)
            except Exception:  # e.g. the database went away while recording the outcome: the lease will expire
                log.exception("%s run at %s could not be recorded; it will be taken up again", run.job_id,
                              run.run_time.isoformat())

    def _heartbeat(self) -> None:
        interval = self.ctx.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                self.ctx.runs.renew(self.ctx.holder, self.ctx.clock(), self.ctx.lease)
            except Exception:
                log.exception("could not renew run leases")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
