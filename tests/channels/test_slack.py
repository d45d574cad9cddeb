"""Channel settings and private answers through signed requests and the fake Slack (issue 15)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import text

from bot.answering.blocks import SHARE_ANSWER
from bot.answering.channel_blocks import EDIT_CHANNEL, PICK_CHANNEL, SETTINGS_MODAL
from bot.answering.channel_store import SharedAnswer
from bot.feedback.store import AnswerRating
from bot.helpdesk.tables import Ticket
from bot.store import Conversation
from bot.store.models import Interaction
from tests.channels.conftest import ADMIN, ASKER, HELPDESK, OTHER, POLICY, TEAM_HELPDESK
from tests.fakes.payloads import BOT_USER_ID, message_event, new_ts, view_submission
from tests.scenario.conftest import ANSWERABLE, UNANSWERABLE, ack_json, action_ids, button_value, section_texts

SETTINGS = {"answer_mode": {"answer_mode": {"type": "static_select", "selected_option": {"value": "mention"}}},
            "private_answers": {"private_answers": {"type": "checkboxes", "selected_options": [{"value": "private"}]}},
            "audience": {"audience": {"type": "plain_text_input", "value": "pilot, engineering"}},
            "escalate_to": {"escalate_to": {"type": "conversations_select", "selected_conversation": None}}}


def configure(rollout, channel=POLICY, **settings):
    """As `rollout channels set` does, through the running process's own service."""
    return rollout.runtime.channels.change(channel, ADMIN, **settings)


def private_answer(rollout):
    """An answer to ASKER's mention in POLICY, a channel with private answers: the ephemeral post."""
    configure(rollout, private_answers=True)
    rollout.mention(ANSWERABLE, channel=POLICY)
    [private] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    return private


def press_share(rollout, private, user: str, response_id: str) -> None:
    """`user` presses *Share in channel* under the private answer."""
    rollout.sender.block_action(SHARE_ANSWER, button_value(private.params["blocks"], SHARE_ANSWER), user_id=user,
                                channel_id=POLICY, ephemeral=True, response_url=rollout.slack.response_url(response_id))


# -- answer mode off ------------------------------------------------------------------------------------------------

def test_in_a_channel_with_answers_off_a_mention_gets_a_private_note_and_nothing_is_answered(rollout):
    configure(rollout, answer_mode="off")
    event, reply = rollout.mention(ANSWERABLE, channel=POLICY)
    rollout.sender.event(event, retry_num=1, retry_reason="http_timeout")  # Slack's retry: still one note

    [note] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    assert reply.status == 200
    assert (note.params["channel"], note.params["user"], note.params["thread_ts"]) == (POLICY, ASKER, event["ts"])
    assert "Answers are turned off in this channel" in note.params["text"]
    assert rollout.posts() == [] and rollout.rows(Conversation) == []
    assert len(rollout.slack.calls_to("chat.postEphemeral")) == 1

    rollout.dm(ANSWERABLE)  # a DM is still answered
    rollout.slack.wait_for("chat.postMessage")


def test_in_a_channel_with_answers_off_rollout_says_so_privately(rollout):
    configure(rollout, answer_mode="off")
    reply = rollout.sender.command(text=ANSWERABLE, channel_id=POLICY, response_url=rollout.slack.response_url("x"))
    rollout.settle()
    assert reply.status == 200 and "Answers are turned off" in ack_json(reply)["text"]
    assert rollout.rows(Conversation) == [] and rollout.slack.calls_to("response_url") == []


# -- private answers and Share --------------------------------------------------------------------------------------

