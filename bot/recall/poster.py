"""Recall messages over the Slack Web API: a DM to a person (or a post to the helpdesk channel), and finding an earlier
post again by its marker block, so an uncertain send is never posted twice."""
from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

HISTORY_LOOKBACK_SECONDS = 120


class SlackRecallPoster:
    """bot.recall.recalls.Poster over a WebClient (chat:write, im:write, im:history)."""

    def __init__(self, client: WebClient):
        self.client = client

    def post(self, recipient: str, text: str, blocks: list[dict]) -> tuple[str, str]:
        """Post to a channel, or DM a user by id; (channel, ts). Raises with Slack's error code on a refusal."""
        channel = self._channel(recipient)
        try:
            response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False,
                                                    unfurl_media=False)
        except SlackApiError as exc:
            raise RuntimeError(str(exc.response.get("error") or f"HTTP {exc.response.status_code}")) from exc
        return response["channel"], response["ts"]

    def find(self, recipient: str, marker: str, since: datetime) -> tuple[str, str] | None:
        """The message carrying block `marker` posted to `recipient` since `since`, if Slack has it."""
        channel = self._channel(recipient)
        oldest, cursor = f"{since.timestamp() - HISTORY_LOOKBACK_SECONDS:.6f}", None
        while True:
            page = self.client.conversations_history(channel=channel, oldest=oldest, limit=200, cursor=cursor)
            for message in page.get("messages", []):
                if any(block.get("block_id") == marker for block in message.get("blocks") or []):
                    return channel, message["ts"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def _channel(self, recipient: str) -> str:
        if recipient[:1] in ("U", "W"):
            return self.client.conversations_open(users=recipient)["channel"]["id"]
        return recipient
