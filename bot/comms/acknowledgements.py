"""Acknowledgement campaigns: ask people to read and accept one version of a policy, remind those who have not,
and report who has. Slack-free; the policy summary comes from the knowledge engine, with its citations."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from bot.comms.ack_store import AckStore
from bot.comms.announcement_store import PilotCohort
from bot.comms.audiences import Directory, check_targets, parse_targets, resolve
from bot.comms.errors import BadSchedule, CommsError
from bot.comms.schedules import cron_trigger, next_runs, zone
from bot.comms.tables import AckCampaign, Acknowledgement
from bot.errors import NotFound
from bot.store.runs import RunLog
from jobs.runs import DueRun

VERSION_CHARS = 12


@dataclass(frozen=True)
class PolicySummary:
    """What a campaign sends about a policy: title, link, version (content hash), cited summary."""

    path: str
    title: str
    url: str | None
    version: str
    summary: str
    sources: list[dict]


@dataclass(frozen=True)
class MemberStatus:
    """One person in a campaign and whether (when, which version) they accepted."""

    team: str
    user_id: str
    acceptance: Acknowledgement | None


@dataclass(frozen=True)
class CampaignStatus:
    """Who has accepted a campaign's policy and who has not."""

    campaign: AckCampaign
    members: list[MemberStatus]

    @property
    def accepted(self) -> int:
        return sum(1 for m in self.members if m.acceptance is not None)


def summarise_policy(kb, path: Path) -> PolicySummary:
    """Summarise an indexed policy with the knowledge engine; its version is the indexed content hash."""
    from knowledge.ingest import file_hash

    path = Path(path)
    if not path.is_file():
        raise CommsError(f"no policy file at {path}")
    chunks = [meta for _, meta in kb.index.all_metadata() if _same_file(meta, path)]
    if not chunks:
        raise CommsError(f"{path} is not indexed yet: run `rollout ingest {path}` first")
    meta = chunks[0]
    if file_hash(path.read_bytes(), kb.max_chars) != meta.get("file_hash"):
        raise CommsError(f"{path} changed since it was indexed: run `rollout ingest {path}` so people accept "
                         f"the version they are shown")
    answer = kb.ask(f"What are the key rules of the {meta.get('title')}?")
    sources = [{"number": s.number, "label": s.label, "path": s.path, "url": s.url} for s in answer.sources
               if s.number in answer.cited or not answer.cited]
    return PolicySummary(str(meta.get("path")), str(meta.get("title")), meta.get("url"),
                         str(meta["file_hash"])[:VERSION_CHARS], answer.text, sources)


class AckService:
    """Start campaigns, record acceptances, report status."""

    def __init__(self, store: AckStore, runs: RunLog, directory: Directory | None, pilot: PilotCohort,
                 clock: Callable[[], datetime], default_tz: str = "UTC",
                 audience_people: Callable[[str], list[str]] | None = None):
        self.store, self.runs, self.directory, self.pilot, self.clock = store, runs, directory, pilot, clock
        self.default_tz = default_tz
        self.audience_people = audience_people  # `audience:NAME` targets (bot/comms/memberships.py)

    def check_start(self, targets: Sequence[str], deadline: str, remind: str | None = None,
                    tz: str | None = None) -> tuple[datetime, list[tuple[str, str]]]:
        """The deadline and the members (user id, team) a campaign would have; CommsError on bad input."""
        tz, now = tz or self.default_tz, self.clock()
        due = parse_deadline(deadline, tz, now)
        if remind and not next_runs(cron_trigger(remind, tz, ends_at=due), now, 1):
            raise BadSchedule(f"reminders '{remind}' would never run before the deadline {deadline}")
        parsed = parse_targets(targets)
        check_targets(parsed, self.directory)
        members = resolve(parsed, self.directory, self.pilot.members, people=True,
                          audience_people=self.audience_people)
        if not members:
            raise CommsError(f"{' '.join(targets)} reach nobody: nothing to send")
        return due, members

    def start(self, policy: PolicySummary, targets: Sequence[str], deadline: str, remind: str | None = None,
              tz: str | None = None, created_by: str | None = None) -> tuple[AckCampaign, int]:
        """Check the targets, deadline and reminder schedule, record the members, and queue the requests now."""
        tz, now = tz or self.default_tz, self.clock()
        due, members = self.check_start(targets, deadline, remind, tz)
        campaign = self.store.create(AckCampaign(
            policy_path=policy.path, policy_title=policy.title, policy_url=policy.url, policy_version=policy.version,
            summary=policy.summary, sources=policy.sources, targets=[str(t) for t in parse_targets(targets)],
            deadline=due, remind_cron=remind, tz=tz, status="active", created_by=created_by, created_at=now), members)
        self.runs.record(f"ack-request:{campaign.id}", "ack-request", str(campaign.id), [DueRun(now, "due")], now)
        return campaign, len(members)

    def accept(self, campaign_id: int, user_id: str) -> tuple[AckCampaign, Acknowledgement]:
        """Record that `user_id` accepted; the first acceptance is kept (its time and version)."""
        campaign = self.get(campaign_id)
        if user_id not in {m.user_id for m in self.store.members(campaign_id)}:
            raise CommsError("you are not on this campaign's list; ask the AI Enablement team if you should be")
        self.store.accept(campaign_id, user_id, campaign.policy_version, self.clock())
        return campaign, self.store.acceptances(campaign_id)[user_id]

    def get(self, campaign_id: int) -> AckCampaign:
        """One campaign; NotFound if there is none."""
        campaign = self.store.get(campaign_id)
        if campaign is None:
            raise NotFound(f"no acknowledgement campaign {campaign_id}: see `rollout ack status`")
        return campaign

    def status(self, campaign_id: int | None = None) -> list[CampaignStatus]:
        """Each campaign's members by team, with their acceptances."""
        campaigns = [self.get(campaign_id)] if campaign_id is not None else self.store.list()
        result = []
        for campaign in campaigns:
            accepted = self.store.acceptances(campaign.id)
            members = [MemberStatus(m.team, m.user_id, accepted.get(m.user_id)) for m in self.store.members(campaign.id)]
            result.append(CampaignStatus(campaign, members))
        return result


def parse_deadline(text: str, tz: str, now: datetime) -> datetime:
    """A date (the end of that day in `tz`) or an ISO time, in UTC; BadSchedule if malformed or past."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadSchedule(f"'{text}' is not a date: write e.g. 2027-01-29 or 2027-01-29T17:00") from None
    if len(text.strip()) == 10:  # a date: people have until the end of that day
        moment = datetime.combine(moment.date(), time(23, 59, 59))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    if moment <= now:
        raise BadSchedule(f"the deadline {text} has passed: choose a later date")
    return moment.astimezone(now.tzinfo)


def status_csv(statuses: Sequence[CampaignStatus]) -> str:
    """One row per campaign member: who has accepted which version when, and who has not."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["campaign", "policy", "policy_version", "deadline", "team", "user_id", "status", "accepted_at",
                     "accepted_version"])
    for status in statuses:
        c = status.campaign
        for m in status.members:
            a = m.acceptance
            writer.writerow([c.id, c.policy_title, c.policy_version, c.deadline.isoformat(), m.team, m.user_id,
                             "accepted" if a else "pending", a.accepted_at.isoformat() if a else "",
                             a.policy_version if a else ""])
    return out.getvalue()


def _same_file(meta: dict, path: Path) -> bool:
    origin = meta.get("origin")
    return bool(origin) and Path(origin).resolve() == path.resolve()