def test_a_private_answer_is_shared_in_the_thread_once_however_often_share_is_pressed(rollout_on_each_db):
    rollout = rollout_on_each_db
    configure(rollout, private_answers=True)
    event, _ = rollout.mention(ANSWERABLE, channel=POLICY)

    [private] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    assert (private.params["channel"], private.params["user"], private.params["thread_ts"]) == (
        POLICY, ASKER, event["ts"])
    assert "Data Protection Officer" in section_texts(private.params["blocks"])
    assert action_ids(private.params["blocks"])[:4] == [
        "feedback_helpful", "feedback_not_helpful", "escalate", SHARE_ANSWER]
    assert rollout.posts() == []  # nothing in the channel yet
    [conversation] = rollout.rows(Conversation)
    assert conversation.private and conversation.reply_ts is None

    value = button_value(private.params["blocks"], SHARE_ANSWER)
    clicks = [threading.Thread(target=rollout.sender.block_action, args=(SHARE_ANSWER, value), kwargs=dict(
        user_id=ASKER, channel_id=POLICY, ephemeral=True, response_url=rollout.slack.response_url(f"s{n}")))
        for n in range(3)]  # a double click and Slack's retry, at once
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    [shared] = rollout.slack.wait_for("chat.postMessage")
    rollout.slack.wait_for("response_url", count=3)
    rollout.settle()

    assert (shared.params["channel"], shared.params["thread_ts"]) == (POLICY, event["ts"])
    assert shared.params["blocks"][0]["block_id"] == "shared_by"
    assert f"<@{ASKER}> shared an answer" in section_texts(shared.params["blocks"])
    assert "Data Protection Officer" in section_texts(shared.params["blocks"])
    assert SHARE_ANSWER not in action_ids(shared.params["blocks"])
    assert len(rollout.posts()) == 1
    [share] = rollout.rows(SharedAnswer)
    assert (share.conversation_id, share.shared_by, share.posted_ts) == (conversation.id, ASKER,
                                                                          shared.response["ts"])
    assert rollout.rows(Conversation)[0].reply_ts == shared.response["ts"]
    replies = [c.params for c in rollout.slack.calls_to("response_url")]
    assert sum(bool(r.get("replace_original")) for r in replies) == 1  # the private copy became a note, once
    assert rollout.slack.violations == []


def test_only_the_asker_can_share_their_answer(rollout):
    private = private_answer(rollout)
    press_share(rollout, private, OTHER, "x")
    [refusal] = rollout.slack.wait_for("response_url")
    rollout.settle()
    assert "Only the person who asked" in refusal.params["text"] and rollout.posts() == []


def test_a_rollout_answer_is_private_with_share_which_posts_it_in_the_channel_with_the_question(rollout):
    rollout.sender.command(text=ANSWERABLE, channel_id=POLICY, response_url=rollout.slack.response_url("cmd"))
    [answer] = rollout.slack.wait_for("response_url")
    rollout.settle()
    assert SHARE_ANSWER in action_ids(answer.params["blocks"])
    assert rollout.rows(Conversation)[0].private

    rollout.sender.block_action(SHARE_ANSWER, button_value(answer.params["blocks"], SHARE_ANSWER), user_id=ASKER,
                                channel_id=POLICY, ephemeral=True, response_url=rollout.slack.response_url("s"))
    [shared] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert shared.params["channel"] == POLICY and not shared.params.get("thread_ts")
    first = section_texts(shared.params["blocks"][:1])
    assert f"<@{ASKER}>" in first and "When does the DPO" in first


def test_a_rollout_answer_in_a_dm_has_no_share_button(rollout):
    rollout.sender.command(text=ANSWERABLE, channel_id="D0ALICE", response_url=rollout.slack.response_url("dm"))
    [answer] = rollout.slack.wait_for("response_url")
    rollout.settle()
    assert SHARE_ANSWER not in action_ids(answer.params["blocks"])


def test_votes_count_on_private_and_shared_answers_alike(rollout):
    private = private_answer(rollout)
    value = button_value(private.params["blocks"], "feedback_helpful")
    rollout.sender.block_action("feedback_helpful", value, user_id=ASKER, channel_id=POLICY, ephemeral=True,
                                response_url=rollout.slack.response_url("v1"))
    rollout.sender.block_action(SHARE_ANSWER, value, user_id=ASKER, channel_id=POLICY, ephemeral=True,
                                response_url=rollout.slack.response_url("s1"))
    [shared] = rollout.slack.wait_for("chat.postMessage")
    rollout.sender.block_action("feedback_not_helpful", button_value(shared.params["blocks"], "feedback_not_helpful"),
                                user_id=OTHER, channel_id=POLICY, message_ts=shared.response["ts"],
                                blocks=shared.params["blocks"], response_url=rollout.slack.response_url("v2"))
    rollout.slack.wait_for("response_url", count=3)
    rollout.settle()
    assert sorted((r.user_id, r.vote) for r in rollout.rows(AnswerRating)) == [
        (ASKER, "helpful"), (OTHER, "not_helpful")]


