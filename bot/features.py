"""The features Rollout is made of, each a package under bot/, and the small interface through which each one plugs
into the process (issue 12): the Slack app, the `rollout` CLI, the scheduler, the serving process's periodic jobs and
the migrations loop over FEATURES instead of wiring each feature by hand.

A feature is its package's `feature` module (bot/<name>/feature.py); its imports are deferred to the functions, so
listing the features loads neither Slack nor the model. The order is the order `/rollout help` lists their
subcommands and admins' App Home shows their blocks."""
from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import MetaData

from bot.answering import feature as answering
from bot.comms import feature as comms
from bot.feedback import feature as feedback
from bot.helpdesk import feature as helpdesk
from bot.recall import feature as recall

PeriodicJob = tuple[str, float, Any]  # (job id, every seconds, fn(now)): jobs/periodic.py
Schedule = dict[str, tuple[str, str, int, Any]]  # job id -> (kind, ref, revision, trigger): jobs/scheduler.py


class Feature(Protocol):
    """What every bot/<name>/feature.py provides: NAME, TABLES, ACKED, `register` and `commands`; the other functions
    only where the feature has something to give (see the module functions below for their defaults)."""

    NAME: str
    TABLES: tuple[str, ...]  # the modules defining its tables (one Alembic chain: bot/store/migrations)
    # Every Slack request it routes ("command:<subcommand>", "action:<action_id>", "view:<callback_id>",
    # "event:<type>"; an action id may be a pattern) -> how what its ack promises is kept: "ack" (all of it is done
    # before the ack), "question" or the kind of the durable work recorded before the ack (bot/answering/intake.py).
    # tests/slack/test_routing.py checks it covers every route, and README "Reliability and safety" lists it.
    ACKED: dict[str, str]

    def register(self, app, runtime, routes) -> None:
        """Add its Slack listeners to `app` (matchers, never order) and its /rollout subcommands to `routes`."""

    def admin_home(self, runtime) -> list[dict]:
        """Blocks it adds to admins' App Home."""

    def commands(self) -> Sequence[Any]:
        """Its `rollout` click commands and groups."""

    def job_kinds(self) -> dict[str, Any]:
        """Scheduled job kinds it runs: kind -> fn(ctx, run, now), ctx a JobContext (bot/comms/job_context.py)."""

    def schedules(self, ctx, now: datetime) -> Schedule:
        """The triggers its scheduled jobs should have now."""

    def periodic(self, runtime) -> list[PeriodicJob]:
        """Jobs every serving process runs every few seconds."""


FEATURES: tuple[Feature, ...] = (feedback, helpdesk, comms, recall, answering)


def metadata() -> MetaData:
    """Base.metadata with every feature's tables on it, for migrations and the model/migration comparison."""
    for feature in FEATURES:
        for module in feature.TABLES:
            importlib.import_module(module)
    from bot.store.models import Base

    return Base.metadata


def acked() -> dict[str, dict[str, str]]:
    """Each feature's ACKED table by its package, and bot.slack's (/rollout ask and help)."""
    from bot.slack import commands

    return {"bot.slack": commands.ACKED, **{f"bot.{feature.NAME}": feature.ACKED for feature in FEATURES}}


def job_kinds() -> dict[str, Any]:
    """Every feature's scheduled job kinds; a kind claimed twice is an error."""
    kinds: dict[str, Any] = {}
    for feature in FEATURES:
        for kind, run in getattr(feature, "job_kinds", dict)().items():
            if kind in kinds:
                raise ValueError(f"job kind {kind!r} is claimed by two features")
            kinds[kind] = run
    return kinds


def schedules(ctx, now: datetime) -> Schedule:
    """Every feature's triggers for the scheduler to mirror."""
    desired: Schedule = {}
    for feature in FEATURES:
        if hasattr(feature, "schedules"):
            desired |= feature.schedules(ctx, now)
    return desired


def periodic_jobs(runtime) -> list[PeriodicJob]:
    """Every feature's periodic jobs for a serving process."""
    return [job for feature in FEATURES if hasattr(feature, "periodic") for job in feature.periodic(runtime)]


def admin_home(runtime) -> list[dict]:
    """Every feature's blocks for admins' App Home."""
    return [block for feature in FEATURES if hasattr(feature, "admin_home") for block in feature.admin_home(runtime)]
