"""Announcements: schedule, edit, cancel, list, preview and the delivery history. Slack-free: Slack is reached only
through the audience `Directory` (to check targets) and, later, by the scheduler's jobs."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.comms.announcement_store import AnnouncementStore
from bot.comms.audiences import Directory, check_targets, parse_targets
from bot.comms.blocks import announcement_message
from bot.comms.errors import BadSchedule, CommsError
from bot.comms.schedules import check_schedule, describe, next_runs, parse_at, trigger_for, zone
from bot.comms.tables import Announcement, Delivery, ScheduledRun
from bot.errors import NotFound
from bot.store.runs import RunLog

MAX_TEXT_CHARS = 12_000
EDITABLE = ("draft", "scheduled")


@dataclass(frozen=True)
class Listed:
    """An announcement with what the scheduler will do next and what it did last."""

    announcement: Announcement
    schedule: str
    next_run: datetime | None
    last_run: ScheduledRun | None

    def to_json(self) -> dict:
        a = self.announcement
        return {"id": a.id, "status": a.status, "schedule": self.schedule, "tz": a.tz, "targets": a.targets,
                "next_run": self.next_run.isoformat() if self.next_run else None, "text": a.text,
                "source": a.source, "plan": a.plan, "label": a.label,
                "last_run": {"run_time": self.last_run.run_time.isoformat(), "status": self.last_run.status,
                             "detail": self.last_run.detail} if self.last_run else None}


@dataclass(frozen=True)
class Checked:
    """An announcement checked and ready to store (`rollout announce schedule --dry-run` shows it instead)."""

    announcement: Announcement
    unchecked: str | None = None  # "unchecked (why): targets" Slack could not check (offline), or None


@dataclass(frozen=True)
class RunHistory:
    """One run of an announcement and its deliveries."""

    run: ScheduledRun
    deliveries: list[Delivery] = field(default_factory=list)


class AnnouncementService:
    """The announcement workflows the CLI and the Slack modal share."""

    def __init__(self, store: AnnouncementStore, runs: RunLog, directory: Directory | None,
                 clock: Callable[[], datetime], default_tz: str = "UTC"):
        self.store, self.runs, self.directory, self.clock = store, runs, directory, clock
        self.default_tz = default_tz

    def schedule(self, *, text: str, targets: Sequence[str], at: str | None = None, cron: str | None = None,
                 tz: str | None = None, created_by: str | None = None, source: str = "cli",
                 draft: bool = False, announcement_id: str | None = None) -> Announcement:
        """Check everything (text, time, time zone, cron, targets against Slack), then store it (as
        `announcement_id`, one `check` gave earlier, if given)."""
        checked = self.check(text=text, targets=targets, at=at, cron=cron, tz=tz, created_by=created_by,
                             source=source, draft=draft, announcement_id=announcement_id)
        return self.store.add(checked.announcement)

    def check(self, *, text: str, targets: Sequence[str], at: str | None = None, cron: str | None = None,
              tz: str | None = None, created_by: str | None = None, source: str = "cli", draft: bool = False,
              offline: bool = False, announcement_id: str | None = None) -> Checked:
        """The announcement `schedule` would store, checked, not stored. `offline`: targets Slack could not check
        (no SLACK_BOT_TOKEN, Slack unreachable) are reported as unchecked instead of refused."""
        tz = tz or self.default_tz
        zone(tz)
        now = self.clock()
        when = parse_at(at, tz, now) if at else None
        check_schedule(when, cron, tz, now)
        text = _checked_text(text)
        parsed = parse_targets(targets)
        unchecked = check_targets(parsed, self.directory, offline)
        announcement = Announcement(
            id=announcement_id or f"ann-{secrets.token_hex(4)}", text=text, targets=[str(t) for t in parsed], at=when,
            cron=cron, tz=tz, status="draft" if draft else "scheduled", source=source, created_by=created_by,
            created_at=now, updated_at=now, revision=1, schedule_revision=1)
        return Checked(announcement, unchecked)

    def edit(self, announcement_id: str, *, text: str | None = None, targets: Sequence[str] | None = None,
             at: str | None = None, cron: str | None = None, tz: str | None = None) -> Announcement:
        """Change what is given; the result is checked as a whole before anything is stored."""
        current = self.get(announcement_id)
        if current.status not in EDITABLE:
            raise CommsError(f"{announcement_id} is {current.status}; schedule a new announcement instead")
        now, tz = self.clock(), tz or current.tz
        changes: dict = {"tz": tz} if tz != current.tz else {}
        if at is not None or cron is not None:
            changes.update(at=parse_at(at, tz, now) if at else None, cron=cron)
        elif tz != current.tz and current.at is not None:
            raise BadSchedule("changing the time zone of a one-off announcement needs its time again: give --at")
        check_schedule(changes.get("at", current.at), changes.get("cron", current.cron), tz, now)
        if text is not None:
            changes["text"] = _checked_text(text)
        if targets is not None:
            changes["targets"] = self.checked_targets(targets)
        if not changes:
            raise CommsError("nothing to change: give --text/--file, --at/--cron, --tz or --to")
        return self._changed(announcement_id, now, EDITABLE, **changes)

    def cancel(self, announcement_id: str) -> Announcement:
        """Stop it: no run starts after this (a run already sending finishes its recipients)."""
        self.get(announcement_id)
        return self._changed(announcement_id, self.clock(), EDITABLE, status="cancelled")

    def confirm(self, announcement_id: str) -> Announcement:
        """Schedule a draft (after the admin saw its preview), if its time has not passed meanwhile."""
        draft = self.get(announcement_id)
        if draft.at is not None and draft.at <= self.clock():
            raise BadSchedule(f"{describe(draft.at, None, draft.tz)} has passed; schedule it again with a later time")
        return self._changed(announcement_id, self.clock(), ("draft",), status="scheduled")

    def get(self, announcement_id: str) -> Announcement:
        """One announcement; NotFound naming the command that lists them."""
        announcement = self.store.get(announcement_id)
        if announcement is None:
            raise NotFound(f"no announcement {announcement_id}: see `rollout announce list`")
        return announcement

    def list(self, include_past: bool = False) -> list[Listed]:
        """Announcements (scheduled and drafts; with `include_past` also finished and cancelled), next run first."""
        statuses = None if include_past else EDITABLE
        listed = [self.listed(a) for a in self.store.list(statuses)]
        far = datetime.max.replace(tzinfo=self.clock().tzinfo)
        return sorted(listed, key=lambda item: (item.next_run or far, item.announcement.id))

    def listed(self, announcement: Announcement) -> Listed:
        """An announcement with its schedule in words, next run and last run."""
        runs = self.runs.runs("announcement", announcement.id, limit=1)
        upcoming = self.next_run_times(announcement, 1)
        return Listed(announcement, describe(announcement.at, announcement.cron, announcement.tz),
                      upcoming[0] if upcoming else None, runs[0] if runs else None)

    def next_run_times(self, announcement: Announcement, count: int = 5) -> list[datetime]:
        """When it will run next (none once finished or cancelled)."""
        if announcement.status not in EDITABLE:
            return []
        trigger = trigger_for(announcement.at, announcement.cron, announcement.tz, announcement.starts_at,
                              announcement.ends_at)
        return next_runs(trigger, self.clock(), count)

    def preview(self, announcement_id: str) -> dict:
        """The message as Slack will get it (text and Block Kit)."""
        return announcement_message(self.get(announcement_id).text)

    def history(self, announcement_id: str | None = None) -> list[RunHistory]:
        """Runs (newest first) with every recipient's outcome; all announcements when no id is given."""
        if announcement_id is not None:
            self.get(announcement_id)
        runs = self.runs.runs("announcement", announcement_id)
        deliveries: dict[int, list[Delivery]] = {}
        for delivery in self.runs.deliveries([r.id for r in runs]):
            deliveries.setdefault(delivery.run_id, []).append(delivery)
        return [RunHistory(run, deliveries.get(run.id, [])) for run in runs]

    def checked_targets(self, targets: Sequence[str]) -> list[str]:
        """Targets parsed and checked against Slack; BadTarget naming each unusable one."""
        parsed = parse_targets(targets)
        check_targets(parsed, self.directory)
        return [str(t) for t in parsed]

    def _changed(self, announcement_id: str, now: datetime, when_status, **changes) -> Announcement:
        changed = self.store.change(announcement_id, now, when_status=when_status, **changes)
        if changed is None:
            current = self.get(announcement_id)
            raise CommsError(f"{announcement_id} is {current.status}; it can no longer be changed")
        return changed


def _checked_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise CommsError("the announcement has no text: give --text or --file")
    if len(text) > MAX_TEXT_CHARS:
        raise CommsError(f"the announcement is {len(text):,} characters; keep it under {MAX_TEXT_CHARS:,}")
    return text