def test_a_private_answer_escalates_to_the_channels_own_helpdesk_and_is_followed_up_in_a_dm(rollout):
    configure(rollout, private_answers=True, escalate_to=TEAM_HELPDESK)
    event, _ = rollout.mention(ANSWERABLE, channel=POLICY)
    [private] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    reply = rollout.sender.block_action("escalate", button_value(private.params["blocks"], "escalate"),
                                        user_id=ASKER, channel_id=POLICY, ephemeral=True,
                                        response_url=rollout.slack.response_url("e"))
    assert (reply.status, reply.body) == (200, "")
    rollout.slack.wait_for("chat.postMessage", count=2)
    rollout.settle()
    [ticket] = rollout.rows(Ticket)
    assert ticket.helpdesk_channel == TEAM_HELPDESK and rollout.posts(channel=HELPDESK) == []
    [follow_up] = [p for p in rollout.posts() if p.params["channel"] != TEAM_HELPDESK]
    assert follow_up.params["channel"].startswith("D") and follow_up.params.get("thread_ts") is None
    assert rollout.posts(channel=POLICY) == []  # nothing about it in the channel's thread


def test_ask_a_person_under_a_shared_answer_opens_the_askers_ticket_and_refuses_anyone_else(rollout):
    private = private_answer(rollout)
    press_share(rollout, private, ASKER, "s")
    [shared] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    [conversation] = rollout.rows(Conversation)

    def ask_a_person(user):
        reply = rollout.sender.block_action("escalate", button_value(shared.params["blocks"], "escalate"),
                                            user_id=user, channel_id=POLICY, message_ts=shared.response["ts"],
                                            blocks=shared.params["blocks"], response_url=rollout.slack.response_url(user))
        assert (reply.status, reply.body) == (200, "")
        rollout.settle()

    def refusals():
        return [c.params for c in rollout.slack.calls_to("chat.postEphemeral") if c.params["user"] == OTHER]

    ask_a_person(OTHER)  # someone in the channel reads the shared answer and presses Ask a person
    [refusal] = refusals()
    assert refusal["channel"] == POLICY and "Only the person who asked this question" in refusal["text"]
    assert "/rollout help-me" in refusal["text"]  # how to get a ticket of their own
    assert rollout.rows(Ticket) == [] and rollout.posts(channel=HELPDESK) == []
    assert rollout.rows(Interaction) == []

    ask_a_person(ASKER)
    [ticket_post] = rollout.posts(channel=HELPDESK)
    [ticket] = rollout.rows(Ticket)
    assert (ticket.user_id, ticket.conversation_id, ticket.helpdesk_ts) == (ASKER, conversation.id,
                                                                           ticket_post.response["ts"])
    assert ticket.asker_channel.startswith("D")  # followed up in a DM, as for any private answer
    assert [p.params["channel"] for p in rollout.posts() if p.params["channel"].startswith("D")] == [
        ticket.asker_channel]  # the asker is told it is with the helpdesk
    assert [(i.user_id, i.action) for i in rollout.rows(Interaction)] == [(ASKER, "escalate")]
    assert rollout.posts(channel=POLICY) == [shared]  # nothing about the ticket in the channel's thread

    ask_a_person(OTHER)  # pressing again once the ticket exists: still theirs alone, and nothing about it shown
    assert len(refusals()) == 2 and "ticket #" not in refusals()[-1]["text"]
    assert len(rollout.rows(Ticket)) == 1 and len(rollout.posts(channel=HELPDESK)) == 1
    assert rollout.slack.violations == []


