"""What employees see: answers to DMs, mentions and /rollout, in the right thread, with sources and buttons."""
from __future__ import annotations

import json

from bot.store import Conversation
from tests.fakes.payloads import BOT_USER_ID, message_event, new_ts
from tests.scenario.conftest import ANSWERABLE, UNANSWERABLE, ack_json, action_ids, button_value, section_texts

BUTTONS = ["feedback_helpful", "feedback_not_helpful", "escalate"]  # first; answers about incidents add a report


def stored(rollout) -> list[Conversation]:
    return rollout.rows(Conversation)


def test_a_direct_message_is_answered_in_its_thread_with_sources_and_buttons(rollout_on_each_db):
    rollout = rollout_on_each_db
    event, reply = rollout.dm(ANSWERABLE)

    [post] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert reply.status == 200 and reply.elapsed < 3
    assert post.params["channel"] == event["channel"] and post.params["thread_ts"] == event["ts"]
    text = section_texts(post.params["blocks"])
    assert "Data Protection Officer" in text and "24 hours" in text
    assert "*Sources*" in text and "<https://intranet.kestrel.example/policies/" in text
    assert action_ids(post.params["blocks"])[:3] == BUTTONS
    assert "**" not in text  # Markdown bold became mrkdwn
    [conversation] = stored(rollout)
    assert (conversation.source, conversation.answered, conversation.reply_ts) == ("dm", True, post.response["ts"])
    assert button_value(post.params["blocks"], "escalate") == str(conversation.id)
    assert rollout.slack.violations == []


def test_a_sign_of_work_shows_while_answering_and_is_taken_down(rollout):
    event, _ = rollout.dm(ANSWERABLE)
    rollout.slack.wait_for("chat.postMessage")
    rollout.settle()

    # Reads of the directory (who the bot is; which user groups an audience names) are not part of what the asker sees,
    # and one list of user groups serves every audience the question is checked against.
    methods = [c.method for c in rollout.slack.calls
               if c.method != "auth.test" and not c.method.startswith("usergroups.")]
    assert methods == ["reactions.add", "chat.postMessage", "reactions.remove"]
    assert len(rollout.slack.calls_to("usergroups.list")) <= 1
    assert rollout.slack.calls_to("reactions.add")[0].params == {
        "channel": event["channel"], "timestamp": event["ts"], "name": "eyes"}
    assert rollout.slack.workspace.reactions == set()


def test_a_mention_in_a_thread_is_answered_in_that_thread_without_the_mention_in_the_question(rollout):
    parent = new_ts()
    event, reply = rollout.mention(ANSWERABLE, channel="C0POLICY", thread_ts=parent)

    [post] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert reply.status == 200
    assert (post.params["channel"], post.params["thread_ts"]) == ("C0POLICY", parent)
    [conversation] = stored(rollout)
    assert conversation.thread_ts == parent and conversation.message_ts == event["ts"]
    assert f"<@{BOT_USER_ID}>" not in conversation.question and conversation.question.startswith("When does")


def test_a_follow_up_in_the_thread_is_read_with_the_earlier_question(rollout):
    first, _ = rollout.dm("whats the deadline for everyone to finish the AI foundations training?")
    rollout.slack.wait_for("chat.postMessage")
    rollout.dm("what about contractors?", thread_ts=first["ts"])
    rollout.dm("what about contractors?")  # the same words in a new conversation have no context

    posts = rollout.slack.wait_for("chat.postMessage", count=3)
    rollout.settle()
    follow_up = next(p for p in posts if p.params["thread_ts"] == first["ts"] and p is not posts[0])
    alone = next(p for p in posts if p.params["thread_ts"] not in (first["ts"],))
    assert "2027-03-31" in section_texts(follow_up.params["blocks"])
    assert action_ids(follow_up.params["blocks"])[:3] == BUTTONS
    # the same words alone are read without the thread's question: another answer (or none)
    assert section_texts(alone.params["blocks"]) != section_texts(follow_up.params["blocks"])
    assert sorted(c.source for c in stored(rollout)) == ["dm", "dm", "thread"]


def test_a_question_the_documents_dont_answer_gets_dont_know_and_the_escalate_button(rollout):
    rollout.dm(UNANSWERABLE)

    [post] = rollout.slack.wait_for("chat.postMessage")
    text = section_texts(post.params["blocks"])
    assert text.startswith("I don't know") and "*You could look at*" not in text  # nothing close: no document named
    assert action_ids(post.params["blocks"]) == ["escalate"]
    rollout.settle()
    assert stored(rollout)[0].answered is False


