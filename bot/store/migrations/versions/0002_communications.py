"""Deployment communications: announcements, pilot cohort, scheduler lease, runs and deliveries, acknowledgement
campaigns, and APScheduler's job table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the communication tables."""
    create_announcements()
    create_pilot_members()
    create_scheduler_tables()
    create_runs_and_deliveries()
    create_acknowledgement_tables()


def downgrade() -> None:
    """Drop the communication tables."""
    for table in ("acknowledgements", "ack_members", "ack_campaigns", "deliveries", "scheduled_runs",
                  "scheduler_leases", "apscheduler_jobs", "pilot_members", "announcements"):
        op.drop_table(table)


def create_announcements() -> None:
    """Messages to send once or on a cron schedule."""
    op.create_table(
        "announcements",
        sa.Column("id", sa.String(191), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=True),
        sa.Column("cron", sa.String(120), nullable=True),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=True),
        sa.Column("ends_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("plan", sa.String(120), nullable=True),
        sa.Column("label", sa.String(300), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("schedule_revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_announcements"),
    )
    op.create_index("ix_announcements_plan_status", "announcements", ["plan", "status"])
    op.create_index("ix_announcements_updated_at", "announcements", ["updated_at"])


def create_pilot_members() -> None:
    """The pilot cohort (the `pilot` audience)."""
    op.create_table(
        "pilot_members",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=True),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_pilot_members"),
    )


def create_scheduler_tables() -> None:
    """The lease that makes one scheduler process the trigger runner, and APScheduler's job store (its own
    schema, as SQLAlchemyJobStore would create it)."""
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scheduler_leases"),
    )
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), nullable=False),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_apscheduler_jobs"),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])


def create_runs_and_deliveries() -> None:
    """Each firing of a job, claimed under a lease, and each recipient's delivery key and outcome."""
    op.create_table(
        "scheduled_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(191), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(191), nullable=False),
        sa.Column("run_time", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_scheduled_runs"),
        sa.UniqueConstraint("job_id", "run_time", name="uq_scheduled_runs_job_id_run_time"),
    )
    op.create_index("ix_scheduled_runs_kind_ref", "scheduled_runs", ["kind", "ref"])
    op.create_index("ix_scheduled_runs_status_lease_expires_at", "scheduled_runs", ["status", "lease_expires_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("via", sa.String(191), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(["run_id"], ["scheduled_runs.id"], ondelete="CASCADE",
                                name="fk_deliveries_run_id_scheduled_runs"),
        sa.UniqueConstraint("run_id", "recipient", name="uq_deliveries_run_id_recipient"),
    )
    op.create_index("ix_deliveries_run_id_status", "deliveries", ["run_id", "status"])


def create_acknowledgement_tables() -> None:
    """Campaigns asking people to accept a policy version, who was asked, and who accepted when."""
    op.create_table(
        "ack_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_path", sa.String(500), nullable=False),
        sa.Column("policy_title", sa.String(300), nullable=False),
        sa.Column("policy_url", sa.String(1000), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("deadline", TIMESTAMP, nullable=False),
        sa.Column("remind_cron", sa.String(120), nullable=True),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ack_campaigns"),
    )
    op.create_table(
        "ack_members",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("team", sa.String(191), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "user_id", name="pk_ack_members"),
        sa.ForeignKeyConstraint(["campaign_id"], ["ack_campaigns.id"], ondelete="CASCADE",
                                name="fk_ack_members_campaign_id_ack_campaigns"),
    )
    op.create_table(
        "acknowledgements",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("accepted_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "user_id", name="pk_acknowledgements"),
        sa.ForeignKeyConstraint(["campaign_id"], ["ack_campaigns.id"], ondelete="CASCADE",
                                name="fk_acknowledgements_campaign_id_ack_campaigns"),
    )