def test_help_me_from_a_channel_goes_to_its_own_helpdesk(rollout):
    configure(rollout, escalate_to=TEAM_HELPDESK)
    rollout.sender.command(text="help-me my Copilot licence is missing", channel_id=POLICY,
                           response_url=rollout.slack.response_url("h"))
    [posted] = rollout.slack.wait_for("chat.postMessage", predicate=lambda c: c.params["channel"] == TEAM_HELPDESK)
    rollout.settle()
    assert "Copilot licence" in str(posted.params)


# -- answer mode auto -----------------------------------------------------------------------------------------------

def channel_message(rollout, text, channel=POLICY, **fields):
    event = message_event(text, channel=channel, **fields)
    return event, rollout.deliver(event)


def test_auto_answers_top_level_questions_it_can_answer_and_nothing_else(rollout):
    configure(rollout, answer_mode="auto")
    asked, _ = channel_message(rollout, "when does the DPO have to be told if an AI incident involves personal data")
    channel_message(rollout, "thanks everyone, the session yesterday was great")  # chatter
    channel_message(rollout, UNANSWERABLE)  # a question the documents don't answer: silence
    channel_message(rollout, ANSWERABLE, thread_ts=asked["ts"])  # a thread it was not asked in
    channel_message(rollout, ANSWERABLE, channel="C0ELSEWHERE")  # a channel in mention mode

    [answer] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert (answer.params["channel"], answer.params["thread_ts"]) == (POLICY, asked["ts"])
    assert "Data Protection Officer" in section_texts(answer.params["blocks"])
    assert len(rollout.posts()) == 1 and rollout.slack.calls_to("chat.postEphemeral") == []
    assert rollout.slack.calls_to("reactions.add") == []  # no 👀 on messages that may get no answer
    [conversation] = rollout.rows(Conversation)
    assert conversation.source == "auto" and conversation.answered


def test_a_mention_in_an_auto_channel_is_answered_once(rollout):
    configure(rollout, answer_mode="auto")
    event, _ = rollout.mention(ANSWERABLE, channel=POLICY)
    rollout.deliver({**event, "type": "message", "channel_type": "channel"})  # Slack sends both events
    rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert len(rollout.posts()) == 1 and rollout.rows(Conversation)[0].source == "mention"


def test_auto_with_private_answers_answers_the_asker_alone(rollout):
    configure(rollout, answer_mode="auto", private_answers=True)
    channel_message(rollout, ANSWERABLE)
    [private] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    assert private.params["user"] == ASKER and SHARE_ANSWER in action_ids(private.params["blocks"])
    assert rollout.posts() == []


def test_a_secret_in_an_auto_channel_is_warned_about_privately(rollout):
    configure(rollout, answer_mode="auto")
    channel_message(rollout, "can I paste AKIAIOSFODNN7EXAMPLE into ChatGPT?")
    [warning] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    assert warning.params["user"] == ASKER and rollout.posts() == [] and rollout.rows(Conversation) == []


# -- /rollout settings ----------------------------------------------------------------------------------------------

def test_rollout_settings_is_for_admins_only(rollout):
    reply = rollout.sender.command(text="settings", user_id=ASKER, channel_id=POLICY)
    assert reply.status == 200 and "Only Rollout admins" in ack_json(reply)["text"]
    assert rollout.slack.calls_to("views.open") == []
    refused = rollout.sender.view_submission(SETTINGS_MODAL, {}, user_id=ASKER, private_metadata=POLICY)
    assert "Only Rollout admins" in str(ack_json(refused)) and rollout.runtime.channels.store.all() == []


