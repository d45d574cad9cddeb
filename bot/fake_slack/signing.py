"""Send requests to a Bolt app over real HTTP the way Slack does: signed, form- or JSON-encoded."""

import json
import time
import urllib.error
import urllib.request
from typing import NamedTuple
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from . import payloads
from .payloads import BOT_USER_ID, TEAM_ID

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Reply(NamedTuple):
    """What the app answered, and how long it took."""

    status: int
    body: str
    elapsed: float


def sign(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Request-Timestamp and X-Slack-Signature headers for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


class SlackSender:
    """Plays Slack's side of the Events API, slash commands and interactivity against `base_url + path`."""

    def __init__(self, base_url: str, signing_secret: str, path: str = "/slack/events", timeout: float = 10):
        self.url = base_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.timeout = timeout

    def event(self, event: dict, event_id: str | None = None, retry_num: int | None = None,
              retry_reason: str | None = None, team_id: str = TEAM_ID, bot_user_id: str = BOT_USER_ID) -> Reply:
        """Deliver one event in an `event_callback` envelope, optionally marked as Slack's retry."""
        envelope = payloads.event_callback(event, event_id, team_id, bot_user_id)
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self.post(json.dumps(envelope), JSON, headers)

    def command(self, command: str = "/rollout", text: str = "", user_id: str = "U0ALICE",
                channel_id: str = "C0GENERAL", response_url: str = "", trigger_id: str | None = None) -> Reply:
        """Invoke a slash command."""
        form = payloads.command_form(command, text, user_id, channel_id, response_url, trigger_id)
        return self.post(urlencode(form), FORM)

    def action(self, payload: dict) -> Reply:
        """Deliver any interactivity payload (form-encoded `payload=<json>`)."""
        return self.post(urlencode({"payload": json.dumps(payload)}), FORM)

    def block_action(self, action_id: str, value: str = "", **fields) -> Reply:
        """Click a button; `fields` as in payloads.block_actions (user_id, channel_id, message_ts, blocks...)."""
        return self.action(payloads.block_actions(action_id, value, **fields))

    def home_action(self, action_id: str, **fields) -> Reply:
        """Use a control of the App Home tab; `fields` as in payloads.home_block_actions."""
        return self.action(payloads.home_block_actions(action_id, **fields))

    def view_submission(self, callback_id: str, values: dict, **fields) -> Reply:
        """Submit a modal; `fields` as in payloads.view_submission (user_id, private_metadata, blocks...)."""
        return self.action(payloads.view_submission(callback_id, values, **fields))

    def url_verification(self, challenge: str = "rollout-challenge") -> Reply:
        """The handshake Slack sends when the Request URL is saved."""
        body = {"token": payloads.VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.post(json.dumps(body), JSON)

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None) -> Reply:
        """POST a body signed with the signing secret."""
        signed = {"Content-Type": content_type, **sign(body, self.signing_secret), **(headers or {})}
        return self.raw(body, signed)

    def raw(self, body: str, headers: dict[str, str]) -> Reply:
        """POST exactly this body and these headers (plus Slack's User-Agent); no signing."""
        request = urllib.request.Request(self.url, data=body.encode("utf-8"), method="POST",
                                         headers={"User-Agent": SLACK_USER_AGENT, **headers})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, text = response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8")
        return Reply(status, text, time.perf_counter() - started)
