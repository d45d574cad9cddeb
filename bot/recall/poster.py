"""Recall messages over the Slack Web API: a DM to a person (or a post to the helpdesk channel), and finding an earlier
post again by its marker block, so an uncertain send is never posted twice."""
from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.client import find_marked, open_channel


class SlackRecallPoster:
    """bot.recall.recalls.Poster over a WebClient (chat:write, im:write, im:history)."""

    def __init__(self, client: WebClient):
        self.client = client

    def post(self, recipient: str, text: str, blocks: list[dict]) -> tuple[str, str]:
        """Post to a channel, or DM a user by id; (channel, ts). Raises with Slack's error code on a refusal."""
        channel = open_channel(self.client, recipient)
        try:
            response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False,
                                                    unfurl_media=False)
        except SlackApiError as exc:
            raise RuntimeError(str(exc.response.get("error") or f"HTTP {exc.response.status_code}")) from exc
        return response["channel"], response["ts"]

    def find(self, recipient: str, marker: str, since: datetime) -> tuple[str, str] | None:
        """The message carrying block `marker` posted to `recipient` since `since`, if Slack has it."""
        channel = open_channel(self.client, recipient)
        ts = find_marked(self.client, channel, marker, since)
        return (channel, ts) if ts else None
