"""*Show more* under an answer: the longer extract recorded with the conversation, shown in place of the short answer.

The session's knowledge base is wrapped so that every answer has an extract (the composer's own, or one written here
while it writes none), ending in text that must stay inert in Slack; the button and the expanded message are checked
through the fake Slack like the other buttons: signed clicks over HTTP to the running app, assertions on what reached
the fake. Nothing here depends on the exact answer text.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import delete

from bot.answering.blocks import SHOW_LESS, SHOW_MORE
from bot.answering.show_more import GONE
from bot.slack.blocks import to_mrkdwn
from bot.store import Conversation
from bot.store.db import session_factory
from knowledge.answer import citations
from tests.scenario.conftest import ANSWERABLE, action_ids, button_value, section_texts

TRICKY = " Ask <@U0BOB> & <!here> at <https://evil.example|the desk>."  # document text must stay inert in Slack


class WithExtract:
    """The real knowledge base, each answer with a longer extract (`with_extract` False: none); counts the asks."""

    def __init__(self, knowledge_base):
        self.knowledge_base = knowledge_base
        self.asked = 0
        self.with_extract = True

    def ask(self, question, history=()):
        self.asked += 1
        answer = self.knowledge_base.ask(question, history)
        if not self.with_extract or not answer.answered:
            return replace(answer, more="")
        last = answer.sources[-1]  # the composer's own extract, else one citing the least relevant source
        return replace(answer, more=(answer.more or f"More from **{last.title}** [{last.number}].") + TRICKY)

    def prefetch(self, question):
        self.knowledge_base.prefetch(question)


@pytest.fixture
def knowledge_base(knowledge_base):
    return WithExtract(knowledge_base)


def answered(rollout, question: str = ANSWERABLE):
    """Ask in a DM; the answer's chat.postMessage call."""
    rollout.dm(question)
    post = rollout.slack.wait_for("chat.postMessage")[-1]
    rollout.settle()
    return post


def click(rollout, action_id: str, post, shown: list[dict], response_id: str):
    """Click a button of the answer `post` as the employee sees it (`shown`); Slack's reply to the click."""
    reply = rollout.sender.block_action(action_id, button_value(shown, action_id), channel_id=post.params["channel"],
                                        message_ts=post.response["ts"], blocks=shown,
                                        response_url=rollout.slack.response_url(response_id))
    assert reply.status == 200 and reply.elapsed < 3
    return reply


def blocks_named(blocks: list[dict], prefix: str) -> list[dict]:
    return [b for b in blocks if b.get("block_id", "").startswith(prefix)]


def test_show_more_expands_the_answer_in_place_and_a_retry_changes_nothing(rollout_on_each_db, knowledge_base):
    rollout = rollout_on_each_db
    post = answered(rollout)
    short = post.params["blocks"]
    assert action_ids(short)[3] == SHOW_MORE and "the desk" not in section_texts(short)
    [more] = [c.more for c in rollout.rows(Conversation)]

    click(rollout, SHOW_MORE, post, short, "more-1")
    [update] = rollout.slack.wait_for("chat.update")
    rollout.settle()

    expanded = update.params["blocks"]
    assert (update.params["channel"], update.params["ts"]) == (post.params["channel"], post.response["ts"])
    assert blocks_named(expanded, "answer_text") == blocks_named(short, "answer_text")  # the short answer first
    extract = " ".join(b["text"]["text"] for b in blocks_named(expanded, "answer_more") if b["type"] == "section")
    assert extract.split() == to_mrkdwn(more).split()  # then the extract, in as many sections as it needs
    assert "&lt;@U0BOB&gt; &amp; &lt;!here&gt;" in section_texts(expanded) and "<@U0BOB>" not in str(expanded)
    short_sources = blocks_named(short, "answer_sources")[0]["elements"][0]["text"]
    more_sources = blocks_named(expanded, "answer_sources")[0]["elements"][0]["text"]
    assert more_sources.startswith(short_sources)  # the short view's sources, then any only the extract cites
    assert all(f"[{n}]" in more_sources for n in citations(more))  # the extract's citations listed when shown
    assert action_ids(expanded) == [SHOW_LESS if a == SHOW_MORE else a for a in action_ids(short)]
    message = rollout.slack.workspace.find_message(post.params["channel"], post.response["ts"])
    assert message["blocks"] == expanded

    click(rollout, SHOW_MORE, post, short, "more-2")  # Slack's retry, or a second click on a stale view
    rollout.slack.wait_for("chat.update", count=2)
    rollout.settle()

    assert [c.params["blocks"] for c in rollout.slack.calls_to("chat.update")] == [expanded, expanded]
    assert message["blocks"] == expanded and len(rollout.posts()) == 1
    assert rollout.slack.calls_to("chat.postEphemeral") == rollout.slack.calls_to("response_url") == []
    assert knowledge_base.asked == 1  # the recorded extract is shown: retrieval never runs again
    assert rollout.slack.violations == []


