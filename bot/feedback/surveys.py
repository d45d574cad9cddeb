"""Pilot surveys, Slack-free: the survey's questions and their validation, storing responses once, and pulse-survey
schedules (the scheduler DMs the pilot cohort on them: bot/feedback/survey_jobs.py)."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.answering.safety import redact
from bot.comms.errors import BadSchedule, BadTarget
from bot.comms.schedules import cron_trigger, describe
from bot.feedback.store import FeedbackStore, SurveySchedule
from bot.store.models import utc_now

TEAMS = {"engineering": "Engineering", "product": "Product & design", "sales": "Sales & marketing",
         "support": "Customer support", "operations": "Operations & finance", "people": "People & legal",
         "other": "Other"}
SAVED_TIME = {"yes": "Yes", "no": "No", "unsure": "Not sure"}
SCORE_RANGE = range(1, 6)
TEXT_LIMIT = 1000
REMIND_AFTER_DAYS = 3
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


@dataclass(frozen=True)
class SurveyAnswers:
    """What someone entered in the survey modal, as text, before validation."""

    ease: str | None
    usefulness: str | None
    saved_time: str | None
    team: str | None
    problems: str | None = None
    comment: str | None = None


def survey_errors(answers: SurveyAnswers) -> dict[str, str]:
    """Inline errors for the survey modal, keyed by field (block id); empty when the answers are valid."""
    errors = {}
    for name in ("ease", "usefulness"):
        if (problem := _score_problem(getattr(answers, name))) is not None:
            errors[name] = problem
    if answers.saved_time not in SAVED_TIME:
        errors["saved_time"] = "Choose Yes, No or Not sure."
    if answers.team not in TEAMS:
        errors["team"] = "Choose your team or function from the list."
    for name in ("problems", "comment"):
        text = getattr(answers, name) or ""
        if len(text) > TEXT_LIMIT:
            errors[name] = f"Please keep it under {TEXT_LIMIT} characters (it is {len(text)})."
    return errors


def _score_problem(value: str | None) -> str | None:
    if value is None or not value.strip():
        return "Choose a score from 1 to 5."
    if not value.strip().isdigit() or int(value) not in SCORE_RANGE:
        return f"'{value[:20]}' is out of range: choose a score from 1 (poor) to 5 (great)."
    return None


class Surveys:
    """Survey responses and pulse-survey schedules."""

    def __init__(self, feedback: FeedbackStore, clock: Callable[[], datetime] = utc_now, default_tz: str = "UTC"):
        self.feedback, self.clock, self.default_tz = feedback, clock, default_tz

    def submit(self, key: str, user_id: str, answers: SurveyAnswers) -> dict[str, str]:
        """Validate and store a response once per `key` (a retried submission is a no-op); errors by field."""
        if errors := survey_errors(answers):
            return errors
        values = dict(user_id=user_id, ease=int(answers.ease), usefulness=int(answers.usefulness),
                      saved_time=answers.saved_time, team=answers.team, problems=_clean(answers.problems),
                      comment=_clean(answers.comment))
        self.feedback.add_response(key, values, self.clock())
        return {}

    def schedule(self, cron: str, tz: str | None = None, remind_after_days: int = REMIND_AFTER_DAYS,
                 created_by: str | None = None) -> SurveySchedule:
        """A pulse survey on `cron` in `tz`; BadSchedule (a message to show) if either is invalid."""
        tz = tz or self.default_tz
        cron_trigger(cron, tz)  # validates both
        if remind_after_days < 1:
            raise BadSchedule("--remind-after must be at least 1 day")
        return self.feedback.add_schedule(cron.strip(), tz, remind_after_days, created_by, self.clock())

    def cancel(self, schedule_id: int) -> bool:
        """Stop a pulse survey."""
        return self.feedback.cancel_schedule(schedule_id)

    def schedules(self) -> list[SurveySchedule]:
        """The active pulse surveys."""
        return self.feedback.schedules()


def describe_schedule(schedule: SurveySchedule) -> str:
    """"#1: cron '0 10 * * fri' (Europe/London), reminder after 3 days"."""
    return (f"#{schedule.id}: {describe(None, schedule.cron, schedule.tz)}, "
            f"reminder after {schedule.remind_after_days} days")


def _clean(text: str | None) -> str | None:
    return redact(text.strip()) if text and text.strip() else None


def resolve_people(targets: list[str], usergroup_members: Callable[[str], list[str] | None] | None) -> list[str]:
    """Slack user ids, and user group handles (`@pilot-team`) expanded to their members through the Web API."""
    people: list[str] = []
    for target in targets:
        target = target.strip().strip(",")
        if _USER_ID.fullmatch(target):
            people.append(target)
            continue
        if usergroup_members is None:
            raise BadTarget(f"'{target}' is not a Slack user id (U…); to use a user group handle, set SLACK_BOT_TOKEN")
        members = usergroup_members(target.lstrip("@"))
        if members is None:
            raise BadTarget(f"no user group '{target}': give Slack user ids (U…) or a user group handle")
        people += members
    return list(dict.fromkeys(people))
