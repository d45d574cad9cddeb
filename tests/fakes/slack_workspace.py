"""The fake Slack lives in the product (bot/fake_slack/workspace.py, for `rollout demo`); the tests import it from here."""
from bot.fake_slack.workspace import *  # noqa: F401,F403
