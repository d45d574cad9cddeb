"""The tables behind deployment communications: announcements, the pilot cohort, scheduled runs and their
deliveries, the scheduler lease, acknowledgement campaigns, and APScheduler's own job table."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utc_now

ANNOUNCEMENT_STATUSES = ("draft", "scheduled", "finished", "cancelled")
RUN_STATUSES = ("due", "running", "done", "missed", "failed")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "skipped")

# APScheduler's SQLAlchemyJobStore table, declared here exactly as APScheduler 3.11 creates it, so the migration
# owns it and `alembic` comparisons see it as ours. Only the scheduler writes to it.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class Announcement(Base):
    """A message to send once (`at`) or on a cron schedule, to one or more targets."""

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_plan_status", "plan", "status"),)

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    targets: Mapped[list[str]] = mapped_column(JSON)
    at: Mapped[datetime | None]
    cron: Mapped[str | None] = mapped_column(String(120))
    tz: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime | None]  # a cron schedule's window (plan messages), both optional
    ends_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    source: Mapped[str] = mapped_column(String(16), default="cli")  # cli | slack | plan
    plan: Mapped[str | None] = mapped_column(String(120))
    label: Mapped[str | None] = mapped_column(String(300))  # e.g. the plan's phase and message
    revision: Mapped[int] = mapped_column(default=1)  # every edit
    schedule_revision: Mapped[int] = mapped_column(default=1)  # edits the scheduler must act on
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)


class PilotMember(Base):
    """Someone in the pilot cohort: the `pilot` audience."""

    __tablename__ = "pilot_members"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_by: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utc_now)


class AudienceMember(Base):
    """A person (user id) or a Slack user group (`@handle`, its members at the time of asking) in a named document
    audience (`rollout audiences add`); the pilot cohort and a user group named like the audience count too."""

    __tablename__ = "audience_members"

    audience: Mapped[str] = mapped_column(String(80), primary_key=True)
    member: Mapped[str] = mapped_column(String(191), primary_key=True)  # U… or @handle
    added_by: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utc_now)


class SchedulerLease(Base):
    """Who may run the scheduler's triggers right now: one holder, until `expires_at` unless renewed."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class ScheduledRun(Base):
    """One firing of a job at one run time: claimed by one process at a time, under a lease."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (
        UniqueConstraint("job_id", "run_time"),
        Index("ix_scheduled_runs_status_lease_expires_at", "status", "lease_expires_at"),
        Index("ix_scheduled_runs_kind_ref", "kind", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(191))
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(191))
    run_time: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the message, frozen when the run starts
    resolved: Mapped[bool] = mapped_column(default=False)  # recipients are recorded as deliveries
    detail: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Delivery(Base):
    """One recipient of one run: the delivery key (job, run time, recipient) and its outcome."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("run_id", "recipient"), Index("ix_deliveries_run_id_status", "run_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scheduled_runs.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(64))  # a channel id, or a user id for a DM
    via: Mapped[str] = mapped_column(String(191))  # the target that reached them, e.g. a user group handle
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str | None] = mapped_column(String(64))  # where Slack put it (the DM's id for users)
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]


class AckCampaign(Base):
    """An acknowledgement campaign: people are asked to read and accept one version of a policy by a deadline."""

    __tablename__ = "ack_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_path: Mapped[str] = mapped_column(String(500))
    policy_title: Mapped[str] = mapped_column(String(300))
    policy_url: Mapped[str | None] = mapped_column(String(1000))
    policy_version: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    targets: Mapped[list[str]] = mapped_column(JSON)
    deadline: Mapped[datetime]
    remind_cron: Mapped[str | None] = mapped_column(String(120))
    tz: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class AckMember(Base):
    """A person a campaign asks, and the team (the target) through which they were included."""

    __tablename__ = "ack_members"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("ack_campaigns.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team: Mapped[str] = mapped_column(String(191))


class Acknowledgement(Base):
    """A person's acceptance of a campaign's policy: when, and which version they accepted."""

    __tablename__ = "acknowledgements"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("ack_campaigns.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_version: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(default=utc_now)
