"""Policy-change recall end to end from Slack (issue 15): a person asks in a DM (a signed event over real HTTP, the
fake Slack Web API), `rollout ingest` then changes the section their answer cited (in a copy of our sample policies),
an admin approves with `rollout recall send`, and the person gets one DM quoting what their answer relied on and what
the section says now, whose 👍 and *Ask a person* work; `rollout recall list`, `rollout report` and the weekly post
show it. The real model, Chroma and SQLite."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.comms.delivery import SlackDelivery
from bot.feedback.report_delivery import weekly_report
from bot.feedback.store import AnswerRating
from bot.helpdesk.tables import Ticket
from bot.recall.tables import AnswerCitation, RecallMessage
from bot.slack.pacing import SendPacer
from bot.store import Conversation
from knowledge.base import KnowledgeBase
from tests.scenario.conftest import (  # noqa: F401  (fixture)
    ANSWERABLE,
    BOT_TOKEN,
    POLICIES,
    action_ids,
    fake_slack,
    section_texts,
    serve,
    settings_for,
)

ADMIN, ALICE = "U0ADMIN", "U0ALICE"
HELPDESK = "C0HELPDESK"
DOCUMENT = "ai-incident-response.md"
SECTION = "Incidents involving personal data"
BEFORE, AFTER = "within\n**24 hours** of the incident", "within\n**12 hours** of the incident"


class World:
    """A copy of the sample policies, `rollout` run as an admin runs it, and a Rollout serving Slack over them."""

    def __init__(self, tmp_path, slack):
        self.policies = tmp_path / "policies"
        shutil.copytree(POLICIES, self.policies)
        data, database = tmp_path / "data", f"sqlite:///{tmp_path / 'rollout.db'}"
        self.slack = slack
        slack.workspace.add_channel(HELPDESK, "ai-helpdesk", members=["U0AGENT", slack.workspace.bot_user_id])
        self.env = {"ROLLOUT_DATA_DIR": str(data), "DATABASE_URL": database, "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_API_URL": slack.base_url, "ROLLOUT_HELPDESK_CHANNEL": HELPDESK,
                    "ROLLOUT_RECALL_AUTO": "0", "CHROMA_URL": ""}
        self.cli("ingest", str(self.policies))
        self.settings = settings_for(slack, database, rollout_data_dir=data, rollout_admins=ADMIN,
                                     rollout_helpdesk_channel=HELPDESK)
        self.rollout = serve(self.settings, KnowledgeBase.open(data), slack)

    def cli(self, *args: str) -> str:
        """`rollout ARGS`; its output (fails the test on a non-zero exit)."""
        result = CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def change_the_section(self) -> None:
        path = self.policies / DOCUMENT
        text = path.read_text(encoding="utf-8")
        assert text.count(BEFORE) == 1
        path.write_text(text.replace(BEFORE, AFTER), encoding="utf-8")


@pytest.fixture
def world(tmp_path, fake_slack):
    world = World(tmp_path, fake_slack)
    yield world
    world.rollout.stop()


def test_a_slack_answer_whose_section_changes_is_recalled_in_one_dm_with_working_buttons(world):
    rollout = world.rollout
    _, reply = rollout.dm(ANSWERABLE, user=ALICE)
    [answer] = rollout.slack.wait_for("chat.postMessage")
    rollout.settle()
    assert reply.status == 200 and "24 hours" in section_texts(answer.params["blocks"])
    [conversation] = rollout.rows(Conversation)
    assert SECTION in {c.section for c in rollout.rows(AnswerCitation) if c.conversation_id == conversation.id}

    world.change_the_section()
    out = world.cli("ingest", str(world.policies))
    assert "1 answers of 1 people rely on changed sections" in out and "rollout recall preview" in out
    listed = world.cli("recall", "list")
    assert f"{ALICE}  pending" in listed and "1 answers" in listed
    assert rollout.posts() == [answer]  # nothing is sent before an admin approves

    assert "approved 1; recalls: 1 messages sent" in world.cli("recall", "send")
    [dm] = [c for c in rollout.posts() if c is not answer]
    text = section_texts(dm.params["blocks"])
    [opened] = [c for c in rollout.slack.calls_to("conversations.open") if c.response["channel"]["id"] ==
                dm.params["channel"]]
    assert opened.params["users"] == ALICE and not dm.params.get("thread_ts")  # a DM of its own, not a reply
    relied_on, now = text.split("*It now says:*")
    assert "*Your answer relied on* (AI Incident Response Procedure › Incidents involving personal data)" in relied_on
    assert "> If personal data may be involved" in relied_on and "Tomás Ferreira, within 24 hours" in relied_on
    assert "> If personal data may be involved" in now and "Tomás Ferreira, within 12 hours" in now
    assert "24 hours" not in now and f"you asked:* {ANSWERABLE}" in relied_on
    assert "AI Incident Response Procedure › Incidents involving personal data>" in now  # the sources line
    cid = conversation.id
    assert action_ids(dm.params["blocks"]) == [f"feedback_helpful.recall.{cid}", f"feedback_not_helpful.recall.{cid}",
                                               f"escalate.recall.{cid}"]

    channel, ts = dm.response["channel"], dm.response["ts"]
    for action in ("feedback_helpful", "escalate"):
        rollout.sender.block_action(f"{action}.recall.{cid}", str(cid), user_id=ALICE, channel_id=channel,
                                    message_ts=ts, blocks=dm.params["blocks"],
                                    response_url=rollout.slack.response_url(action))
    [ticket_post] = rollout.slack.wait_for("chat.postMessage", predicate=lambda c: c.params["channel"] == HELPDESK)
    rollout.settle()
    assert [(r.conversation_id, r.user_id, r.vote) for r in rollout.rows(AnswerRating)] == [(cid, ALICE, "helpful")]
    [ticket] = rollout.rows(Ticket)
    assert (ticket.user_id, ticket.conversation_id, ticket.helpdesk_channel) == (ALICE, cid, HELPDESK)
    assert ANSWERABLE[:40] in str(ticket_post.params)

    [message] = rollout.rows(RecallMessage)
    assert (message.recipient, message.status, message.ts) == (ALICE, "sent", ts)
    assert f"{ALICE}  sent" in world.cli("recall", "list")
    assert "0 messages sent" in world.cli("recall", "send")  # once
    line = "Recalls sent: 1 DMs about 1 earlier answers whose policy sections changed"
    assert line in world.cli("report")
    weekly = weekly_report(world.settings, rollout.runtime.sessions,
                           SlackDelivery(BOT_TOKEN, rollout.slack.base_url, SendPacer(200)))
    post = weekly.message(datetime.now(UTC) + timedelta(minutes=1))
    headlines = next(b for b in post["blocks"] if b["block_id"] == "report_headlines")["text"]["text"]
    assert f"• {line}" in headlines
    assert rollout.slack.violations == []
