"""The fake Slack lives in the product (bot/fake_slack/block_kit.py, for `rollout demo`); the tests import it from here."""
from bot.fake_slack.block_kit import *  # noqa: F401,F403
