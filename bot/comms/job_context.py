"""What the features' job kinds are handed: the engine's run context (jobs/dispatch.py) with the stores and
services of the product they need; built once per scheduler process (bot/comms/scheduling.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.comms.ack_store import AckStore
from bot.comms.announcement_store import AnnouncementStore, PilotCohort
from bot.comms.audiences import Directory
from bot.feedback.store import FeedbackStore
from bot.store.repositories import Store
from bot.store.runs import RunLog
from jobs.dispatch import RunContext

if TYPE_CHECKING:
    from bot.feedback.report_job import WeeklyReport


@dataclass(kw_only=True)
class JobContext(RunContext):
    """Everything job functions use; built once per process (bot/comms/scheduling.py) and handed in."""

    runs: RunLog  # the engine's run store, with what the job kinds record and read themselves
    announcements: AnnouncementStore
    acks: AckStore
    pilot: PilotCohort
    directory: Directory
    feedback: FeedbackStore | None = None  # pulse-survey schedules and responses (bot/feedback/survey_jobs.py)
    weekly: WeeklyReport | None = None  # the weekly report's settings and Slack calls (bot/feedback/report_job.py)
    events: Store | None = None  # processed Slack events, pruned daily (bot/answering/processed_events_job.py)
    audience_people: Callable[[str], list[str]] | None = None  # a document audience's people (`audience:NAME`)
