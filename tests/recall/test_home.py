"""Approving recalls from the App Home, and the usual buttons on a recall DM, through signed requests over real HTTP
against the fake Slack Web API."""
from __future__ import annotations

from datetime import timedelta

from bot.feedback.store import AnswerRating
from bot.recall.tables import RecallMessage
from bot.store.models import Interaction, utc_now
from knowledge.base import CitedSection
from knowledge.sections import SectionChange
from tests.scenario.conftest import (  # noqa: F401  (fixtures)
    Rollout,
    fake_slack,
    knowledge_base,
    sqlite_url,
    start_rollout,
)

ADMIN, ALICE, MALLORY = "U0ADMIN", "U0ALICE", "U0MALLORY"
BEFORE = "Report a leak within 24 hours.\nUse the incident form."
AFTER = "Report a leak within 4 hours.\nUse the incident form."


def pending_recall(rollout: Rollout) -> tuple[int, str]:
    """Alice's answer citing a section, and an ingest run that changed it: (conversation id, run id)."""
    conversation = rollout.store.record_conversation(
        user_id=ALICE, channel_id=f"D{ALICE}", thread_ts=None, message_ts="1700000000.000100", source="dm",
        question="How fast must I report a leak?", answer="Within 24 hours [1].", answered=True, latency_ms=5,
        answerer="extractive", created_at=utc_now() - timedelta(days=2),
        sources=[{"number": 1, "path": "leaks.md", "title": "Leak Policy", "section": "Reporting", "score": 0.8}],
        cited=[CitedSection(1, "leaks.md", "Reporting", BEFORE)])
    stats = rollout.runtime.recalls.record([SectionChange("leaks.md", "Leak Policy", "Reporting", BEFORE, AFTER)])
    assert stats.answers == 1
    return conversation.id, stats.run_id


def open_home(rollout: Rollout, user: str) -> list[dict]:
    before = len(rollout.slack.calls_to("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home", "event_ts": "1.0"}
    assert rollout.sender.event(event).status == 200
    return rollout.slack.wait_for("views.publish", count=before + 1)[-1].params["view"]["blocks"]


def test_an_admin_approves_a_run_in_app_home_and_the_person_gets_one_dm_with_working_buttons(start_rollout):
    rollout = start_rollout(rollout_admins=ADMIN)
    conversation_id, run_id = pending_recall(rollout)

    assert "recall_approve" not in str(open_home(rollout, ALICE))
    button = next(b["accessory"] for b in open_home(rollout, ADMIN) if b["block_id"] == f"recall_run_{run_id}")
    assert (button["action_id"], button["value"]) == ("recall_approve", run_id)

    rollout.sender.block_action("recall_approve", run_id, user_id=MALLORY, channel_id=f"D{MALLORY}")
    rollout.settle()
    assert [c.params["channel"] for c in rollout.posts()] == [MALLORY]  # refused, nothing sent
    assert "Only Rollout admins" in rollout.posts()[0].params["text"]

    for _ in range(2):  # a double click sends once
        rollout.sender.block_action("recall_approve", run_id, user_id=ADMIN, channel_id=f"D{ADMIN}")
    rollout.settle()
    [dm] = [c for c in rollout.posts() if c.params["channel"].startswith("D") and "blocks" in c.params]
    assert "within 4 hours" in str(dm.params["blocks"]) and "within 24 hours" in str(dm.params["blocks"])
    told = [c.params["text"] for c in rollout.posts(channel=ADMIN)]
    assert any("1 messages sent" in t for t in told) and any("0 messages sent" in t for t in told)
    assert [m.status for m in rollout.rows(RecallMessage)] == ["sent"]
    assert "recall_approve" not in str(rollout.slack.calls_to("views.publish")[-1].params["view"])

    for action in ("feedback_helpful", "escalate"):  # the DM's own ids, read as the usual ones by every listener
        rollout.sender.block_action(f"{action}.recall.{conversation_id}", str(conversation_id), user_id=ALICE,
                                    channel_id=dm.response["channel"], message_ts=dm.response["ts"],
                                    blocks=dm.params["blocks"])
        rollout.settle()
    assert [(r.conversation_id, r.vote) for r in rollout.rows(AnswerRating)] == [(conversation_id, "helpful")]
    assert [(i.conversation_id, i.action) for i in rollout.rows(Interaction)] == [(conversation_id, "escalate")]
    assert rollout.slack.violations == []
