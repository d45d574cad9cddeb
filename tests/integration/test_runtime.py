"""Each process opens one engine and migrates once: the serve wiring (create_app, the helpdesk jobs, the scheduler)
and a command of each CLI group, counted on a real SQLite database through SQLAlchemy's own events."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event

from bot.cli import main
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.server import start_background
from bot.store import make_engine, migrate
from tests.fakes.slack_api import FakeSlack, fake_slack  # noqa: F401  (fixture)


@dataclass
class DatabaseUse:
    """Engines that connected, and reads of Alembic's version table (one per migration run on a current schema)."""

    engines: list[Engine] = field(default_factory=list)
    migrations: int = 0

    def on_connect(self, connection) -> None:
        if not any(e is connection.engine for e in self.engines):
            self.engines.append(connection.engine)

    def on_statement(self, _conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "alembic_version" in statement:
            self.migrations += 1


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database already at the newest revision, so each migration run reads the version table once."""
    url = f"sqlite:///{tmp_path / 'data' / 'rollout.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def use() -> Iterator[DatabaseUse]:
    """Count every engine's connections and statements from here on."""
    counted = DatabaseUse()
    event.listen(Engine, "engine_connect", counted.on_connect)
    event.listen(Engine, "before_cursor_execute", counted.on_statement)
    yield counted
    event.remove(Engine, "engine_connect", counted.on_connect)
    event.remove(Engine, "before_cursor_execute", counted.on_statement)


class NoKnowledge:
    """Nothing in these tests asks a question."""

    def ask(self, question, history=()):
        raise AssertionError("no question is asked here")


def test_serve_wiring_opens_one_engine_and_migrates_once(sqlite_url, use, fake_slack, tmp_path):
    settings = Settings(_env_file=None, database_url=sqlite_url, slack_bot_token="xoxb-test",
                        slack_api_url=fake_slack.base_url, slack_signing_secret="secret",
                        rollout_data_dir=tmp_path / "data", rollout_scheduler_poll_seconds=0.3)
    runtime = build_runtime(settings, knowledge_base=NoKnowledge())
    stops = start_background(runtime, scheduler=True, echo=lambda _line: None)
    try:
        create_app(runtime)
        runtime.comms.announcements.list()
        runtime.desk.store.tickets(None)
    finally:
        for stop in reversed(stops):
            stop()
        runtime.close()

    assert use.engines == [runtime.engine]
    assert use.migrations == 1


@pytest.mark.parametrize("args", [
    ["tickets", "list"],  # bot/helpdesk/cli.py
    ["pilot", "list"],  # bot/feedback/cli.py
    ["announce", "list"],  # bot/comms/cli.py
    ["ask", "Which AI tools are approved?"],  # bot/answering/terminal.py
], ids=lambda args: args[0])
def test_each_cli_group_opens_one_engine_and_migrates_once(sqlite_url, use, fake_slack, tmp_path, monkeypatch,
                                                           args):
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    env = {"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.base_url,
           "ROLLOUT_DATA_DIR": str(tmp_path / "data"), "CHROMA_URL": None, "ROLLOUT_RATE_LIMIT": None,
           "SLACK_APP_TOKEN": None, "SLACK_SIGNING_SECRET": None}
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert len(use.engines) == 1
    assert use.migrations == 1