def test_the_settings_modal_opens_with_the_stored_settings_and_saves_for_every_process(start, sqlite_url):
    first, second = start(sqlite_url), start(sqlite_url)
    configure(first, audience="pilot")
    assert first.sender.command(text="settings", user_id=ADMIN, channel_id=POLICY).status == 200
    [opened] = first.slack.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == SETTINGS_MODAL and view["private_metadata"] == POLICY
    audience = next(b for b in view["blocks"] if b["block_id"] == "audience")
    assert audience["element"]["initial_value"] == "pilot"

    values = SETTINGS
    bad = first.sender.view_submission(SETTINGS_MODAL, {**values, "audience": {"audience": {
        "type": "plain_text_input", "value": "<!channel>"}}}, user_id=ADMIN, private_metadata=POLICY)
    assert "audience" in ack_json(bad)["errors"]
    saved = first.sender.view_submission(SETTINGS_MODAL, values, user_id=ADMIN, private_metadata=POLICY)
    assert (saved.status, saved.body) == (200, "")
    [confirmation] = first.slack.wait_for("chat.postEphemeral")
    assert confirmation.params["user"] == ADMIN and "Saved the settings" in confirmation.params["text"]

    second.mention(ANSWERABLE, channel=POLICY)  # the other process answers as the new settings say
    second.slack.wait_for("chat.postEphemeral", count=2)
    second.settle()
    assert second.posts() == [] and second.rows(Conversation)[0].private
    assert second.runtime.channels.audiences_for_channel(POLICY) == ["pilot", "engineering"]


def test_a_settings_modal_slack_does_not_open_is_owned_up_to_in_the_ack(rollout):
    """The modal opens before the ack (its trigger_id lasts 3 seconds), so a failure can still be said in the ack."""
    rollout.slack.refuse_next("views.open", "expired_trigger_id")

    reply = rollout.sender.command(text="settings", user_id=ADMIN, channel_id=POLICY)

    assert reply.status == 200 and "something went wrong on my side (reference" in ack_json(reply)["text"]


def test_a_settings_submission_slack_sends_again_is_saved_and_confirmed_once(rollout):
    submission = view_submission(SETTINGS_MODAL, SETTINGS, user_id=ADMIN, private_metadata=POLICY)
    for _ in range(2):  # the same view id and hash: Slack's retry, or a double submit
        reply = rollout.sender.action(submission)
        assert (reply.status, reply.body) == (200, "")
    rollout.settle()

    [confirmation] = rollout.slack.calls_to("chat.postEphemeral")
    assert confirmation.params["user"] == ADMIN and "Saved the settings" in confirmation.params["text"]
    saved = rollout.runtime.channels.settings(POLICY)
    assert (saved.answer_mode, saved.private_answers, saved.audience) == ("mention", True, ("pilot", "engineering"))


def test_a_settings_submission_that_cannot_be_recorded_keeps_the_modal_open_saying_so(rollout):
    with rollout.engine.begin() as connection:  # acked work is recorded in this table
        connection.execute(text("DROP TABLE processed_events"))

    refused = rollout.sender.view_submission(SETTINGS_MODAL, SETTINGS, user_id=ADMIN, private_metadata=POLICY)

    assert "couldn't take these settings" in ack_json(refused)["errors"]["answer_mode"]
    assert rollout.runtime.channels.store.all() == [] and rollout.slack.calls_to("chat.postEphemeral") == []


def open_home(rollout, user) -> list[dict]:
    """The user opens the App Home tab; the blocks published for them."""
    before = len(rollout.slack.calls_to("views.publish"))
    rollout.sender.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                          "event_ts": new_ts()})
    return home_published(rollout, before + 1)


def home_published(rollout, count) -> list[dict]:
    """The blocks of the `count`-th App Home published (waiting for it)."""
    return rollout.slack.wait_for("views.publish", count=count)[count - 1].params["view"]["blocks"]


def block(blocks, block_id) -> dict:
    return next(b for b in blocks if b["block_id"] == block_id)


SETTINGS_VALUES = {
    "answer_mode": {"answer_mode": {"type": "static_select", "selected_option": {"value": "auto"}}},
    "private_answers": {"private_answers": {"type": "checkboxes", "selected_options": []}},
    "audience": {"audience": {"type": "plain_text_input", "value": "pilot"}},
    "escalate_to": {"escalate_to": {"type": "conversations_select", "selected_conversation": TEAM_HELPDESK}}}


