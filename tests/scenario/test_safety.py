"""Safety at the edge: secrets warned about and never stored, personal data redacted, tokens never logged, and bad
input (huge, malformed, unsigned) never a 5xx."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import make_url, text

from bot.feedback.blocks import SURVEY_MODAL
from bot.store import Conversation, ProcessedEvent
from tests.fakes.payloads import block_actions, event_callback, message_event
from tests.fakes.signing import FORM, JSON, SlackSender, sign
from tests.scenario.conftest import ANSWERABLE, APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, section_texts

SECRETS = {
    "aws_access_key_id": "AKIAZ7Q4N2WXK5PLM3RT",
    "password": "password=Tr0ub4dor&3xyz!",
    "github_token": "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "card_number": "4539 1488 0343 6467",
}


def database_bytes(rollout) -> bytes:
    """Everything the database holds: the SQLite files' bytes, or a dump of PostgreSQL's tables."""
    url = make_url(rollout.settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return b"".join(p.read_bytes() for p in Path(url.database).parent.glob("rollout.db*"))
    with rollout.engine.connect() as connection:
        rows = [connection.execute(text(f"SELECT * FROM {t}")).all()
                for t in ("processed_events", "conversations", "interactions")]
    return repr(rows).encode()


@pytest.mark.parametrize("kind", list(SECRETS))
def test_a_secret_in_a_message_gets_a_warning_and_is_never_stored_or_logged(rollout, kind, caplog):
    caplog.set_level(logging.DEBUG)
    secret = SECRETS[kind]
    rollout.dm(f"is it ok that I pasted {secret} into copilot?")

    [warning] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    text_shown = section_texts(warning.params["blocks"])
    assert all(step in text_shown for step in ("Delete the message now", "Rotate or revoke", "/rollout incident"))
    assert secret not in json.dumps(warning.params)
    assert secret.encode() not in database_bytes(rollout)
    assert secret not in caplog.text
    assert rollout.rows(Conversation) == []


def test_a_secret_in_a_channel_is_warned_about_only_to_its_author(rollout_on_each_db):
    rollout = rollout_on_each_db
    rollout.mention(f"our key is {SECRETS['aws_access_key_id']}, can copilot use it?", channel="C0POLICY")

    [warning] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    assert (warning.params["channel"], warning.params["user"]) == ("C0POLICY", "U0ALICE")
    assert rollout.posts() == []
    assert SECRETS["aws_access_key_id"].encode() not in database_bytes(rollout)


def test_a_secret_in_a_slash_command_is_warned_about_and_not_stored(rollout):
    reply = rollout.sender.command(text=f"can copilot use {SECRETS['password']}?",
                                   response_url=rollout.slack.response_url("cmd-secret"))

    [warning] = rollout.slack.wait_for("response_url")
    rollout.settle()
    assert reply.status == 200 and SECRETS["password"] not in reply.body
    assert "Delete the message now" in section_texts(warning.params["blocks"])
    assert rollout.rows(Conversation) == [] and SECRETS["password"].encode() not in database_bytes(rollout)


def test_personal_data_in_a_question_is_redacted_before_it_is_stored(rollout_on_each_db):
    rollout = rollout_on_each_db
    rollout.dm("Can I paste jane.doe@example.com and +44 7700 900123 into Kestrel Copilot?")

    rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    [conversation] = rollout.rows(Conversation)
    assert "jane.doe@example.com" not in conversation.question and "[EMAIL]" in conversation.question
    assert "7700 900123" not in conversation.question and "[PHONE]" in conversation.question


def test_tokens_and_the_signing_secret_never_reach_the_logs(rollout, caplog):
    caplog.set_level(logging.DEBUG)
    rollout.dm(ANSWERABLE)
    rollout.sender.command(text="help")
    rollout.slack.wait_for("chat.postMessage")
    rollout.settle()

    assert "Sending a request" in caplog.text  # slack_sdk's debug logging was on
    for credential in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert credential not in caplog.text


def test_a_40000_character_message_gets_a_friendly_refusal_and_the_server_stays_healthy(rollout):
    _, reply = rollout.dm("Can I use Copilot for this? " + "x" * 39_972)

    [notice] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert reply.status == 200
    assert "40,000 characters long" in section_texts(notice.params["blocks"])
    assert rollout.healthz() == 200
    assert rollout.rows(Conversation) == []
    assert len(rollout.rows(ProcessedEvent)) == 1


def _malformed() -> dict[str, tuple[str, str]]:
    return {
        "invalid JSON": ("{not json", JSON),
        "JSON that is not an object": ("[1, 2, 3]", JSON),
        "a JSON string": ('"event_callback"', JSON),
        "bytes that are not UTF-8": ("\udcff\udcfe", JSON),
        "an envelope without an event": (json.dumps({"type": "event_callback", "event_id": "Ev1"}), JSON),
        "an event without a type": (json.dumps(event_callback({"text": "hi"})), JSON),
        "a form with an invalid payload": (urlencode({"payload": "{nope"}), FORM),
        "a payload without a type": (urlencode({"payload": json.dumps({"actions": []})}), FORM),
        "a button click without actions": (urlencode({"payload": json.dumps(
            {**block_actions("feedback_helpful"), "actions": []})}), FORM),
        "a button click with a strange value": (urlencode({"payload": json.dumps(
            block_actions("feedback_helpful", value="DROP TABLE"))}), FORM),
        "a command without fields": (urlencode({"command": "/rollout"}), FORM),
        "an empty body": ("", FORM),
    }


@pytest.mark.parametrize("kind", list(_malformed()))
def test_malformed_signed_requests_never_get_a_5xx(rollout, kind):
    body, content_type = _malformed()[kind]
    raw = body.encode("utf-8", "surrogateescape")
    headers = {"Content-Type": content_type, **sign(raw.decode("latin-1"), SIGNING_SECRET)}

    reply = _post_bytes(rollout.sender, raw, headers)
    rollout.settle()

    assert reply < 500
    assert rollout.healthz() == 200


def test_unsigned_forged_and_oversized_requests_are_refused_without_a_5xx(rollout):
    event = event_callback(message_event(ANSWERABLE, channel="D0ALICE", channel_type="im"))
    forged = SlackSender(rollout.server.url, "not-the-signing-secret").event(event["event"])
    unsigned = rollout.sender.raw(json.dumps(event), {"Content-Type": JSON})
    stale = rollout.sender.raw(json.dumps(event), {"Content-Type": JSON,
                                                   **sign(json.dumps(event), SIGNING_SECRET, timestamp=1_600_000_000)})
    huge = rollout.sender.post(json.dumps({**event, "padding": "x" * 8_000_000}), JSON)
    not_json = rollout.sender.raw("{garbage", {"Content-Type": JSON})
    signed = sign(json.dumps(event), SIGNING_SECRET)
    odd_times = [rollout.sender.raw(json.dumps(event), {"Content-Type": JSON, **signed,
                                                        "X-Slack-Request-Timestamp": bad})
                 for bad in ("soon", "1.5e9", "", "-1", "12a", "9" * 5000)]
    command = rollout.sender.raw("command=%2Frollout&text=hi", {"Content-Type": "application/x-www-form-urlencoded",
                                                                 "X-Slack-Request-Timestamp": "abc",
                                                                 "X-Slack-Signature": "v0=00"})

    assert [r.status for r in (forged, unsigned, stale, *odd_times, command)] == [401] * 10
    assert (huge.status, not_json.status) == (413, 400)
    latin1 = rollout.sender.raw(json.dumps(event), {"Content-Type": JSON, **signed, "X-Slack-Retry-Reason": "\u00b2"})
    assert latin1.status == 400  # a header that is not UTF-8 is a malformed request, not a 500
    rollout.settle()
    assert rollout.slack.calls_to("chat.postMessage") == [] and rollout.healthz() == 200


def test_url_verification_and_unknown_paths(rollout):
    assert rollout.sender.url_verification("xyz")[:2] == (200, '{"challenge": "xyz"}')
    elsewhere = SlackSender(rollout.server.url, SIGNING_SECRET, path="/admin").event({"type": "app_mention"})
    assert elsewhere.status == 404


def _post_bytes(sender: SlackSender, body: bytes, headers: dict) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(sender.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_modal_whose_submission_fails_stays_open_with_an_error_and_a_reference(rollout, caplog):
    with rollout.engine.begin() as connection:  # the database loses the table the survey is stored in
        connection.execute(text("DROP TABLE survey_responses"))
    values = {"ease": {"ease": {"type": "number_input", "value": "4"}},
              "usefulness": {"usefulness": {"type": "number_input", "value": "5"}},
              "saved_time": {"saved_time": {"selected_option": {"value": "yes"}}},
              "team": {"team": {"selected_option": {"value": "sales"}}}}
    blocks = [{"type": "input", "block_id": block, "label": {"type": "plain_text", "text": block},
               "element": {"type": "plain_text_input", "action_id": block}} for block in values]

    with caplog.at_level(logging.ERROR, logger="bot.slack.app"):
        reply = rollout.sender.view_submission(SURVEY_MODAL, values, blocks=blocks)

    body = json.loads(reply.body)
    assert reply.status == 200 and body["response_action"] == "errors"  # never an empty 200: the modal stays open
    [(field, message)] = body["errors"].items()
    assert field == "ease" and "something went wrong on my side" in message
    reference = message.split("reference ")[1].split(")")[0]
    assert any(reference in record.getMessage() for record in caplog.records)  # the logs can be searched for it