def test_a_file_share_is_told_files_cant_be_read_yet(rollout):
    event = message_event("", channel="D0ALICE", channel_type="im")
    event.update(subtype="file_share", files=[{"id": "F1", "name": "policy.pdf", "mimetype": "application/pdf"}])
    rollout.sender.event(event)
    captioned = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")
    captioned.update(subtype="file_share", files=[{"id": "F2", "name": "screenshot.png"}])
    rollout.sender.event(captioned)

    posts = rollout.slack.wait_for("chat.postMessage", count=2)
    rollout.settle()
    by_thread = {p.params["thread_ts"]: section_texts(p.params["blocks"]) for p in posts}
    assert "I can't read files yet" in by_thread[event["ts"]]
    assert "I can't read files yet, so I answered from the text" in by_thread[captioned["ts"]]
    assert "Data Protection Officer" in by_thread[captioned["ts"]]
    assert len(stored(rollout)) == 1  # only the question with text is a conversation


def test_slash_command_acks_at_once_and_answers_the_asker_through_the_response_url(rollout):
    reply = rollout.sender.command(text=ANSWERABLE, response_url=rollout.slack.response_url("cmd-1"))

    [answer] = rollout.slack.wait_for("response_url")
    rollout.settle()
    assert reply.status == 200 and "Looking it up" in ack_json(reply)["text"] and reply.elapsed < 3
    assert answer.path == "/response/cmd-1" and answer.params["response_type"] == "ephemeral"
    text = section_texts(answer.params["blocks"])
    assert "*You asked:* When does the DPO" in text and "Data Protection Officer" in text
    assert action_ids(answer.params["blocks"])[:3] == BUTTONS
    [conversation] = stored(rollout)
    assert (conversation.source, conversation.channel_id, conversation.thread_ts) == ("command", "C0GENERAL", None)
    assert rollout.slack.calls_to("chat.postMessage") == [] and rollout.slack.violations == []


def test_slash_command_help_empty_and_unknown_subcommands_explain_what_the_bot_can_do(rollout):
    help_reply = ack_json(rollout.sender.command(text="help"))
    empty_reply = ack_json(rollout.sender.command(text=""))
    unknown_reply = ack_json(rollout.sender.command(text="teleport"))

    for reply in (help_reply, empty_reply, unknown_reply):
        text = section_texts(reply["blocks"])
        assert "direct message" in text and "/rollout help" in text and "20 questions every 5 minutes" in text
    assert "I don't know the command `teleport`" in section_texts(unknown_reply["blocks"])
    assert "I don't know the command" not in section_texts(help_reply["blocks"])
    rollout.settle()
    assert rollout.slack.calls_to("response_url") == [] and stored(rollout) == []


def test_slash_command_ask_takes_one_word_questions(rollout):
    rollout.sender.command(text="ask yubikey", response_url=rollout.slack.response_url("cmd-2"))

    rollout.slack.wait_for("response_url")
    rollout.settle()
    assert stored(rollout)[0].question == "yubikey"


def test_asking_too_often_gets_a_friendly_limit_message(start_rollout):
    rollout = start_rollout(rollout_rate_limit="2/300")
    for question in (ANSWERABLE, UNANSWERABLE):
        rollout.dm(question)
        rollout.slack.wait_for("chat.postMessage", count=len(rollout.posts()) + 1)
        rollout.settle()
    rollout.dm("do i really need the yubikey to log into copilot?")
    rollout.dm("Another question from someone else?", user="U0BOB")

    posts = rollout.slack.wait_for("chat.postMessage", count=4)
    rollout.settle()
    limited = [p for p in posts if "I answer up to 2 questions every 5 minutes" in section_texts(p.params["blocks"])]
    assert [p.params["channel"] for p in limited] == ["DU0ALICE"]
    assert len(stored(rollout)) == 3


def test_every_workflow_is_wired_into_the_app_help_lists_their_commands_and_announce_is_for_admins(rollout):
    help_text = json.dumps(ack_json(rollout.sender.command(text="help")))
    refusal = ack_json(rollout.sender.command(text="announce", user_id="U0NOTADMIN"))

    for command in ("announce", "incident", "help-me", "feedback", "pilot"):
        assert f"/rollout {command}" in help_text
    assert "Only Rollout admins can schedule announcements" in refusal["text"]


def test_admins_home_lists_scheduled_announcements_and_others_do_not_see_it(start_rollout):
    rollout = start_rollout(rollout_admins="U0ADMIN")
    for user in ("U0ALICE", "U0ADMIN"):
        event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                 "event_ts": new_ts()}
        assert rollout.sender.event(event).status == 200

    views = {call.params["user_id"]: call.params["view"] for call in rollout.slack.wait_for("views.publish", count=2)}
    admin_blocks = {b["block_id"] for b in views["U0ADMIN"]["blocks"]}
    assert {"home_figures", "announcements_header", "announcements_empty"} <= admin_blocks
    assert "announcements_header" not in {b["block_id"] for b in views["U0ALICE"]["blocks"]}
