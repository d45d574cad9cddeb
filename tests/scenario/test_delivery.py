"""Correct under Slack's delivery rules: quick acks, retries answered once, ignored noise, 429s and dropped posts."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.answering import blocks
from bot.slack.client import post_once
from bot.store.models import ProcessedEvent
from tests.fakes.payloads import BOT_ID, BOT_USER_ID, app_mention_event, message_event
from tests.fakes.signing import SlackSender
from tests.scenario.conftest import ANSWERABLE, UNANSWERABLE, section_texts


def test_a_retried_event_is_answered_once(rollout):
    event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")
    first = rollout.sender.event(event, event_id="Ev0RETRIED")
    rollout.slack.wait_for("chat.postMessage")
    retries = [rollout.sender.event(event, event_id="Ev0RETRIED", retry_num=n, retry_reason="http_timeout")
               for n in (1, 2, 3)]
    rollout.settle()

    assert [r.status for r in (first, *retries)] == [200] * 4
    assert len(rollout.posts()) == 1


def test_a_retry_reaching_another_process_sharing_the_database_is_answered_once(start_rollout, db_url):
    web_1, web_2 = start_rollout(db_url), start_rollout(db_url)
    event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")

    assert web_1.sender.event(event, event_id="Ev0SHARED").status == 200
    assert web_2.sender.event(event, event_id="Ev0SHARED", retry_num=1, retry_reason="http_timeout").status == 200
    web_1.slack.wait_for("chat.postMessage")
    web_1.settle(), web_2.settle()

    assert len(web_1.posts()) == 1


def test_a_restarted_process_does_not_answer_an_event_again(start_rollout, sqlite_url):
    event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")
    before = start_rollout()
    before.sender.event(event, event_id="Ev0RESTART")
    before.slack.wait_for("chat.postMessage")
    before.stop()

    after = start_rollout()
    after.sender.event(event, event_id="Ev0RESTART", retry_num=1, retry_reason="http_error")
    after.settle()
    assert len(after.posts()) == 1


def test_a_channel_message_announced_as_mention_and_as_message_is_answered_once(rollout):
    mention = app_mention_event(f"<@{BOT_USER_ID}> {ANSWERABLE}", channel="C0POLICY")
    as_message = {**mention, "type": "message", "channel_type": "channel"}

    rollout.sender.event(mention, event_id="Ev0MENTION")
    rollout.sender.event(as_message, event_id="Ev0MESSAGE")
    rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert len(rollout.posts()) == 1


def _ignored_events() -> dict[str, dict]:
    dm = message_event("Can I use Copilot?", channel="D0ALICE", channel_type="im")
    return {
        "another bot": {**dm, "bot_id": "B0OTHER", "subtype": "bot_message"},
        "a bot's plain message": {**dm, "bot_id": "B0OTHER"},
        "the bot itself": {**dm, "user": BOT_USER_ID, "bot_id": BOT_ID},
        "an edit": {**dm, "subtype": "message_changed", "message": {**dm, "text": "edited"}, "user": None},
        "a deletion": {**dm, "subtype": "message_deleted", "previous_message": dm, "user": None},
        "a join": {**message_event("<@U0BOB> has joined the channel", channel="C0POLICY"),
                   "subtype": "channel_join"},
        "a channel message without a mention": message_event("Can I use Copilot?", channel="C0POLICY"),
        "an empty message": message_event("   ", channel="D0ALICE", channel_type="im"),
        "a reaction": {"type": "reaction_added", "user": "U0ALICE", "reaction": "eyes",
                       "item": {"type": "message", "channel": "C0POLICY", "ts": "1.2"}, "event_ts": "1.3"},
    }


@pytest.mark.parametrize("kind", list(_ignored_events()))
def test_bots_edits_deletions_joins_and_other_events_are_acked_and_not_answered(rollout, kind):
    reply = rollout.sender.event(_ignored_events()[kind])
    rollout.settle()

    assert reply.status == 200
    assert [c.method for c in rollout.slack.calls if c.method != "auth.test"] == []


def test_a_rate_limited_post_waits_for_retry_after_and_is_delivered_once(rollout):
    rollout.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    rollout.dm(ANSWERABLE)

    rollout.slack.wait_for("chat.postMessage", count=2)
    rollout.settle()
    limited, delivered = rollout.slack.calls_to("chat.postMessage")
    assert (limited.status, delivered.status) == (429, 200)
    assert delivered.time - limited.time >= 1.0
    assert len(rollout.posts()) == 1
    assert [m["user"] for m in rollout.slack.workspace.messages["DU0ALICE"]].count(BOT_USER_ID) == 1


def test_a_post_whose_connection_dropped_is_checked_and_sent_again_once(rollout):
    rollout.slack.drop_next("chat.postMessage")
    event, _ = rollout.dm(ANSWERABLE)

    rollout.slack.wait_for("chat.postMessage", count=2)
    rollout.settle()
    assert [c.status for c in rollout.slack.calls_to("chat.postMessage")] == [0, 200]
    assert [c.params["ts"] for c in rollout.slack.calls_to("conversations.replies")] == [event["ts"]]
    thread = rollout.slack.workspace.thread("DU0ALICE", event["ts"])
    assert sorted(m["user"] for m in thread) == sorted(["U0ALICE", BOT_USER_ID])


def test_a_dropped_post_that_did_arrive_is_not_sent_again(fake_slack):
    marker = blocks.answer_marker(7)
    message_blocks = [{"type": "section", "block_id": marker, "text": {"type": "mrkdwn", "text": "Answer"}}]
    parent = fake_slack.workspace.add_message("D0ALICE", "question?", user="U0ALICE")
    already = fake_slack.workspace.add_message("D0ALICE", "Answer", thread_ts=parent["ts"], blocks=message_blocks)
    fake_slack.drop_next("chat.postMessage")  # Slack got the post, but its answer never came back

    ts = post_once(fake_slack.client(retry_handlers=[]), channel="D0ALICE", thread_ts=parent["ts"], text="Answer",
                   blocks=message_blocks, marker=marker)

    assert ts == already["ts"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_a_failing_slack_is_logged_with_a_reference_and_the_worker_carries_on(rollout, caplog):
    rollout.slack.fail_next("chat.postMessage", status=400, retry_after=None, times=2)
    rollout.dm(ANSWERABLE)
    rollout.settle()
    rollout.dm(UNANSWERABLE, user="U0BOB")

    rollout.slack.wait_for("chat.postMessage", count=3)
    rollout.settle()
    assert "reference" in caplog.text
    assert "I don't know" in section_texts(rollout.posts()[0].params["blocks"])


def test_a_listener_that_fails_still_acks_and_the_asker_gets_an_apology(rollout, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the worker pool is gone")

    monkeypatch.setattr(rollout.services, "answer_command", broken)
    monkeypatch.setattr(rollout.services, "answer_in_thread", broken)

    command = rollout.sender.command(text=ANSWERABLE)
    _, event = rollout.dm(ANSWERABLE)

    assert (command.status, event.status) == (200, 200)
    assert "something went wrong on my side (reference `" in command.body
    reference = command.body.split("reference `")[1].split("`")[0]
    assert f"reference {reference}" in caplog.text and "the worker pool is gone" in caplog.text


def test_forty_concurrent_askers_are_all_acked_within_3_seconds_and_answered_once(rollout):
    questions = [ANSWERABLE, UNANSWERABLE, "do i really need the yubikey to log into copilot?",
                 "can I turn on github copilot for the KPay repo?"]
    events = [message_event(questions[i % 4], user=f"U0ASKER{i:02d}", channel=f"D0ASKER{i:02d}", channel_type="im")
              for i in range(40)]

    with ThreadPoolExecutor(40) as pool:
        replies = list(pool.map(rollout.sender.event, events))
    rollout.slack.wait_for("chat.postMessage", count=40, timeout=60)
    rollout.settle(60)

    assert all(r.status == 200 for r in replies)
    assert max(r.elapsed for r in replies) < 3
    assert sorted(p.params["channel"] for p in rollout.posts()) == sorted(e["channel"] for e in events)
    assert rollout.slack.violations == []


def test_acks_and_signs_of_work_do_not_wait_for_slow_answers(start_rollout, knowledge_base, monkeypatch):
    rollout = start_rollout(rollout_workers=1)
    real_ask = knowledge_base.ask
    monkeypatch.setattr(knowledge_base, "ask", lambda *a, **kw: (time.sleep(2), real_ask(*a, **kw))[1])

    sent = time.time()
    replies = [rollout.dm(ANSWERABLE, user=f"U0SLOW{i}")[1] for i in range(3)]
    command = rollout.sender.command(text="help")
    reactions = rollout.slack.wait_for("reactions.add", count=3)

    assert max(r.elapsed for r in [*replies, command]) < 0.5
    assert max(c.time for c in reactions) - sent < 1.5  # every asker sees 👀 long before the last answer
    posts = rollout.slack.wait_for("chat.postMessage", count=3, timeout=30)
    rollout.settle(30)
    assert max(p.time for p in posts) - sent > 5.5  # one worker: the answers really did queue


def _slow_listener(rollout, monkeypatch, seconds: float) -> None:
    """Make the DM listener take `seconds` before handing the question on, as a slow dispatch would."""
    hand_on = rollout.services.answer_in_thread
    monkeypatch.setattr(rollout.services, "answer_in_thread", lambda *a, **kw: (time.sleep(seconds), hand_on(*a, **kw)))


def test_an_event_is_acked_once_recorded_and_answered_once_with_its_retries(rollout):
    event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")

    first = rollout.sender.event(event, event_id="Ev0EARLY")
    [recorded] = rollout.rows(ProcessedEvent)  # by the time Slack has its ack, the question is in the database
    retry = rollout.sender.event(event, event_id="Ev0EARLY", retry_num=1, retry_reason="http_timeout")
    rollout.slack.wait_for("chat.postMessage", timeout=20)
    rollout.settle()

    assert (first.status, first.body, retry.status) == (200, "", 200)
    assert recorded.key == f"message:D0ALICE:{event['ts']}" and recorded.payload["question"]["text"] == ANSWERABLE
    assert len(rollout.posts(channel="D0ALICE")) == 1
    [done] = rollout.rows(ProcessedEvent)
    assert (done.status, done.payload) == ("done", None)  # what it needed is forgotten once answered


def test_an_event_with_a_bad_signature_gets_401_and_nothing_is_claimed_shown_or_answered(rollout):
    event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")

    forged = SlackSender(rollout.server.url, "not-the-signing-secret").event(event)
    rollout.settle()

    assert forged.status == 401
    assert rollout.rows(ProcessedEvent) == []
    assert [c.method for c in rollout.slack.calls if c.method != "auth.test"] == []


def test_an_event_acked_just_before_shutdown_is_still_answered(rollout, monkeypatch):
    _slow_listener(rollout, monkeypatch, 0.5)
    event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")

    assert rollout.sender.event(event).status == 200
    rollout.stop()  # as SIGTERM does: uvicorn stops, acked events are dispatched, their answers finished

    assert len(rollout.posts(channel="D0ALICE")) == 1
