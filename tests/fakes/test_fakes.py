"""The fakes themselves: real slack_sdk/Bolt/langchain clients against them, over real loopback HTTP."""

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from langchain_openai import ChatOpenAI
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.payloads import BOT_USER_ID, app_mention_event
from tests.fakes.signing import SlackSender
from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

SIGNING_SECRET = "test-signing-secret"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(usergroups={"pilot-team": ["U0ALICE", "U0BOB"]}) as fake:
        yield fake


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def served(app: App) -> Iterator[SlackSender]:
    """Serve a Bolt app over real HTTP on a free port; yield a SlackSender aimed at it."""
    server = make_server("127.0.0.1", 0, SlackRequestHandler(app), _ThreadingWSGIServer, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield SlackSender(f"http://127.0.0.1:{server.server_port}", SIGNING_SECRET)
    finally:
        server.shutdown()
        server.server_close()


def bolt_app(slack: FakeSlack) -> App:
    return App(client=slack.client(), signing_secret=SIGNING_SECRET)


def post_raw(url: str, body: bytes, headers: dict) -> dict:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_web_client_gets_realistic_answers_and_every_call_is_recorded(slack):
    client = slack.client()
    first = client.chat_postMessage(channel="C0GENERAL", text="Which tools are approved?")
    reply = client.chat_postMessage(channel="C0GENERAL", text="ChatGPT Enterprise", thread_ts=first["ts"])
    dm = client.chat_postMessage(channel="U0ALICE", text="psst")

    assert (first["ts"], reply["ts"]) == ("1700000000.000100", "1700000000.000200")
    assert dm["channel"] == client.conversations_open(users="U0ALICE")["channel"]["id"]
    assert dm["channel"].startswith("D")
    thread = client.conversations_replies(channel="C0GENERAL", ts=first["ts"])["messages"]
    assert [m["text"] for m in thread] == ["Which tools are approved?", "ChatGPT Enterprise"]
    assert client.users_info(user="U0ALICE")["user"]["tz"] == "Europe/London"
    assert client.auth_test()["user_id"] == BOT_USER_ID
    group = client.usergroups_list(include_users=True)["usergroups"][0]
    assert group["handle"] == "pilot-team"
    assert client.usergroups_users_list(usergroup=group["id"])["users"] == ["U0ALICE", "U0BOB"]
    assert client.chat_getPermalink(channel="C0GENERAL", message_ts=first["ts"])["permalink"].endswith(
        "/archives/C0GENERAL/p1700000000000100")
    assert slack.calls_to("chat.postMessage")[0].params["text"] == "Which tools are approved?"
    assert slack.calls_to("chat.postMessage")[0].headers["Authorization"] == "Bearer xoxb-test"


def test_missing_token_wrong_token_kind_and_unknown_methods_are_refused_and_recorded(slack):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert post_raw(slack.base_url + "chat.postMessage", b"channel=C1&text=hi", form)["error"] == "not_authed"
    assert post_raw(slack.base_url + "chat.postMessage", b"channel=C1&text=hi&token=xoxb-t", form)["ok"] is True
    with pytest.raises(SlackApiError, match="unknown_method"):
        slack.client().api_call("chat.teleport")
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        slack.client().apps_connections_open(app_token="xoxb-not-an-app-token")

    assert [c.method for c in slack.calls] == [
        "chat.postMessage", "chat.postMessage", "chat.teleport", "apps.connections.open"]
    with pytest.raises(AssertionError, match="chat.update"):
        slack.wait_for("chat.update", timeout=0.05)


def test_signed_event_reaches_a_bolt_app_over_http_and_its_say_lands_in_the_fake(slack):
    app = bolt_app(slack)

    @app.event("app_mention")
    def answer(event, say):
        say(text="Here is the policy.", thread_ts=event["ts"])

    with served(app) as sender:
        event = app_mention_event(f"<@{BOT_USER_ID}> can I use Copilot?")
        status, body, elapsed = sender.event(event)
        posted = slack.wait_for("chat.postMessage")[0]

    assert (status, body) == (200, "")
    assert elapsed < 3
    assert posted.params["thread_ts"] == event["ts"]
    assert posted.params["channel"] == event["channel"]


def test_bad_signatures_are_rejected_and_url_verification_is_answered(slack):
    with served(bolt_app(slack)) as sender:
        assert sender.url_verification("abc123")[:2] == (200, '{"challenge": "abc123"}')
        forged = SlackSender(sender.url.removesuffix("/slack/events"), "wrong-secret")
        assert forged.event(app_mention_event("hi")).status == 401
        assert sender.raw("{}", {"Content-Type": "application/json"}).status == 401


def test_slash_command_is_acked_and_respond_posts_to_the_response_url(slack):
    app = bolt_app(slack)

    @app.command("/rollout")
    def rollout(ack, command, respond):
        ack()
        respond(text=f"You asked: {command['text']}")

    with served(app) as sender:
        status, _, _ = sender.command(text="retention policy", response_url=slack.response_url("cmd-1"))
        posted = slack.wait_for("response_url")[0]

    assert status == 200
    assert posted.params["text"] == "You asked: retention policy"
    assert posted.path == "/response/cmd-1"


def test_button_opens_a_modal_and_its_submission_gets_a_response_action(slack):
    app = bolt_app(slack)
    modal = {"type": "modal", "callback_id": "feedback", "title": {"type": "plain_text", "text": "Feedback"},
             "submit": {"type": "plain_text", "text": "Send"},
             "blocks": [{"type": "input", "block_id": "why", "label": {"type": "plain_text", "text": "Why?"},
                         "element": {"type": "plain_text_input", "action_id": "text"}}]}

    @app.action("feedback_open")
    def open_feedback(ack, body, client):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.view("feedback")
    def submit_feedback(ack, view):
        ack(response_action="errors", errors={"why": "Tell us " + view["state"]["values"]["why"]["text"]["value"]})

    with served(app) as sender:
        assert sender.block_action("feedback_open", "answer-1").status == 200
        opened = slack.wait_for("views.open")[0]
        values = {"why": {"text": {"type": "plain_text_input", "value": "more"}}}
        status, body, _ = sender.view_submission("feedback", values)

    assert opened.params["view"]["title"]["text"] == "Feedback"
    assert opened.response["view"]["id"].startswith("V")
    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {"why": "Tell us more"}}
    assert slack.violations == []


