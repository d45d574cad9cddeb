"""Rollout plans: a YAML file of phases and their messages, turned into announcements. Applying a plan makes the
scheduled announcements match it — adds, updates and removes, never duplicates — because each message's
announcement id is derived from the plan, phase and message ids."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import yaml

from bot.comms.announcement_store import AnnouncementStore
from bot.comms.audiences import Directory, check_targets, parse_targets
from bot.comms.errors import CommsError, PlanError, TargetsUnchecked
from bot.comms.plan_schema import LineDict, MessageSpec, PhaseSpec, PlanSpec, line_of, load_plan, where
from bot.comms.schedules import check_schedule, describe, zone
from bot.comms.tables import Announcement
from bot.store.models import utc_now

COMPARED = ("text", "targets", "at", "cron", "tz", "starts_at", "ends_at", "label")
LIVE = ("draft", "scheduled")
EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "knowledge" / "rollout-plan.example.yml"
LEAD_DAYS = 15  # `plan init` starts phase 0 at least this far ahead: its 'upcoming' message (day -14) is still to come
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")  # 2026-12-01, also in 2026-12-14T09:00


@dataclass(frozen=True)
class Planned:
    """The announcement one plan message should be."""

    id: str
    label: str
    text: str
    targets: list[str]
    at: datetime | None
    cron: str | None
    tz: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass
class PlanDiff:
    """What applying a plan would change."""

    plan: str
    add: list[Planned] = field(default_factory=list)
    update: list[tuple[Planned, list[str]]] = field(default_factory=list)  # with the fields that change
    remove: list[Announcement] = field(default_factory=list)
    unchanged: list[Planned] = field(default_factory=list)
    past: list[Planned] = field(default_factory=list)  # one-off times already gone, never sent: left out
    before: dict[str, Announcement] = field(default_factory=dict)  # what is scheduled now, by id
    unchecked: str | None = None  # "unchecked (why): targets" Slack could not check (offline), or None

    @property
    def changes(self) -> int:
        return len(self.add) + len(self.update) + len(self.remove)

    def lines(self) -> list[str]:
        """The diff, one line per announcement: + add, ~ update (each change old → new), - remove, ! past."""
        out = [f"+ {p.id}  {describe(p.at, p.cron, p.tz)}  → {' '.join(p.targets)}" for p in self.add]
        out += [f"~ {p.id}  {'; '.join(_change(f, self.before[p.id], p) for f in fields)}"
                for p, fields in self.update]
        out += [f"- {a.id}  (no longer in the plan: cancelled)" for a in self.remove]
        out += [f"! {p.id}  {describe(p.at, None, p.tz)} has passed: not scheduled" for p in self.past]
        if self.unchecked:
            out.append(f"? targets {self.unchecked}")
        summary = f"{len(self.add)} to add, {len(self.update)} to update, {len(self.remove)} to remove, " \
                  f"{len(self.unchanged)} unchanged"
        return out + [summary]

    def status(self, planned_id: str) -> str:
        """Where one message of the plan file stands against what is scheduled (`rollout plan show PATH`)."""
        if any(p.id == planned_id for p in self.add):
            return "not applied"
        if fields := next((f for p, f in self.update if p.id == planned_id), None):
            return f"changed: {', '.join(fields)}"
        if any(p.id == planned_id for p in self.past):
            return "passed, not scheduled"
        current = self.before.get(planned_id)
        return current.status if current is not None else "not applied"


def _change(name: str, old: Announcement, new: Planned) -> str:
    """One changed field, old → new (a text is long: only said to change)."""
    if name == "text":
        return "text changed"
    return f"{name} {_shown(getattr(old, name), old.tz)} → {_shown(getattr(new, name), new.tz)}"


def _shown(value, tz: str) -> str:
    if isinstance(value, datetime):
        return f"{value.astimezone(zone(tz)):%Y-%m-%d %H:%M %Z}"
    if isinstance(value, list):
        return " ".join(value)
    return "-" if value is None else str(value)


@dataclass(frozen=True)
class MovedPlan:
    """A plan's text with every date moved by the same number of days (`rollout plan init`)."""

    text: str
    start: date  # the first phase's start, moved
    days: int  # how far every date moved


def first_start(original: date, today: date) -> date:
    """The first day at least LEAD_DAYS after `today` on `original`'s weekday: moving a plan there moves it by whole
    weeks, so weekdays and "first Monday" schedules stay true and a message 14 days before the start is to come."""
    earliest = today + timedelta(days=LEAD_DAYS)
    return earliest + timedelta(days=(original.weekday() - earliest.weekday()) % 7)