def test_show_less_folds_the_answer_back_as_it_was_posted(rollout):
    post = answered(rollout)
    click(rollout, SHOW_MORE, post, post.params["blocks"], "more")
    [update] = rollout.slack.wait_for("chat.update")
    rollout.settle()

    click(rollout, SHOW_LESS, post, update.params["blocks"], "less")
    folded = rollout.slack.wait_for("chat.update", count=2)[-1]
    rollout.settle()

    assert folded.params["blocks"] == post.params["blocks"]


def test_show_more_keeps_the_vote_already_shown_under_the_answer(rollout):
    post = answered(rollout)
    click(rollout, "feedback_helpful", post, post.params["blocks"], "vote")
    [voted] = rollout.slack.wait_for("response_url")
    rollout.settle()

    click(rollout, SHOW_MORE, post, voted.params["blocks"], "more")
    [update] = rollout.slack.wait_for("chat.update")
    rollout.settle()

    assert update.params["blocks"][-1] == voted.params["blocks"][-1]
    assert "Thanks — recorded: helpful" in section_texts(update.params["blocks"][-1:])
    assert "the desk" in section_texts(update.params["blocks"])


def test_a_slash_command_answer_is_expanded_through_its_response_url(rollout):
    rollout.sender.command(text=ANSWERABLE, response_url=rollout.slack.response_url("cmd"))
    [answer] = rollout.slack.wait_for("response_url")
    rollout.settle()
    short = answer.params["blocks"]
    assert short[0]["block_id"] == "question" and SHOW_MORE in action_ids(short)

    reply = rollout.sender.block_action(SHOW_MORE, button_value(short, SHOW_MORE), ephemeral=True,
                                        response_url=rollout.slack.response_url("more"))
    [_, update] = rollout.slack.wait_for("response_url", count=2)
    rollout.settle()

    assert reply.status == 200 and update.path.endswith("/response/more")
    assert update.params["replace_original"] is True
    assert update.params["blocks"][0] == short[0] and "the desk" in section_texts(update.params["blocks"])
    assert SHOW_LESS in action_ids(update.params["blocks"])
    assert rollout.slack.calls_to("chat.update") == []


def test_an_answer_without_a_longer_extract_has_no_show_more(rollout, knowledge_base):
    knowledge_base.with_extract = False
    post = answered(rollout)

    assert SHOW_MORE not in action_ids(post.params["blocks"])
    assert [c.more for c in rollout.rows(Conversation)] == [None]


def test_show_more_on_an_answer_that_is_gone_says_so_privately(rollout):
    post = answered(rollout)
    with session_factory(rollout.engine).begin() as session:
        session.execute(delete(Conversation))

    click(rollout, SHOW_MORE, post, post.params["blocks"], "gone")
    [response] = rollout.slack.wait_for("response_url")
    rollout.settle()

    assert response.params["text"] == GONE and "ask your question again" in GONE
    assert response.params["response_type"] == "ephemeral" and response.params["replace_original"] is False
    assert rollout.slack.calls_to("chat.update") == []
    assert rollout.slack.workspace.find_message(post.params["channel"], post.response["ts"])["blocks"] == \
        post.params["blocks"]