def test_admins_see_channel_settings_in_the_app_home_with_edit_and_a_channel_picker(rollout):
    configure(rollout, answer_mode="auto", escalate_to=TEAM_HELPDESK)
    admin, asker = open_home(rollout, ADMIN), open_home(rollout, ASKER)

    row = block(admin, f"home_channel_{POLICY}")
    text = row["text"]["text"]
    assert f"<#{POLICY}>" in text and "every question (auto)" in text and f"<#{TEAM_HELPDESK}>" in text
    assert (row["accessory"]["action_id"], row["accessory"]["value"]) == (EDIT_CHANNEL, POLICY)
    [picker] = block(admin, "home_channel_pick")["elements"]
    assert picker["type"] == "conversations_select" and picker["action_id"] == PICK_CHANNEL
    assert "default_to_current_conversation" not in picker and picker["filter"]["include"] == ["public", "private"]
    assert not {"home_channels", "home_channel_pick", f"home_channel_{POLICY}"} & {b["block_id"] for b in asker}
    assert BOT_USER_ID not in str(admin) and rollout.slack.violations == []


def test_edit_in_the_app_home_opens_the_settings_modal_whose_save_refreshes_the_home(rollout):
    configure(rollout, audience="engineering")
    open_home(rollout, ADMIN)
    assert rollout.sender.home_action(EDIT_CHANNEL, user_id=ADMIN, value=POLICY).status == 200
    [opened] = rollout.slack.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == SETTINGS_MODAL and view["private_metadata"].split()[0] == POLICY
    assert block(view["blocks"], "audience")["element"]["initial_value"] == "engineering"

    bad = rollout.sender.view_submission(SETTINGS_MODAL, {**SETTINGS_VALUES, "audience": {"audience": {
        "type": "plain_text_input", "value": "<!channel>"}}}, user_id=ADMIN, private_metadata=view["private_metadata"])
    assert "audience" in ack_json(bad)["errors"]  # the same validation as from the channel
    saved = rollout.sender.view_submission(SETTINGS_MODAL, SETTINGS_VALUES, user_id=ADMIN,
                                           private_metadata=view["private_metadata"])
    assert (saved.status, saved.body) == (200, "")
    home = home_published(rollout, 2)
    rollout.settle()
    text = block(home, f"home_channel_{POLICY}")["text"]["text"]
    assert "every question (auto)" in text and "audience pilot" in text and f"<#{TEAM_HELPDESK}>" in text
    stored = rollout.runtime.channels.settings(POLICY)
    assert (stored.answer_mode, stored.audience, stored.escalate_to, stored.updated_by) == (
        "auto", ("pilot",), TEAM_HELPDESK, ADMIN)
    assert rollout.slack.calls_to("chat.postEphemeral") == []  # the admin may not be in the channel: Home shows it
    assert rollout.slack.violations == []


def test_an_admin_picks_a_channel_not_yet_set_up_in_the_app_home_and_configures_it(rollout):
    open_home(rollout, ADMIN)
    rollout.sender.home_action(PICK_CHANNEL, user_id=ADMIN, selected_conversation="C0NEWTEAM")
    [opened] = rollout.slack.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == SETTINGS_MODAL and view["private_metadata"].split()[0] == "C0NEWTEAM"
    assert block(view["blocks"], "answer_mode")["element"]["initial_option"]["value"] == "mention"

    rollout.sender.view_submission(SETTINGS_MODAL, SETTINGS_VALUES, user_id=ADMIN,
                                   private_metadata=view["private_metadata"])
    home = home_published(rollout, 2)
    rollout.settle()
    assert "every question (auto)" in block(home, "home_channel_C0NEWTEAM")["text"]["text"]
    assert [s.channel_id for s in rollout.runtime.channels.store.all()] == ["C0NEWTEAM"]


def test_someone_not_an_admin_using_the_home_controls_is_told_who_can_and_nothing_opens(rollout):
    configure(rollout, answer_mode="auto")
    rollout.sender.home_action(EDIT_CHANNEL, user_id=ASKER, value=POLICY)  # a Home published while they were admin
    rollout.sender.home_action(PICK_CHANNEL, user_id=ASKER, selected_conversation="C0NEWTEAM")
    told = rollout.slack.wait_for("chat.postMessage", count=2)
    home = home_published(rollout, 2)
    rollout.settle()
    assert {c.params["channel"] for c in told} == {ASKER}
    assert all("Only Rollout admins can change channel settings" in c.params["text"] and f"<@{ADMIN}>" in
               c.params["text"] for c in told)
    assert rollout.slack.calls_to("views.open") == []
    assert "home_channel_pick" not in {b["block_id"] for b in home}  # their Home, without the admin part
    assert rollout.runtime.channels.settings(POLICY).answer_mode == "auto"


