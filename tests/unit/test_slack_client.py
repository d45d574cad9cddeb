"""Which failed requests are retried: never a post Slack may have received; and where requests go."""
from __future__ import annotations

from http.client import RemoteDisconnected
from urllib.error import URLError

import pytest
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack.client import SafeConnectionRetryHandler, is_posting, web_client

API = "https://slack.com/api/"


def can_retry(url: str, error: Exception | None = None, status: int | None = None) -> bool:
    request = HttpRequest(method="POST", url=url, headers={}, body_params={})
    response = HttpResponse(status_code=status, headers={}, body={}) if status else None
    handler = SafeConnectionRetryHandler(max_retry_count=2)
    return handler.can_retry(state=RetryState(), request=request, response=response, error=error)


@pytest.mark.parametrize("url, posting", [
    (API + "chat.postMessage", True), (API + "chat.postEphemeral", True), (API + "chat.update", False),
    (API + "reactions.add", False), (API + "conversations.replies", False), (API + "auth.test", False),
    ("http://127.0.0.1:8080/response/abc", True), ("https://hooks.slack.com/actions/T1/2/x", True),
])
def test_posting_methods_are_told_apart_from_those_safe_to_repeat(url, posting):
    assert is_posting(url) is posting


def test_a_request_that_never_reached_slack_is_retried_whatever_it_was():
    refused = URLError(ConnectionRefusedError(111, "Connection refused"))
    assert can_retry(API + "chat.postMessage", refused) and can_retry(API + "reactions.add", refused)


def test_a_request_sent_but_unanswered_is_retried_only_when_repeating_it_is_harmless():
    unanswered = RemoteDisconnected("Remote end closed connection without response")
    assert can_retry(API + "chat.update", unanswered) and can_retry(API + "conversations.replies", TimeoutError())
    assert not can_retry(API + "chat.postMessage", unanswered)
    assert not can_retry("http://127.0.0.1/response/abc", ConnectionResetError())


def test_http_answers_are_left_to_the_other_handlers():
    assert not can_retry(API + "chat.update", status=429) and not can_retry(API + "chat.update")


@pytest.mark.parametrize("api_url, base_url", [
    (None, "https://slack.com/api/"), ("https://slack-gov.com/api", "https://slack-gov.com/api/"),
    ("http://127.0.0.1:9999/api/", "http://127.0.0.1:9999/api/"),
])
def test_slack_api_url_is_the_base_of_every_call(api_url, base_url):
    assert web_client("xoxb-1", api_url).base_url == base_url


def test_every_slack_client_carries_the_one_retry_stack():
    from slack_sdk.http_retry import RateLimitErrorRetryHandler

    from bot.comms.delivery import SlackDelivery
    from bot.slack.client import RateLimitCounter, webhook
    from bot.slack.pacing import SendPacer

    delivery = SlackDelivery("xoxb-1", None, SendPacer(10))
    clients = (web_client("xoxb-1"), webhook("https://hooks.slack.com/actions/T1/2/x"), delivery.poster,
               delivery.reader)
    assert all(type(c.retry_handlers[0]) is RateLimitCounter for c in clients)  # each 429 counted (/metrics)
    assert all([type(h) for h in c.retry_handlers][2:] == [SafeConnectionRetryHandler] for c in clients)
    assert delivery.poster.retry_handlers[1] is delivery.rate_limits  # fan-out's 429s pause every sender
    assert all(type(c.retry_handlers[1]) is RateLimitErrorRetryHandler for c in clients if c is not delivery.poster)