def test_rate_limited_post_is_retried_by_the_handler_and_delivered_once(slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    client = slack.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    client.chat_postMessage(channel="C0GENERAL", text="announcement")

    calls = slack.calls_to("chat.postMessage")
    assert [(c.status, c.ok) for c in calls] == [(429, False), (200, True)]
    assert calls[0].response == {"ok": False, "error": "ratelimited"}
    assert len(slack.workspace.messages["C0GENERAL"]) == 1


def test_dropped_connection_is_retried_once_by_the_default_client(slack):
    slack.drop_next("chat.postMessage")

    slack.client().chat_postMessage(channel="C0GENERAL", text="hello")

    assert [c.status for c in slack.calls_to("chat.postMessage")] == [0, 200]


def test_server_errors_and_rate_limits_reach_a_client_without_retry_handlers(slack):
    client = slack.client(retry_handlers=[])
    slack.fail_next("users.info", status=503, retry_after=None)
    with pytest.raises(SlackApiError) as failure:
        client.users_info(user="U0ALICE")
    assert failure.value.response.status_code == 503

    slack.rate_limit(per_second=2, method="chat.postMessage")
    client.chat_postMessage(channel="C1", text="1")
    client.chat_postMessage(channel="C1", text="2")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="3")
    assert limited.value.response.headers["Retry-After"] == "1"


def section(text: str, **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, label: str = "Go") -> dict:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}}


