"""Fixtures for deployment communications: a migrated database (SQLite and PostgreSQL), a fake Slack that knows
which channels and users exist, a controllable clock, and the services and scheduler over them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.settings import Settings
from bot.store import make_engine, migrate, session_factory
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_methods import error

ROOT = Path(__file__).resolve().parents[2]
TEAMS = {"pilot-team": ["U0ALICE", "U0BOB"], "engineering": ["U0BOB", "U0CAROL", "U0DAN"]}
CHANNELS = {"C0GENERAL": ["U0ALICE", "U0BOB", "U0EVE"], "C0ANNOUNCE": ["U0ALICE"]}


class StrictSlack(FakeSlack):
    """The fake Slack, answering channel_not_found / user_not_found for ids the test never created, as Slack does."""

    def _answer(self, method: str, params: dict, token: str | None) -> dict:
        ws = self.workspace
        if method in ("conversations.info", "conversations.members") and params.get("channel") not in ws.channels:
            return error("channel_not_found")
        if method == "users.info" and params.get("user") not in ws.users:
            return error("user_not_found")
        return super()._answer(method, params, token)

    def posts(self, ok_only: bool = True) -> list:
        """Every chat.postMessage that Slack accepted (or all of them)."""
        return [c for c in self.calls_to("chat.postMessage") if c.ok or not ok_only]

    def posted_to(self) -> list[str]:
        """The channel (or user) of each accepted post, in order."""
        return [c.params["channel"] for c in self.posts()]


@pytest.fixture
def slack() -> Iterator[StrictSlack]:
    with StrictSlack(usergroups=TEAMS) as fake:
        for channel, members in CHANNELS.items():
            fake.workspace.add_channel(channel, members=members)
        for user in {u for members in [*TEAMS.values(), *CHANNELS.values()] for u in members} | {"U0ADMIN"}:
            fake.workspace.add_user(user)
        yield fake


def wait_until(condition, timeout: float = 10, step: float = 0.05):
    """The first truthy value of `condition()`, polling until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(step)
    raise AssertionError(f"not true within {timeout} s")


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime):
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta) -> datetime:
        with self._lock:
            self.now += timedelta(**delta)
            return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def settings_for(db_url: str, slack: FakeSlack, tmp_path: Path, **overrides) -> Settings:
    """Settings for a test: its database, the fake Slack, quick polls and short leases."""
    values = dict(database_url=db_url, slack_bot_token="xoxb-test", slack_api_url=slack.base_url,
                  rollout_data_dir=tmp_path / "data", rollout_scheduler_poll_seconds=0.3,
                  rollout_scheduler_lease_seconds=3, rollout_misfire_grace_seconds=60, rollout_send_rate=50,
                  rollout_timezone="Europe/London", rollout_admins="U0ADMIN")
    return Settings(_env_file=None, **(values | overrides))


def environment(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for a `rollout` subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "SLACK_", "DATABASE_"))}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[name.upper()] = str(value)
    return env | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ROLLOUT_LOG_LEVEL": "INFO"}


class RolloutProcess:
    """`rollout <args>` in a real process with the test's settings (no .env: it runs in `cwd`), its output kept."""

    def __init__(self, settings: Settings, *args: str, cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", *args], cwd=cwd,
                                        env=environment(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """The first output line containing `text`, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := next((line for line in self.lines if text in line), None):
                return found
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(self.lines[-40:]))

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as a platform stops a process; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash."""
        self.process.kill()
        self.process.wait(10)


def job_context(engine: Engine, slack: FakeSlack, clock, **overrides):
    """A JobContext over the test database and the fake Slack (the scheduler's, built by hand)."""
    from bot.comms.ack_store import AckStore
    from bot.comms.announcement_store import AnnouncementStore, PilotCohort
    from bot.comms.delivery import SlackDelivery
    from bot.comms.job_context import JobContext
    from bot.slack.pacing import SendPacer
    from bot.store.runs import RunLog

    sessions = session_factory(engine)
    delivery = SlackDelivery("xoxb-test", slack.base_url, SendPacer(overrides.pop("rate", 200), channel_interval=0))
    values = dict(runs=RunLog(sessions), announcements=AnnouncementStore(sessions), acks=AckStore(sessions),
                  pilot=PilotCohort(sessions), directory=delivery, sender=delivery,
                  pool=ThreadPoolExecutor(8), holder="test-holder", lease=timedelta(seconds=30),
                  grace=timedelta(seconds=60), clock=clock, report=lambda text: None)
    return JobContext(**(values | overrides))
