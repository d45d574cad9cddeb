"""The fake Slack Web API lives in the product (bot/fake_slack/api.py, for `rollout demo`); the tests import it from
here, with its fixture."""
import pytest

from bot.fake_slack.api import *  # noqa: F401,F403
from bot.fake_slack.api import FakeSlack


@pytest.fixture
def fake_slack():
    """A running FakeSlack for one test (import this fixture into a conftest to use it)."""
    with FakeSlack() as fake:
        yield fake
