"""Add to knowledge base: the modal pre-filled with the question and the agent's resolution; on submit an FAQ entry
is stored, written as Markdown under the data dir and indexed at once, and the next employee gets it cited as
"Helpdesk FAQ"."""
from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from bot.helpdesk.faq_jobs import index_pending_faq
from bot.helpdesk.tables import FaqEntry, Ticket
from knowledge.answer import make_answerer
from knowledge.base import KnowledgeBase
from knowledge.embeddings import shared_embedder
from knowledge.index import KnowledgeIndex
from tests.chroma_server import chroma_server  # noqa: F401  (fixture)
from tests.helpdesk.conftest import AGENT, HELPDESK, STRANGER, escalated
from tests.scenario.conftest import POLICIES, section_texts

QUESTION = "How do I get a licence for the Figma AI plugin?"
RESOLUTION = ("Request a Figma AI plugin licence with the Design Tools form on the IT portal; licences for the Figma "
              "AI plugin are issued within two working days.")


@pytest.fixture
def own_kb(tmp_path) -> KnowledgeBase:
    """A knowledge base of its own: this test adds a document to it."""
    kb = KnowledgeBase.open(tmp_path / "kb")
    kb.ingest([POLICIES])
    return kb


def test_an_faq_entry_is_answered_and_cited_on_the_next_question(start_helpdesk, own_kb, tmp_path):
    r = start_helpdesk(kb=own_kb)
    _, ticket_post = escalated(r, QUESTION)
    ticket_id = str(r.rows(Ticket)[0].id)
    r.sender.block_action("ticket_claim", ticket_id, user_id=AGENT, channel_id=HELPDESK,
                          message_ts=ticket_post.response["ts"])
    r.settle()
    r.say(RESOLUTION, AGENT, HELPDESK, ticket_post.response["ts"])
    r.settle()

    r.sender.block_action("ticket_add_faq", ticket_id, user_id=AGENT, channel_id=HELPDESK,
                          message_ts=ticket_post.response["ts"])
    r.settle()
    [opened] = r.slack.wait_for("views.open")
    prefilled = {b["block_id"]: b["element"].get("initial_value") for b in opened.params["view"]["blocks"]}
    assert prefilled == {"question": QUESTION, "answer": RESOLUTION}

    values = {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in prefilled.items()}
    reply = r.sender.view_submission("faq_modal", values, user_id=AGENT, private_metadata=ticket_id)
    r.settle()
    assert reply.status == 200
    [entry] = r.rows(FaqEntry)
    document = (tmp_path / "data" / "faq" / "helpdesk-faq-1.md").read_text()
    assert entry.path.endswith("helpdesk-faq-1.md") and "title: Helpdesk FAQ" in document and RESOLUTION in document

    r.dm("how can I get a Figma AI plugin licence?", user="U0BOB")
    r.settle()
    answer = r.posts(channel="DU0BOB")[-1]
    text = section_texts(answer.params["blocks"])
    assert "Design Tools form" in text and "Helpdesk FAQ" in text

    r.desk.faq.remove(entry.id, "cli")
    assert not (tmp_path / "data" / "faq" / "helpdesk-faq-1.md").exists()
    assert "Design Tools form" not in own_kb.ask("how can I get a Figma AI plugin licence?").text


def test_only_helpdesk_members_may_add_to_the_knowledge_base(desk_rollout):
    r = desk_rollout
    escalated(r)
    r.sender.block_action("ticket_add_faq", "1", user_id=STRANGER, channel_id=HELPDESK)
    r.settle()
    assert r.slack.calls_to("views.open") == []
    assert "only members of the helpdesk channel" in r.slack.calls_to("chat.postEphemeral")[-1].params["text"]


def test_an_entry_saved_while_chroma_is_down_is_kept_the_agent_told_and_indexed_once_it_is_back(
        start_helpdesk, chroma_server, tmp_path):
    kb = KnowledgeBase(KnowledgeIndex(tmp_path / "kb", shared_embedder(None), chroma_server.url, f"faq_{uuid4().hex}"),
                       make_answerer("extractive"))
    r = start_helpdesk(kb=kb)
    with chroma_server.down():
        values = {"question": {"value": {"type": "plain_text_input", "value": QUESTION}},
                  "answer": {"value": {"type": "plain_text_input", "value": RESOLUTION}}}
        reply = r.sender.view_submission("faq_modal", values, user_id=AGENT)
        r.settle()
        assert (reply.status, reply.body) == (200, "")  # stored before the modal closed
        [entry] = r.rows(FaqEntry)
        assert entry.indexed_at is None
        [told] = [p for p in r.posts(channel=AGENT) if f"FAQ entry {entry.id}" in p.params["text"]]
        assert "not searchable yet" in told.params["text"]
        assert index_pending_faq(r.desk, entry.created_at + timedelta(minutes=5)) == []  # still down: kept pending

    assert index_pending_faq(r.desk, entry.created_at + timedelta(seconds=10)) == []  # its own worker may be at it
    assert index_pending_faq(r.desk, entry.created_at + timedelta(minutes=5)) == [entry.id]
    assert index_pending_faq(r.desk, entry.created_at + timedelta(minutes=6)) == []  # once
    assert len([p for p in r.posts(channel=AGENT) if "is now in the knowledge base" in p.params["text"]]) == 1
    assert r.rows(FaqEntry)[0].indexed_at is not None
    assert "Design Tools form" in kb.ask("how can I get a Figma AI plugin licence?").text
