"""What each Rollout process counts for Prometheus (prometheus-client), and the exposition of those counts.

One process keeps its counts in its own registry. With PROMETHEUS_MULTIPROC_DIR in the environment when the process
starts, every process (web workers, `rollout scheduler`, CLI commands) writes its counts into files there and any web
worker's /metrics serves their sum: prometheus-client's multiprocess mode. Gauges (queue depth, open tickets) are not
kept here: they are read from the database when scraped (bot/operations.py), so every worker reports the same.

Only this module imports prometheus_client, and only in a process whose counts something reads: `rollout serve` and
`rollout scheduler` (`start_process`), a server with /metrics (`enable`), or any process once PROMETHEUS_MULTIPROC_DIR
is set. Elsewhere (`rollout ask`, in a hurry to print its answer) `metrics()` counts into nothing.
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOCK_FILE = ".rollout-metrics.lock"
METRICS_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_\d+\.db")  # prometheus-client's, per pid
# A question's reply kind (bot.asking.Reply.kind) as the outcome label.
OUTCOMES = {"secret": "secret", "rate_limited": "rate_limited", "files_only": "files_only",
            "bad_question": "bad_question", "failed": "failed", "abstained": "abstained"}
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The counters and histograms of one process."""

    def __init__(self, registry: CollectorRegistry | None):
        from prometheus_client import Counter, Histogram

        def counter(name, text, labels):
            return Counter(name, text, labels, registry=registry)

        def histogram(name, text, labels=()):
            return Histogram(name, text, labels, buckets=SECONDS, registry=registry)

        self.questions = counter("rollout_questions", "Questions by surface (dm, mention, thread, command, auto) and "
                                 "outcome (answered, dont_know, secret, rate_limited, ...)", ["surface", "outcome"])
        self.answer_seconds = histogram("rollout_answer_seconds", "From a question's arrival to its answer being "
                                        "sent", ["surface"])
        self.ack_seconds = histogram("rollout_ack_seconds", "From a Slack request's arrival to Rollout's HTTP "
                                     "response (the ack)")
        self.slack_errors = counter("rollout_slack_api_errors", "Slack Web API calls that failed, by method, HTTP "
                                    "status (none: no answer) and Slack's error", ["method", "status", "error"])
        self.slack_rate_limited = counter("rollout_slack_rate_limited", "HTTP 429 answers from Slack's Web API "
                                          "(each is waited out and retried)", ["method"])
        self.scheduler_runs = counter("rollout_scheduler_runs", "Scheduled runs by job kind and outcome (done, "
                                      "failed, missed)", ["kind", "outcome"])
        self.scheduler_lateness = histogram("rollout_scheduler_lateness_seconds", "How long after its due time a "
                                            "scheduled run started", ["kind"])

    def question(self, surface: str, kind: str, answered: bool = False) -> None:
        """Count a question's outcome from its reply kind."""
        outcome = ("answered" if answered else "dont_know") if kind == "answer" else OUTCOMES.get(kind, "other")
        self.questions.labels(surface, outcome).inc()


class Uncounted:
    """Stands in for Metrics where nothing reads the counts: every metric, label and observation is itself."""

    def __getattr__(self, name: str) -> Uncounted:
        return self

    def __call__(self, *args, **kwargs) -> Uncounted:
        return self


UNCOUNTED = Uncounted()
_lock = threading.Lock()
_metrics: Metrics | None = None
_registry: CollectorRegistry | None = None
_wanted = False  # set by `enable`: this process serves /metrics
_held_lock = None  # this process's shared lock on the multiprocess dir, held for its lifetime


def metrics() -> Metrics:
    """This process's metrics once counts are read (see the module's docstring), else UNCOUNTED."""
    global _metrics, _registry
    with _lock:
        if _metrics is None and (_wanted or multiprocess_dir()):
            from prometheus_client import CollectorRegistry

            _registry = None if multiprocess_dir() else CollectorRegistry()
            _metrics = Metrics(_registry)
        return _metrics or UNCOUNTED


def enable() -> Metrics:
    """This process serves /metrics: count from now on."""
    global _wanted
    _wanted = True
    return metrics()


