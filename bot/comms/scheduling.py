"""Deployment communications wired from Settings: the stores, Slack, the services the CLI and Slack listeners use
(built by bot/runtime.py), and `run_scheduler(runtime)` for `rollout scheduler` and `rollout serve`."""
from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.comms.ack_store import AckStore
from bot.comms.acknowledgements import AckService
from bot.comms.announcement_store import AnnouncementStore, AudienceMembers, PilotCohort
from bot.comms.announcements import AnnouncementService
from bot.comms.delivery import SlackDelivery
from bot.comms.errors import CommsError
from bot.comms.job_context import JobContext
from bot.comms.memberships import Memberships, UserGroupCache
from bot.feedback.report_delivery import weekly_report
from bot.metrics import ScheduledRunCounts
from bot.settings import Settings
from bot.slack.pacing import SendPacer
from bot.store.models import utc_now
from bot.store.runs import Leases, RunLog
from jobs.scheduler import Scheduler

log = logging.getLogger(__name__)


@dataclass
class Comms:
    """The communication services of one process, sharing one engine and one Slack connection."""

    settings: Settings
    engine: Engine
    runs: RunLog
    pilot: PilotCohort
    slack: SlackDelivery | None
    announcements: AnnouncementService
    acknowledgements: AckService
    clock: Callable[[], datetime]
    memberships: Memberships

    @property
    def admin_ids(self) -> frozenset[str]:
        return self.settings.admin_ids

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def open_comms(settings: Settings, clock: Callable[[], datetime] = utc_now) -> Comms:
    """The services of a runtime of their own (the database migrated; Slack only if SLACK_BOT_TOKEN is set)."""
    from bot.runtime import build_runtime

    return build_runtime(settings, clock=clock).comms


def build_comms(settings: Settings, engine: Engine, sessions: sessionmaker[Session],
                clock: Callable[[], datetime] = utc_now) -> Comms:
    """The services over the process's engine (Slack only if SLACK_BOT_TOKEN is set)."""
    runs, pilot = RunLog(sessions), PilotCohort(sessions)
    slack = slack_delivery(settings)
    tz = settings.rollout_timezone
    memberships = Memberships(AudienceMembers(sessions), pilot,
                              UserGroupCache(slack.usergroup_members) if slack is not None else None)
    return Comms(settings, engine, runs, pilot, slack,
                 AnnouncementService(AnnouncementStore(sessions), runs, slack, clock, tz),
                 AckService(AckStore(sessions), runs, slack, pilot, clock, tz, memberships.people), clock, memberships)


def slack_delivery(settings: Settings) -> SlackDelivery | None:
    """Slack with the fan-out's pacing, or None without a bot token."""
    if not settings.slack_bot_token:
        return None
    return SlackDelivery(settings.slack_bot_token, settings.slack_api_url, SendPacer(settings.rollout_send_rate))


class SchedulerHandle:
    """A running scheduler; `.shutdown()` stops it, gives its lease up and runs `on_shutdown` (closing a runtime
    of its own)."""

    def __init__(self, scheduler: Scheduler, pool: ThreadPoolExecutor, on_shutdown: Callable[[], None]):
        self.scheduler, self._pool, self._on_shutdown = scheduler, pool, on_shutdown

    @property
    def holder(self) -> str:
        return self.scheduler.ctx.holder

    def shutdown(self) -> None:
        """Stop claiming runs and firing triggers; an unfinished fan-out resumes in the next scheduler."""
        self.scheduler.shutdown()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._on_shutdown()


def start_scheduler(settings: Settings, clock: Callable[[], datetime] = utc_now) -> SchedulerHandle:
    """Run scheduled jobs over a runtime of their own until `.shutdown()`, which closes it."""
    from bot.runtime import build_runtime

    runtime = build_runtime(settings, clock=clock)
    return run_scheduler(runtime, on_shutdown=runtime.close)


def run_scheduler(runtime, on_shutdown: Callable[[], None] = lambda: None) -> SchedulerHandle:
    """Run every feature's scheduled jobs (bot/features.py) over the runtime until `.shutdown()` (`rollout scheduler`
    and `rollout serve`)."""
    from bot import features

    settings, comms, clock, sessions = runtime.settings, runtime.comms, runtime.clock, runtime.sessions
    if comms.slack is None:
        raise CommsError("the scheduler sends Slack messages: set SLACK_BOT_TOKEN (and SLACK_API_URL for a test "
                         "server)")
    pool = ThreadPoolExecutor(settings.rollout_send_workers, thread_name_prefix="rollout-send")
    ctx = JobContext(
        runs=comms.runs, announcements=AnnouncementStore(sessions), acks=AckStore(sessions), pilot=comms.pilot,
        directory=comms.slack, sender=comms.slack, pool=pool, holder=holder_name(),
        lease=timedelta(seconds=settings.rollout_scheduler_lease_seconds),
        grace=timedelta(seconds=settings.rollout_misfire_grace_seconds), clock=clock,
        report=reporter(comms.slack, settings.rollout_report_channel), feedback=runtime.feedback,
        weekly=weekly_report(settings, sessions, comms.slack), events=runtime.store,
        audience_people=comms.memberships.people)
    if not settings.rollout_report_channel:
        log.info("weekly report: ROLLOUT_REPORT_CHANNEL is not set, so each weekly run is skipped")
    scheduler = Scheduler(comms.engine, ctx, Leases(sessions), features.job_kinds(), features.schedules,
                          poll=settings.rollout_scheduler_poll_seconds, metrics=ScheduledRunCounts())
    log.info("scheduler %s starting on %s", ctx.holder, comms.engine.url.render_as_string(hide_password=True))
    return SchedulerHandle(scheduler.start(), pool, on_shutdown)


def holder_name() -> str:
    """This process, as a lease holder: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def reporter(slack: SlackDelivery, channel: str | None) -> Callable[[str], None]:
    """Tell the admins: a warning in the log, and a message in ROLLOUT_REPORT_CHANNEL when it is set."""

    def report(text: str) -> None:
        log.warning("%s", text)
        if channel:
            try:
                slack.post(channel, f":warning: {text}", [{"type": "section", "text": {"type": "mrkdwn",
                                                                                    "text": f":warning: {text}"}}])
            except Exception:
                log.exception("could not post the report to %s", channel)

    return report
