"""The composition root: one process's settings, its one engine (migrated once), sessions, Slack client and clock,
and the services built over them on first use. `rollout serve`, `rollout scheduler`, every CLI group and the
tests start from `build_runtime(settings)`, so each process opens one engine and migrates once."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.answering.safety import install_redacting_filter
from bot.answering.work_store import WorkStore
from bot.settings import Settings
from bot.slack.client import web_client
from bot.store import make_engine, migrate, session_factory
from bot.store.models import utc_now
from bot.store.repositories import Store

if TYPE_CHECKING:
    from bot.answering.asking import Asking
    from bot.answering.channel_settings import Channels
    from bot.answering.services import Services
    from bot.comms.memberships import Memberships
    from bot.comms.scheduling import Comms
    from bot.feedback.store import FeedbackStore
    from bot.helpdesk.desk import Desk
    from bot.helpdesk.store import HelpdeskStore
    from bot.recall.recalls import Recalls
    from bot.recall.store import RecallStore


@dataclass(eq=False)
class Runtime:
    """One process: settings, the engine and its sessions, Slack (None without SLACK_BOT_TOKEN), the clock, and the
    shared services, each built once when first asked for."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    client: WebClient | None
    clock: Callable[[], datetime] = utc_now
    knowledge_base: object | None = None  # needed by answering and the helpdesk only

    @cached_property
    def store(self) -> Store:
        """Conversations, interactions and processed events."""
        return Store(self.sessions)

    @cached_property
    def work(self) -> WorkStore:
        """Acked questions, kept until answered."""
        return WorkStore(self.sessions)

    @cached_property
    def feedback(self) -> FeedbackStore:
        """Answer ratings, survey responses and pulse schedules."""
        from bot.feedback.store import FeedbackStore

        return FeedbackStore(self.sessions)

    @cached_property
    def helpdesk_store(self) -> HelpdeskStore:
        """Tickets, incidents, FAQ entries and their audit trail."""
        from bot.helpdesk.store import HelpdeskStore

        return HelpdeskStore(self.sessions)

    @cached_property
    def recall_store(self) -> RecallStore:
        """Cited sections, section changes, recalls and their messages."""
        from bot.recall.store import RecallStore

        return RecallStore(self.sessions)

    @cached_property
    def recalls(self) -> Recalls:
        """Policy-change recall (no sending without SLACK_BOT_TOKEN)."""
        from bot.recall.poster import SlackRecallPoster
        from bot.recall.recalls import Recalls

        s = self.settings
        return Recalls(self.recall_store, SlackRecallPoster(self.client) if self.client else None,
                       days=s.rollout_recall_days, helpdesk_channel=s.rollout_helpdesk_channel, clock=self.clock)

    @cached_property
    def channels(self) -> Channels:
        """Channel settings (answer mode, private answers, audiences, helpdesk channel), read from the database."""
        from bot.answering.channel_settings import Channels
        from bot.answering.channel_store import ChannelStore

        return Channels(ChannelStore(self.sessions), self.settings.admin_ids, self.clock)

    @cached_property
    def asking(self) -> Asking:
        """The answering workflow over the knowledge base and ROLLOUT_RATE_LIMIT (ValueError if malformed)."""
        from bot.answering.asking import Asking, RateLimit
        from bot.comms.memberships import asker_audiences, known_audiences

        if hasattr(self.knowledge_base, "known_audiences"):
            self.knowledge_base.known_audiences = known_audiences(self.memberships, self.knowledge_base,
                                                                  self.channels.audiences_in_use)
        return Asking(self.store, self.knowledge_base, RateLimit.parse(self.settings.rollout_rate_limit),
                      audiences=asker_audiences(self.memberships, self.knowledge_base),
                      channel_audiences=self.channels.audiences_for_channel)

    @cached_property
    def memberships(self) -> Memberships:
        """Who belongs to which document audience: the pilot cohort, `rollout audiences`, Slack user groups."""
        return self.comms.memberships

    @cached_property
    def services(self) -> Services:
        """What Slack listeners hand work to: answering and recording, on the process's workers."""
        from bot.answering.intake import Intake
        from bot.answering.services import Services
        from bot.slack.workers import Workers

        s = self.settings
        client = self.client or web_client(s.slack_bot_token, s.slack_api_url)
        workers = Workers(s.rollout_workers)
        intake = Intake(self.asking, self.work, client, workers, lease=timedelta(seconds=s.rollout_work_lease_seconds),
                        limit=s.rollout_queue_limit, clock=self.clock)
        return Services(self.asking, client, workers, intake, self.channels)

    @cached_property
    def desk(self) -> Desk:
        """Tickets, incidents and FAQ entries, sharing the answering services' workers and client."""
        from bot.helpdesk.desk import build_desk
        from bot.helpdesk.limit_store import LimitStore
        from bot.helpdesk.limits import Limits

        limits = Limits(LimitStore(self.sessions), self.clock)
        return build_desk(self.settings, self.services, self.helpdesk_store, limits, self.knowledge_base)

    @cached_property
    def comms(self) -> Comms:
        """Announcements, acknowledgement campaigns and the pilot cohort (Slack only with SLACK_BOT_TOKEN)."""
        from bot.comms.scheduling import build_comms

        return build_comms(self.settings, self.engine, self.sessions, self.clock)

    def close(self) -> None:
        """Finish the work under way, then release the database connections."""
        if "services" in self.__dict__:
            self.services.workers.close()
        self.engine.dispose()


def build_runtime(settings: Settings, *, client: WebClient | None = None, clock: Callable[[], datetime] = utc_now,
                  knowledge_base=None) -> Runtime:
    """Open the database once, migrate it once, and the Slack client when a bot token is set. Logs are redacted
    from here on (secrets and personal data), whichever process this is."""
    install_redacting_filter(personal_data=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
    except Exception:
        engine.dispose()
        raise
    if client is None and settings.slack_bot_token:
        client = web_client(settings.slack_bot_token, settings.slack_api_url)
    return Runtime(settings, engine, session_factory(engine), client, clock, knowledge_base)