def move_plan(text: str, today: date, start: date | None = None) -> MovedPlan:
    """`text` (a plan file) with every ISO date in it — start, end, at, from, until and those in message texts —
    moved so that the earliest phase starts on `start` (default: `first_start(...)`). Comments and layout are kept."""
    try:
        spec = yaml.safe_load(text)
        original = min(phase["start"] for phase in spec["phases"])
    except (yaml.YAMLError, TypeError, KeyError, ValueError):
        raise CommsError("the plan has no phases with a 'start' date to move") from None
    if not isinstance(original, date):
        raise CommsError("the plan has no phases with a 'start' date to move")
    start = start or first_start(original, today)
    shift = start - original

    def moved(match: re.Match) -> str:
        try:
            return (date.fromisoformat(match.group(0)) + shift).isoformat()
        except ValueError:  # 2026-13-45 is no date: left as it is
            return match.group(0)

    return MovedPlan(_ISO_DATE.sub(moved, text), start, shift.days)


def today_in(text: str, default_tz: str, now: datetime | None = None) -> date:
    """Today's date in the plan's `timezone` (else `default_tz`)."""
    try:
        plan_zone = zone(str((yaml.safe_load(text) or {}).get("timezone") or default_tz))
    except (yaml.YAMLError, AttributeError, CommsError):
        plan_zone = UTC
    return (now or utc_now()).astimezone(plan_zone).date()


def parse_day(value: str, option: str = "--start") -> date:
    """A YYYY-MM-DD date given on the command line, or a CommsError saying what to write."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            return date.fromisoformat(value.strip())
    except ValueError:
        pass
    raise CommsError(f"{option}: '{value}' is not a date: write YYYY-MM-DD, e.g. 2027-01-05")


class PlanService:
    """Read, check, compare and apply rollout plans."""

    def __init__(self, store: AnnouncementStore, directory: Directory | None, clock: Callable[[], datetime],
                 default_tz: str = "UTC", templates: Callable[[str], object] | None = None):
        self.store, self.directory, self.clock, self.default_tz = store, directory, clock, default_tz
        self.templates = templates or _load_template

    def read(self, path: Path, offline: bool = False) -> tuple[str, list[Planned], str | None]:
        """The plan's name, the announcements it asks for and, when `offline` allows targets Slack could not check,
        why they were not; PlanError with every problem and its line."""
        spec, raw = load_plan(path)
        problems: list[str] = []
        tz = spec.timezone or self.default_tz
        try:
            zone(tz)
        except CommsError as exc:
            problems.append(_problem(path, raw, ("timezone",), str(exc)))
            tz = "UTC"  # to find the other problems too
        planned = []
        for p, phase in enumerate(spec.phases):
            for m, message in enumerate(phase.messages):
                loc = ("phases", p, "messages", m)
                try:
                    planned.append(self._planned(spec, phase, message, tz))
                except (CommsError, ValueError) as exc:
                    problems.append(_problem(path, raw, loc + (_field_of(exc),), str(exc)))
        problems += _duplicates(spec, raw, path)
        unchecked = None
        targets = sorted({t for p in planned for t in p.targets})
        if targets and not problems:
            try:
                unchecked = check_targets(parse_targets(targets), self.directory, offline)
            except CommsError as exc:
                hint = " (`rollout plan diff` and `plan apply --dry-run` work without Slack)" \
                    if isinstance(exc, TargetsUnchecked) else ""
                problems.append(f"{path}: {exc}{hint}")
        if problems:
            raise PlanError(problems)
        return spec.plan, planned, unchecked

    def diff(self, path: Path) -> PlanDiff:
        """What `apply` would change. Works without Slack: targets it could not check are marked unchecked."""
        plan, planned, unchecked = self.read(path, offline=True)
        diff = self._diff(plan, planned)
        diff.unchecked = unchecked
        return diff

    def apply(self, path: Path) -> PlanDiff:
        """Make the plan's announcements match the file; applying twice changes nothing the second time."""
        plan, planned, _ = self.read(path)
        diff, now = self._diff(plan, planned), self.clock()
        for p in diff.add:
            if self.store.get(p.id) is None:
                self.store.add(Announcement(id=p.id, plan=plan, source="plan", status="scheduled", created_at=now,
                                            updated_at=now, revision=1, schedule_revision=1, **_fields(p)))
            else:  # removed from the plan earlier, back now
                self.store.change(p.id, now, status="scheduled", **_fields(p))
        for p, changed in diff.update:
            self.store.change(p.id, now, when_status=LIVE, **{k: v for k, v in _fields(p).items() if k in changed})
        for announcement in diff.remove:
            self.store.change(announcement.id, now, when_status=LIVE, status="cancelled")
        return diff

    def timeline(self) -> list[Announcement]:
        """Every plan announcement still to come or already sent, in time order."""
        rows = [a for a in self.store.list(["scheduled", "finished"]) if a.plan]
        return sorted(rows, key=lambda a: (a.plan, a.at or a.starts_at or datetime.min.replace(tzinfo=UTC), a.id))

    def _diff(self, plan: str, planned: list[Planned]) -> PlanDiff:
        existing = {a.id: a for a in self.store.list(plan=plan)}
        diff, now = PlanDiff(plan, before=existing), self.clock()
        for p in planned:
            current = existing.get(p.id)
            if current is not None and current.status == "finished":
                diff.unchanged.append(p)  # already sent: history is not rewritten
            elif p.at is not None and p.at <= now and (current is None or current.status == "cancelled"):
                diff.past.append(p)
            elif current is None or current.status == "cancelled":
                diff.add.append(p)
            elif changed := [k for k in COMPARED if getattr(current, k) != _fields(p)[k]]:
                diff.update.append((p, changed))
            else:
                diff.unchanged.append(p)
        wanted = {p.id for p in planned}
        diff.remove = [a for a in existing.values() if a.id not in wanted and a.status in LIVE]
        return diff

    def _planned(self, spec: PlanSpec, phase: PhaseSpec, message: MessageSpec, tz: str) -> Planned:
        targets = [spec.channels.get(t[1:], t) if t.startswith("#") else t for t in message.to or phase.audience]
        unknown = [t for t in targets if t.startswith("#")]
        if unknown:
            raise CommsError(f"to: {', '.join(unknown)} not in the plan's 'channels' (name: channel id)")
        if not targets:
            raise CommsError("to: no audience: give 'to' here or 'audience' on the phase")
        at = _local(message.at, tz) if message.at else None
        if message.day is not None:
            hour, minute = map(int, (message.time or "0:0").split(":"))
            at = _local(datetime.combine(phase.start + timedelta(days=message.day), time(hour, minute)), tz)
        starts = _local(datetime.combine(message.starting or phase.start, time()), tz) if message.cron else None
        ends = _local(datetime.combine(message.until + timedelta(days=1), time()), tz) if message.until else None
        if message.cron:
            try:
                check_schedule(None, message.cron, tz, max(starts, self.clock()), ends)
            except CommsError as exc:
                raise CommsError(f"cron: {exc}") from None
        return Planned(f"plan-{spec.plan}-{phase.id}-{message.id}", f"{phase.name} · {message.id}",
                       self._text(phase, message), targets, at, message.cron, tz, starts, ends)

    def _text(self, phase: PhaseSpec, message: MessageSpec) -> str:
        if message.text is not None:
            return message.text.strip()
        template = self.templates(message.template or "")
        known = {"phase": phase.name, "start": _day(phase.start), "end": _day(phase.end) if phase.end else "",
                 **message.values}
        missing = sorted(template.placeholders - known.keys())
        if missing:
            raise CommsError(f"template: '{message.template}' needs {', '.join(missing)}: add them under 'with'")
        return template.render(**{k: v for k, v in known.items() if k in template.placeholders}).strip()


