"""manifest.yml asks for what the listeners use, and nothing more."""
from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.commands import COMMAND

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())


def test_the_manifest_declares_the_command_events_and_interactivity_the_listeners_handle():
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == [COMMAND]
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "app_mention", "message.channels", "message.groups", "message.im"}
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_the_manifest_asks_for_the_least_scopes():
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "channels:history", "channels:read", "chat:write", "commands", "files:write",
        "groups:history", "groups:read", "im:history", "im:write", "reactions:write", "usergroups:read", "users:read"}
    assert "user" not in MANIFEST["oauth_config"]["scopes"]