def test_picking_a_direct_message_in_the_app_home_is_explained(rollout):
    rollout.sender.home_action(PICK_CHANNEL, user_id=ADMIN, selected_conversation="D0ALICE")
    [told] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert told.params["channel"] == ADMIN and "pick a public or private channel" in told.params["text"]
    assert rollout.slack.calls_to("views.open") == []


def test_a_share_slack_refuses_is_not_recorded_and_pressing_again_posts_it(rollout):
    private = private_answer(rollout)
    value = button_value(private.params["blocks"], SHARE_ANSWER)
    rollout.slack.fail_next("chat.postMessage", times=2, status=500)  # the post, and the re-post after the check

    rollout.sender.block_action(SHARE_ANSWER, value, user_id=ASKER, channel_id=POLICY, ephemeral=True,
                                response_url=rollout.slack.response_url("s1"))
    [sorry] = rollout.slack.wait_for("response_url")
    rollout.settle()
    assert "couldn't share the answer" in sorry.params["text"] and "Nothing was posted" in sorry.params["text"]
    assert rollout.posts() == [] and rollout.rows(SharedAnswer) == []

    rollout.sender.block_action(SHARE_ANSWER, value, user_id=ASKER, channel_id=POLICY, ephemeral=True,
                                response_url=rollout.slack.response_url("s2"))
    rollout.slack.wait_for("response_url", count=2)
    rollout.settle()
    assert len(rollout.posts(channel=POLICY)) == 1 and rollout.rows(SharedAnswer)[0].posted_ts


def test_a_mention_whose_channel_settings_cannot_be_read_gets_an_apology(rollout):
    with rollout.engine.begin() as connection:  # the database lost the table
        connection.exec_driver_sql("DROP TABLE channel_settings")
    rollout.mention(ANSWERABLE, channel=POLICY)
    [sorry] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    assert sorry.params["user"] == ASKER and "something went wrong on my side" in sorry.params["text"]
    assert rollout.posts() == []


# -- audience -------------------------------------------------------------------------------------------------------

def test_in_a_channel_whose_audience_is_pilot_everyone_is_answered_with_the_pilot_rule(rollout):
    retention = "How long are prompts and responses stored?"
    configure(rollout, audience=["pilot"])
    rollout.mention(retention, channel=POLICY, user=OTHER)  # not in the pilot cohort
    rollout.mention(retention, channel="C0ELSEWHERE", user=OTHER)
    posts = rollout.slack.wait_for("chat.postMessage", count=2)
    rollout.settle()
    texts = {p.params["channel"]: section_texts(p.params["blocks"]) for p in posts}
    assert "*As a pilot participant:*" in texts[POLICY] and "kept for 90 days" in texts[POLICY]
    assert "kept for 30 days" in texts["C0ELSEWHERE"] and "pilot participants" not in texts["C0ELSEWHERE"]


def test_settings_saved_by_another_process_apply_to_the_next_question(rollout_on_each_db, tmp_path):
    """`rollout channels set` in its own process, against the running server's database: the server's next mention
    in that channel follows the new setting, with nothing restarted or cached."""
    rollout = rollout_on_each_db
    env = {**os.environ, "DATABASE_URL": rollout.settings.resolved_database_url,
           "ROLLOUT_DATA_DIR": str(tmp_path / "cli-data"), "SLACK_BOT_TOKEN": ""}
    done = subprocess.run([str(Path(sys.executable).with_name("rollout")), "channels", "set", POLICY,
                           "--answer-mode", "off"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rollout.mention(ANSWERABLE, channel=POLICY)
    [note] = rollout.slack.wait_for("chat.postEphemeral")
    rollout.settle()
    assert "Answers are turned off in this channel" in note.params["text"] and rollout.posts() == []