def multiprocess_dir() -> Path | None:
    """PROMETHEUS_MULTIPROC_DIR, if this process writes its counts there."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def start_process() -> str:
    """At the start of a serving process, before anything is counted: check the multiprocess dir and clear the
    files a previous run left, unless another Rollout process is using them; a line saying where counts go."""
    global _held_lock
    path = multiprocess_dir()
    if path is None:
        enable()
        return "metrics: this process alone (PROMETHEUS_MULTIPROC_DIR is not set)"
    if not path.is_dir():
        raise ValueError(f"{MULTIPROC_ENV} must be an existing directory: {path} is not one")
    with _lock:
        if _held_lock is None:
            _held_lock = open(path / LOCK_FILE, "a")  # noqa: SIM115 - held open for the process's lifetime
            cleared = _clear_if_alone(path, _held_lock)
            if cleared:
                log.info("cleared %d metrics files a previous run left in %s", cleared, path)
    enable()
    return f"metrics: shared with the other processes in {path} (PROMETHEUS_MULTIPROC_DIR)"


def _clear_if_alone(path: Path, lock) -> int:
    """Delete the previous run's files when no other process holds the directory's lock; then hold it shared."""
    cleared = 0
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # another process is serving: its counts (and those of workers that died) stay
    else:
        for stale in path.glob("*.db"):
            if METRICS_FILE.fullmatch(stale.name):  # only prometheus-client's (any other *.db there breaks it)
                stale.unlink(missing_ok=True)
                cleared += 1
    fcntl.flock(lock, fcntl.LOCK_SH)
    return cleared


class ScheduledRunCounts:
    """The scheduler engine's runs (its `jobs.dispatch.RunMetrics` hooks) counted in `counts()`, this process's
    metrics unless told otherwise."""

    def __init__(self, counts: Callable[[], Metrics] = metrics):
        self.counts = counts

    def started(self, kind: str, late_seconds: float) -> None:
        self.counts().scheduler_lateness.labels(kind).observe(late_seconds)

    def ended(self, kind: str, status: str) -> None:
        self.counts().scheduler_runs.labels(kind, status).inc()


def exposition(*extra: CollectorRegistry) -> bytes:
    """This process's counts (or every process's, in multiprocess mode), then `extra`, in Prometheus' text format."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    enable()
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = _registry
    return b"".join(generate_latest(r) for r in (registry, *extra))


@dataclass(frozen=True)
class Figures:
    """What the database says when scraped: the same from every worker."""

    queue_depth: int
    queue_oldest_seconds: float
    tickets: dict[str, int] = field(default_factory=dict)  # by status (open, claimed), resolved left out
    tickets_past_sla: int = 0
    incidents: dict[tuple[str, str], int] = field(default_factory=dict)  # by (severity, status)


class FiguresCollector:
    """Gauges read from the database at scrape time (`read`); a database that cannot be read is reported as such,
    not as a failed scrape."""

    def __init__(self, read: Callable[[], Figures]):
        self.read = read

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        try:
            figures = self.read()
        except Exception:
            log.warning("metrics: could not read the database", exc_info=True)
            yield GaugeMetricFamily("rollout_database_up", "Whether the last scrape could read the database", 0)
            return
        yield GaugeMetricFamily("rollout_database_up", "Whether the last scrape could read the database", 1)
        yield GaugeMetricFamily("rollout_work_queue_depth", "Acked questions not yet answered (pending in the "
                                "durable work table)", figures.queue_depth)
        yield GaugeMetricFamily("rollout_work_queue_oldest_seconds", "Age of the oldest unanswered acked question "
                                "(0 when none)", figures.queue_oldest_seconds)
        tickets = GaugeMetricFamily("rollout_tickets_open", "Helpdesk tickets not resolved, by status",
                                    labels=["status"])
        for status in ("open", "claimed"):
            tickets.add_metric([status], figures.tickets.get(status, 0))
        yield tickets
        yield GaugeMetricFamily("rollout_tickets_past_sla", "Tickets still unclaimed after "
                                "ROLLOUT_ESCALATION_SLA_MINUTES (SLA breaches now)", figures.tickets_past_sla)
        reported = CounterMetricFamily("rollout_incidents", "Security incident reports, by severity",
                                       labels=["severity"])
        waiting = GaugeMetricFamily("rollout_incidents_unacknowledged", "Incident reports nobody has acknowledged "
                                    "yet, by severity", labels=["severity"])
        for severity in sorted({severity for severity, _ in figures.incidents}):
            counts = {status: n for (sev, status), n in figures.incidents.items() if sev == severity}
            reported.add_metric([severity], sum(counts.values()))
            waiting.add_metric([severity], sum(n for status, n in counts.items() if status != "acknowledged"))
        yield reported
        yield waiting


def figures_registry(read: Callable[[], Figures]) -> CollectorRegistry:
    """A registry holding only the database figures (kept apart from the processes' counts)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(FiguresCollector(read))
    return registry


def content_type() -> str:
    """The Content-Type of `exposition`'s text."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return CONTENT_TYPE_LATEST
