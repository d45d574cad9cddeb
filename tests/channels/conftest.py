"""Rollout running for real (signed requests over HTTP, the fake Slack, a real database) with a Rollout admin."""
from __future__ import annotations

import pytest

from tests.scenario.conftest import (  # noqa: F401  (fixtures)
    fake_slack,
    knowledge_base,
    sqlite_url,
    start_rollout,
)

ADMIN, ASKER, OTHER = "U0ADMIN", "U0ALICE", "U0BOB"
POLICY, HELPDESK, TEAM_HELPDESK = "C0POLICY", "C0HELPDESK", "C0TEAMDESK"


@pytest.fixture
def start(start_rollout, fake_slack):
    """start(database_url=None, **settings): a running Rollout with ADMIN as its admin and a helpdesk channel."""
    fake_slack.workspace.add_channel(HELPDESK, "ai-helpdesk", members=["U0AGENT", fake_slack.workspace.bot_user_id])
    fake_slack.workspace.add_channel(TEAM_HELPDESK, "team-desk", members=["U0TEAMAGENT"])

    def started(database_url=None, **overrides):
        return start_rollout(database_url, **{"rollout_admins": ADMIN, "rollout_helpdesk_channel": HELPDESK,
                                              **overrides})

    return started


@pytest.fixture
def rollout(start):
    return start()


@pytest.fixture
def rollout_on_each_db(start, db_url):
    return start(db_url)
