"""Talking to Slack's Web API: clients with safe retries, posts that land once, response URLs, quiet calls.
(The repliers that deliver answers through it are answering's: bot/answering/repliers.py.)"""
from __future__ import annotations

import logging
from datetime import datetime
from http.client import HTTPException
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from bot.metrics import metrics

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 15
RATE_LIMIT_RETRIES = 3  # each waits Retry-After (+ up to 1 s of jitter)
CONNECTION_RETRIES = 2
HISTORY_LOOKBACK_SECONDS = 120  # a post is looked for from this long before it was sent (see find_marked)
# Methods that create something each time they are called: re-sending one that may have arrived duplicates it.
POSTING_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage",
                             "files.completeUploadExternal", "files.upload"})
# Raised after the request was sent, before Slack's answer arrived: it may or may not have been acted on.
UNANSWERED = (ConnectionError, TimeoutError, HTTPException)
WORKING_EMOJI = "eyes"


class SafeConnectionRetryHandler(RetryHandler):
    """Retries a failed connection a bounded number of times, but never re-sends a post Slack may have received.

    urllib raises URLError when connecting or sending fails (Slack never saw the request: always safe to retry);
    an error while waiting for the answer (RemoteDisconnected, reset, timeout) leaves the outcome unknown, so only
    requests that are safe to repeat (reads, updates, reactions) are retried. `post_once` settles unknown posts.
    """

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if error is None or response is not None:
            return False
        if isinstance(error, URLError):
            return True
        return isinstance(error, UNANSWERED) and not is_posting(request.url)


class RateLimitCounter(RetryHandler):
    """Retries nothing: counts each 429 Slack answers (rollout_slack_rate_limited_total), retried or not."""

    def can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                  error: Exception | None = None) -> bool:
        if response is not None and response.status_code == 429:
            metrics().slack_rate_limited.labels(api_method(request.url) or "response_url").inc()
        return False


class MeteredWebClient(WebClient):
    """A WebClient that counts the calls Slack refused or never answered (rollout_slack_api_errors_total)."""

    def api_call(self, api_method: str, **kwargs):
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            metrics().slack_errors.labels(api_method, str(exc.response.status_code), error or "http_error").inc()
            raise
        except (*UNANSWERED, URLError) as exc:
            metrics().slack_errors.labels(api_method, "none", type(exc).__name__).inc()
            raise


def api_method(url: str) -> str | None:
    """The Web API method a request URL calls (None: a response_url or webhook)."""
    if "/api/" not in url:
        return None
    return url.rsplit("/api/", 1)[1].split("?", 1)[0]


def is_posting(url: str) -> bool:
    """Whether a request to `url` creates a message (Web API posts, response_url and webhook posts)."""
    method = api_method(url)
    return method is None or method in POSTING_METHODS  # response_url and incoming webhooks post


def retry_handlers(rate_limits: RetryHandler | None = None) -> list[RetryHandler]:
    """Rollout's one retry stack, on slack_sdk's handlers: 429 → counted, then wait Retry-After and try again
    (`rate_limits`: a handler of one's own for that, e.g. fan-out's, which makes every sender wait); connection
    failures → bounded, duplicate-free retries."""
    return [RateLimitCounter(), rate_limits or RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            SafeConnectionRetryHandler(max_retry_count=CONNECTION_RETRIES)]


def web_client(token: str | None, api_url: str | None = None, *, timeout: int = TIMEOUT_SECONDS,
               rate_limits: RetryHandler | None = None) -> WebClient:
    """A WebClient for `token` at SLACK_API_URL (default Slack's), with Rollout's retry handlers, counting errors."""
    base_url = (api_url or DEFAULT_API_URL).rstrip("/") + "/"
    return MeteredWebClient(token=token, base_url=base_url, timeout=timeout,
                            retry_handlers=retry_handlers(rate_limits))


def webhook(response_url: str) -> WebhookClient:
    """A client for a response_url (slash commands, button clicks), with Rollout's retry handlers."""
    return WebhookClient(response_url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())


def open_channel(client: WebClient, recipient: str) -> str:
    """Where to post to reach `recipient`: a user id (U…, W…) is their DM with the bot, opened if need be."""
    if recipient[:1] in ("U", "W"):
        return client.conversations_open(users=recipient)["channel"]["id"]
    return recipient


def find_marked(client: WebClient, channel: str, marker: str, since: datetime) -> str | None:
    """The ts of the message carrying block `marker` in `channel`'s history since `since` (less
    HISTORY_LOOKBACK_SECONDS: clocks differ), every page read; None if Slack has none."""
    oldest, cursor = f"{since.timestamp() - HISTORY_LOOKBACK_SECONDS:.6f}", None
    while True:
        page = client.conversations_history(channel=channel, oldest=oldest, limit=200, cursor=cursor)
        if found := next((m["ts"] for m in page.get("messages", []) if carries(m, marker)), None):
            return found
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None


def carries(message: dict, marker: str) -> bool:
    """Whether a message has the block whose block_id is `marker` (how a post is recognised again)."""
    return any(block.get("block_id") == marker for block in message.get("blocks") or [])


def post_once(client: WebClient, *, channel: str, thread_ts: str | None, text: str, blocks: list[dict],
              marker: str) -> str | None:
    """chat.postMessage in a thread (or the channel, `thread_ts` None), landing once: an unanswered post is re-sent
    only if the thread (the channel's latest messages) lacks it.

    `marker` is a block_id unique to this message. Returns the message ts, or None when delivery is unknown.
    """
    try:
        return client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)["ts"]
    except SlackApiError as exc:
        if exc.response.status_code < 500:
            raise
        log.warning("Slack answered chat.postMessage with HTTP %s; checking the thread", exc.response.status_code)
    except UNANSWERED as exc:
        log.warning("no answer from Slack to chat.postMessage (%s); checking the thread", type(exc).__name__)
    found, known = find_in_thread(client, channel, thread_ts, marker)
    if found or not known:
        if not known:
            log.error("could not check whether message %s reached %s; not re-posting it, to avoid a duplicate",
                      marker, channel)
        return found
    return client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)["ts"]


def find_in_thread(client: WebClient, channel: str, thread_ts: str | None, marker: str) -> tuple[str | None, bool]:
    """(ts of the thread's message carrying block `marker` or None, whether the thread could be read at all); with
    `thread_ts` None, the channel's latest messages."""
    try:
        if thread_ts is None:
            replies = client.conversations_history(channel=channel, limit=50)
        else:
            replies = client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
    except (SlackApiError, *UNANSWERED, URLError) as exc:
        log.warning("could not read thread %s in %s: %s", thread_ts, channel, _reason(exc))
        return None, False
    for message in replies.get("messages") or []:
        if carries(message, marker):
            return message.get("ts"), True
    return None, True


def respond(response_url: str, text: str, reply_blocks: list[dict] | None = None,
            replace_original: bool = False) -> None:
    """Post an ephemeral message to a response_url (slash commands, button clicks), or replace the clicked one."""
    response = webhook(response_url).send(text=text, blocks=reply_blocks, response_type="ephemeral",
                                          replace_original=replace_original)
    if response.status_code != 200:
        raise RuntimeError(f"response_url answered HTTP {response.status_code}: {response.body[:200]}")


def quietly(call, **kwargs) -> None:
    """Make a call whose failure must not stop an answer (the 👀 reaction); log why it failed."""
    try:
        call(**kwargs)
    except (SlackApiError, *UNANSWERED, URLError) as exc:
        log.info("%s failed: %s", getattr(call, "__name__", "call"), _reason(exc))


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__
