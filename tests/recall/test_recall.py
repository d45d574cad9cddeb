"""Policy-change recall end to end: `rollout ingest` v1, answers recorded with what they cite, `rollout ingest` v2 with
a real and a cosmetic change, then preview, send through the fake Slack Web API, retries, re-ingests and two processes
sending at once; on SQLite and PostgreSQL, with the real embedding model and Chroma."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.answering.asking import Asking, Question, RateLimit
from bot.cli import main
from bot.feedback.reports import build_report
from bot.helpdesk.tables import FaqEntry, Ticket
from bot.recall.tables import AnswerCitation, Recall, RecallMessage
from bot.runtime import build_runtime
from bot.settings import Settings
from knowledge.base import KnowledgeBase
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)

ROLLOUT = Path(sys.executable).with_name("rollout")
TOKEN = "xoxb-1234567890-0987654321-Rec4llT0kenValue"
HELPDESK = "C0HELPDESK"
FILLER = ("This section applies to every employee, contractor and temporary worker of the organisation, in every "
          "office and when working remotely. ")

V1 = f"""---
title: AI Tools Policy
---
# AI Tools Policy

## Reporting leaks

{FILLER}You must report a suspected leak of customer data to the Security team within 24 hours of noticing it
(tell <!channel> and <@U0BOSS> nothing; use <https://evil.example|the form>).

## Training

{FILLER}Everyone must complete the AI basics course before using an approved tool. You will recieve a certificate
that your manager checks once a year.
"""
V2 = (V1.replace("within 24 hours", "within 4 hours")  # a real change
      .replace("recieve a certificate", "receive a **certificate**"))  # cosmetic: a typo fixed, bold added

LEAK = "How quickly must I report a leak of customer data?"
TRAINING = "Which course must I complete before I use an approved AI tool?"
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


class Replies:
    """Where the answers go in these tests (the Slack edge is tested elsewhere): kept, in order."""

    def __init__(self):
        self.sent = []

    def working(self):
        pass

    def send(self, reply):
        self.sent.append(reply)
        return None

    def finished(self):
        pass


@pytest.fixture
def world(tmp_path, db_url, fake_slack):
    """A policy folder, a data dir, the environment `rollout` runs with, and helpers."""
    world = World(tmp_path, db_url, fake_slack)
    yield world
    world.runtime.close()


class World:
    def __init__(self, tmp_path: Path, db_url: str, slack):
        self.folder = tmp_path / "policies"
        self.folder.mkdir()
        self.doc = self.folder / "tools.md"
        self.data_dir = tmp_path / "data"
        self.slack = slack
        slack.workspace.add_channel(HELPDESK, "ai-helpdesk", members=[slack.workspace.bot_user_id])
        self.env = {"ROLLOUT_DATA_DIR": str(self.data_dir), "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": TOKEN,
                    "SLACK_API_URL": slack.base_url, "ROLLOUT_HELPDESK_CHANNEL": HELPDESK,
                    "ROLLOUT_RECALL_AUTO": "0", "CHROMA_URL": ""}
        self.settings = Settings(_env_file=None, rollout_data_dir=self.data_dir, database_url=db_url,
                                 slack_bot_token=TOKEN, slack_api_url=slack.base_url,
                                 rollout_helpdesk_channel=HELPDESK)
        self.runtime = build_runtime(self.settings)
        self.kb = None

    def rollout(self, *args: str, **env) -> str:
        """`rollout ARGS` in this process, as a user runs it; its output (fails the test on a non-zero exit)."""
        result = CliRunner().invoke(main, list(args), env={**self.env, **env}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def ingest(self, text: str) -> str:
        self.doc.write_text(text, encoding="utf-8")
        return self.rollout("ingest", str(self.folder))

    def ask(self, user: str, question: str, when: datetime | None = None):
        if self.kb is None:
            self.kb = KnowledgeBase.open(self.data_dir)
        asking = Asking(self.runtime.store, self.kb, RateLimit.parse("20/300"),
                        clock=lambda: when or datetime.now(UTC))
        replies = Replies()
        key = uuid.uuid4().hex
        asking.answer_question(Question(user, f"D{user}", question, "dm", key, message_ts=key[:10]), replies)
        [reply] = replies.sent
        assert reply.answer.answered, reply.text
        return reply

    def rows(self, model):
        with self.runtime.sessions() as session:
            return list(session.scalars(select(model).order_by(model.id)))

    def dms(self) -> list:
        return [c for c in self.slack.calls_to("chat.postMessage") if c.ok and c.params["channel"].startswith("D")]


def sections_of(world: World, conversation_id: int) -> set[str]:
    return {c.section for c in world.rows(AnswerCitation) if c.conversation_id == conversation_id}


def test_only_real_changes_are_recalled_once_per_person_and_change(world):
    world.ingest(V1)
    alice_leak = world.ask(ALICE, LEAK)
    alice_again = world.ask(ALICE, "What is the deadline to report leaked customer data to Security?")
    bob_training = world.ask(BOB, TRAINING)
    assert "Reporting leaks" in sections_of(world, alice_leak.conversation_id)
    assert sections_of(world, bob_training.conversation_id) == {"Training"}

    out = world.ingest(V2)
    assert "2 answers of 1 people" in out and "rollout recall preview" in out

    preview = world.rollout("recall", "preview")
    assert f"to {ALICE}: 2 answers" in preview and BOB not in preview  # the typo fix is cosmetic
    assert "within 24 hours" in preview and "within 4 hours" in preview
    assert not world.slack.calls_to("chat.postMessage")  # nothing is sent before an admin approves

    assert "1 messages sent" in world.rollout("recall", "send")
    [dm] = world.dms()
    text = str(dm.params["blocks"])
    assert "within 24 hours" in text and "within 4 hours" in text and "AI Tools Policy › Reporting leaks" in text
    assert "&lt;!channel&gt;" in text and "&lt;@U0BOSS&gt;" in text  # never live markup
    assert "<!channel>" not in text and "<@U0BOSS>" not in text and "<https://evil" not in text
    buttons = [(e["action_id"], e["value"]) for b in dm.params["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    for conversation in (alice_leak, alice_again):
        cid = conversation.conversation_id
        assert (f"feedback_helpful.recall.{cid}", str(cid)) in buttons  # unique per message; read as the usual ids
        assert (f"escalate.recall.{cid}", str(cid)) in buttons

    assert "0 messages sent" in world.rollout("recall", "send")  # a second send sends nothing
    world.ingest(V2)  # unchanged: nothing to do
    world.ingest(V1)  # back: the answers relied on v1, so nothing to tell them
    world.ingest(V2)  # the same change again: told already
    assert "0 messages sent" in world.rollout("recall", "send")
    assert len(world.dms()) == 1

    report = build_report(world.runtime.sessions, datetime.now(UTC) + timedelta(minutes=1))
    assert report.recalls == {"messages": 1, "answers": 2}
    assert world.slack.violations == []


def test_answers_older_than_the_window_and_answers_given_after_the_change_are_not_recalled(world):
    world.ingest(V1)
    world.ask(ALICE, LEAK, when=datetime.now(UTC) - timedelta(days=91))
    world.ingest(V2)
    world.ask(BOB, LEAK)  # relies on v2
    world.ingest(V2.replace("within 4 hours", "within 4 hours (or 1 hour at night)"))
    preview = world.rollout("recall", "preview")
    assert ALICE not in preview and f"to {BOB}: 1 answers" in preview


def test_a_removed_section_is_recalled_and_faq_entries_citing_it_go_to_the_helpdesk(world):
    world.ingest(V1)
    reply = world.ask(ALICE, LEAK)
    conversation = world.runtime.store.get_conversation(reply.conversation_id)
    with world.runtime.sessions.begin() as session:
        ticket = Ticket(user_id=ALICE, origin="escalate", question=LEAK, sources=conversation.sources,
                        status="resolved")
        session.add(ticket)
        session.flush()
        session.add(FaqEntry(question="Leak deadline?", answer="Within a day <!here>.", ticket_id=ticket.id,
                             path="faq.md", created_by="U0AGENT"))
    world.ingest(V1.split("## Training")[0].replace("## Reporting leaks", "## Reporting incidents"))
    preview = world.rollout("recall", "preview")
    assert "That section has been removed" in preview and "FAQ 1" in preview
    world.rollout("recall", "send")
    [post] = [c for c in world.slack.calls_to("chat.postMessage") if c.params["channel"] == HELPDESK]
    assert "Leak deadline?" in str(post.params["blocks"]) and "&lt;!here&gt;" in str(post.params["blocks"])
    assert len(world.dms()) == 1


def test_a_failed_send_is_retried_by_the_next_send_and_never_duplicated(world):
    world.ingest(V1)
    world.ask(ALICE, LEAK)
    world.ingest(V2)
    world.slack.fail_next("chat.postMessage", status=500)
    result = CliRunner().invoke(main, ["recall", "send"], env=world.env)
    assert result.exit_code == 1 and "failed" in result.output
    [message] = world.rows(RecallMessage)
    assert message.status == "failed"
    assert "1 messages sent" in world.rollout("recall", "send")
    assert "0 messages sent" in world.rollout("recall", "send")
    assert len(world.dms()) == 1
    assert world.rows(RecallMessage)[0].status == "sent"


def test_two_processes_sending_at_once_send_each_message_once(world):
    world.ingest(V1)
    for user in (ALICE, BOB, CAROL):
        world.ask(user, LEAK)
    world.ingest(V2)
    assert len(world.rows(Recall)) == 3
    env = {**os.environ, **world.env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    senders = [subprocess.Popen([str(ROLLOUT), "recall", "send"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [sender.communicate(timeout=120) for sender in senders]
    assert [s.returncode for s in senders] == [0, 0], outputs
    dms = world.dms()
    assert len(dms) == 3 and len({c.params["channel"] for c in dms}) == 3, outputs
    assert {m.status for m in world.rows(RecallMessage)} == {"sent"}


def test_auto_sends_without_approval(world):
    world.ingest(V1)
    world.ask(ALICE, LEAK)
    world.doc.write_text(V2, encoding="utf-8")
    out = world.rollout("ingest", str(world.folder), ROLLOUT_RECALL_AUTO="1")
    assert "1 messages sent" in out
    assert len(world.dms()) == 1 and world.rows(RecallMessage)[0].approved_by == "auto"


def test_a_database_that_cannot_record_recalls_leaves_the_index_unchanged(world, tmp_path):
    world.ingest(V1)
    world.ask(ALICE, LEAK)
    world.doc.write_text(V2, encoding="utf-8")
    broken = {"DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"}
    (tmp_path / "missing").write_text("a file where a folder should be")
    result = CliRunner().invoke(main, ["ingest", str(world.folder)], env={**world.env, **broken})
    assert result.exit_code != 0 and "index was not changed" in result.output
    assert "1 changed" in world.ingest(V2)  # still the old version in the index: the change is found again
    assert f"to {ALICE}: 1 answers" in world.rollout("recall", "preview")


def test_a_second_change_before_approval_replaces_the_first_and_a_pruned_document_is_recalled(world):
    world.ingest(V1)
    world.ask(ALICE, LEAK)
    world.ingest(V2)  # run 1: 24 -> 4 hours, not approved yet
    world.ingest(V2.replace("within 4 hours", "within 2 hours"))  # run 2, before anyone approved run 1
    preview = world.rollout("recall", "preview")
    assert preview.count("--- message") == 1 and "within 2 hours" in preview and "within 4 hours" not in preview
    assert "1 messages sent" in world.rollout("recall", "send")
    assert [m.status for m in world.rows(RecallMessage)] == ["superseded", "sent"]

    world.ask(BOB, LEAK)
    world.doc.unlink()
    out = world.rollout("ingest", "--prune", str(world.folder))
    assert "1 removed" in out and "2 answers of 2 people" in out  # Alice too: a removal is another change
    preview = world.rollout("recall", "preview")
    assert preview.count("That section has been removed") == 2 and "within 2 hours" in preview


def test_sending_without_a_slack_token_is_refused_and_approves_nothing(world):
    world.ingest(V1)
    world.ask(ALICE, LEAK)
    world.ingest(V2)
    result = CliRunner().invoke(main, ["recall", "send"], env={**world.env, "SLACK_BOT_TOKEN": ""})
    assert result.exit_code == 1 and "SLACK_BOT_TOKEN is not set" in result.output
    assert "Traceback" not in result.output
    assert [m.status for m in world.rows(RecallMessage)] == ["pending"]


def test_forgetting_a_document_recalls_the_answers_that_cited_it(world):
    world.ingest(V1)
    world.ask(ALICE, LEAK)
    out = world.rollout("forget", str(world.doc))
    assert "Forgot tools.md" in out and "1 answers of 1 people" in out
    assert "That section has been removed" in world.rollout("recall", "preview")
