"""Slack payloads in the product's terms: which messages are questions, and their text as people wrote it."""
from __future__ import annotations

import pytest

from bot.slack.parsing import is_from_a_person, message_question, plain_text


@pytest.mark.parametrize("raw, read", [
    ("<@UBOT> can I use Copilot?", "can I use Copilot?"),
    ("<@UBOT|rollout> ask <@U0BOB> about it", "ask @U0BOB about it"),
    ("see <https://intranet.example/p|the policy> &amp; <https://x.example>",
     "see the policy (https://intranet.example/p) & https://x.example"),  # where a link goes is never hidden
    ("<https://evil.example|https://sso.example> <https://x.example|x.example>",
     "https://sso.example (https://evil.example) https://x.example"),
    ("in <#C0123|ai-helpdesk> &lt;today&gt;", "in #ai-helpdesk <today>"),
    ("<!here> <!subteam^S1|@pilot-team> help", "@here @pilot-team help"),
])
def test_slack_markup_is_read_as_people_wrote_it(raw, read):
    assert plain_text(raw, "UBOT") == read


def test_only_people_s_new_messages_are_questions():
    person = {"type": "message", "user": "U1", "text": "hi", "ts": "1.1", "channel": "D1", "channel_type": "im"}
    assert is_from_a_person(person, "UBOT")
    assert is_from_a_person({**person, "subtype": "file_share"}, "UBOT")
    for other in ({"bot_id": "B1"}, {"subtype": "message_changed"}, {"subtype": "channel_join"},
                  {"user": "UBOT"}, {"hidden": True}, {"user": None}):
        assert not is_from_a_person({**person, **other}, "UBOT")


def test_a_reply_in_a_thread_is_a_follow_up_answered_in_that_thread():
    event = {"type": "message", "user": "U1", "text": "and contractors?", "ts": "2.2", "thread_ts": "1.1",
             "channel": "D1", "channel_type": "im"}
    question = message_question(event, "UBOT", in_channel=False)
    assert (question.source, question.thread_ts, question.dedupe_key) == ("thread", "1.1", "message:D1:2.2")