@pytest.mark.parametrize("blocks, pointer", [
    ([section("x")] * 51, "/blocks"),
    ([section("x" * 3001)], "/blocks/0/text/text"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "/blocks/0/text/text"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}], "/blocks/0/text"),
    ([{"type": "actions", "elements": [button("a", "x" * 76)]}], "/blocks/0/elements/0/text/text"),
    ([{"type": "actions", "elements": [button("a"), button("a")]}], "/blocks/0/elements/1/action_id"),
    ([section("x", block_id="b" * 256)], "/blocks/0/block_id"),
    ([{"type": "actions", "elements": [button(f"a{i}") for i in range(26)]}], "/blocks/0/elements"),
    ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}], "/blocks/0/elements"),
    ([{"type": "section", "text": {"type": "markdown", "text": "x"}}], "/blocks/0/text"),
])
def test_block_kit_limits_are_refused_like_slack_and_recorded(slack, blocks, pointer):
    with pytest.raises(SlackApiError) as refused:
        slack.client().chat_postMessage(channel="C0GENERAL", text="fallback", blocks=blocks)

    assert refused.value.response["error"] == "invalid_blocks"
    assert [v.method for v in slack.violations] == ["chat.postMessage"]
    assert any(e.endswith(f"[json-pointer:{pointer}]") for e in slack.violations[0].errors), slack.violations


def test_modal_limits_and_message_length_are_enforced(slack):
    client = slack.client()
    long_title = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []}
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_open(trigger_id="1.2.abc", view=long_title)
    with pytest.raises(SlackApiError, match="msg_too_long"):
        client.chat_postMessage(channel="C0GENERAL", text="x" * 40_001)
    home = {"type": "home", "blocks": [section(f"item {i}") for i in range(100)]}
    assert client.views_publish(user_id="U0ALICE", view=home)["view"]["id"] == "VHOMEU0ALICE"
    assert slack.violations[0].errors == ["must be less than 25 characters [json-pointer:/view/title/text]"]


def test_files_upload_v2_stores_the_uploaded_bytes(slack):
    result = slack.client().files_upload_v2(channel="C0GENERAL", content=b"policy,v1\n", filename="usage.csv")

    file_id = result["files"][0]["id"]
    assert slack.workspace.files[file_id]["content"] == b"policy,v1\n"
    assert [c.method for c in slack.calls] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_fake_openai_answers_chat_openai_plain_and_streaming():
    with FakeOpenAI() as llm_api:
        llm_api.replies += ["Use the approved list.", "Ask the pilot team first."]
        llm = ChatOpenAI(base_url=llm_api.base_url, api_key="test", model="fake-model", max_retries=0)

        assert llm.invoke("hi").content == "Use the approved list."
        assert "".join(chunk.content for chunk in llm.stream("hi")) == "Ask the pilot team first."
        llm_api.responder = lambda request: f"echo {request['messages'][-1]['content']}"
        assert llm.invoke("ping").content == "echo ping"

    assert [r["stream"] for r in llm_api.requests] == [False, True, False]
    assert llm_api.requests[0]["messages"] == [{"content": "hi", "role": "user"}]


def test_socket_mode_handler_connects_receives_an_event_and_acks(slack):
    app = bolt_app(slack)

    @app.event("app_mention")
    def answer(event, say):
        say(text="On it.", thread_ts=event["ts"])

    socket_mode = FakeSocketMode(slack).start()
    handler = SocketModeHandler(app, app_token="xapp-1-A0ROLLOUT-test", auto_reconnect_enabled=False)
    try:
        handler.connect()
        envelope_id = socket_mode.push_event(app_mention_event(f"<@{BOT_USER_ID}> hello"))
        assert socket_mode.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
        assert slack.wait_for("chat.postMessage")[0].params["text"] == "On it."
    finally:
        socket_mode.stop()
        handler.close()

    opened = slack.calls_to("apps.connections.open")[0]
    assert opened.headers["Authorization"] == "Bearer xapp-1-A0ROLLOUT-test"
    assert socket_mode.connection_count == 1