def _duplicates(spec: PlanSpec, raw: LineDict, path: Path) -> list[str]:
    """Phase ids, and message ids within a phase, used twice."""
    problems = []
    seen: set[str] = set()
    for p, phase in enumerate(spec.phases):
        if phase.id in seen:
            problems.append(_problem(path, raw, ("phases", p, "id"), f"phase id '{phase.id}' is used twice"))
        seen.add(phase.id)
        ids = [m.id for m in phase.messages]
        problems += [_problem(path, raw, ("phases", p, "messages", m, "id"), f"message id '{i}' is used twice")
                     for m, i in enumerate(ids) if i in ids[:m]]
    return problems


def _problem(path: Path, raw: LineDict, loc: tuple, message: str) -> str:
    loc = tuple(part for part in loc if part is not None)
    return f"{path}:{line_of(raw, loc)}: {where(loc)}: {message}"


def _field_of(exc: Exception) -> str | None:
    """The field a message's problem is about, when its text starts with "field: "."""
    head, sep, _ = str(exc).partition(":")
    return head if sep and head in ("to", "template", "cron") else None


def _fields(p: Planned) -> dict:
    return dict(label=p.label, text=p.text, targets=p.targets, at=p.at, cron=p.cron, tz=p.tz, starts_at=p.starts_at,
                ends_at=p.ends_at)


def _local(moment: datetime, tz: str) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))).astimezone(UTC)


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _load_template(name: str):
    from prompts import PromptError, load_prompt

    try:
        return load_prompt(name)
    except PromptError as exc:
        raise CommsError(f"template: {exc}") from exc
