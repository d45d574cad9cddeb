"""Acknowledgement campaigns with the real knowledge engine (MiniLM, loaded once) and the fake Slack: cited summary
DMs with an accept button, acceptances with time and version, reminders only to those who have not accepted."""
from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.comms.acknowledgements import summarise_policy
from bot.comms.blocks import ACK_ACCEPT
from bot.comms.errors import CommsError
from bot.features import job_kinds, schedules
from jobs.dispatch import Dispatcher
from jobs.runs import DueRun
from tests.comms.conftest import StrictSlack, environment, job_context, settings_for

KINDS = job_kinds()

ROOT = Path(__file__).resolve().parents[2]
POLICY = "genai-acceptable-use.md"


@pytest.fixture(scope="session")
def knowledge(tmp_path_factory) -> tuple[Path, Path]:
    """A data dir with two sample policies indexed by the real model (once per session), and the policy folder."""
    from knowledge.base import KnowledgeBase

    folder = tmp_path_factory.mktemp("policies")
    for name in (POLICY, "data-classification-for-ai.md"):
        shutil.copy(ROOT / "knowledge" / "policies" / name, folder / name)
    data_dir = tmp_path_factory.mktemp("kb")
    KnowledgeBase.open(data_dir).ingest([folder])
    return data_dir, folder


@pytest.fixture(scope="session")
def summary(knowledge):
    from knowledge.base import KnowledgeBase

    data_dir, folder = knowledge
    return summarise_policy(KnowledgeBase.open(data_dir), folder / POLICY)


def test_the_summary_is_cited_and_versioned_by_the_indexed_content_hash(summary, knowledge) -> None:
    from knowledge.base import KnowledgeBase
    from knowledge.ingest import file_hash

    data_dir, folder = knowledge
    kb = KnowledgeBase.open(data_dir)
    assert summary.title == "Generative AI Acceptable Use Policy"
    assert summary.url == "https://intranet.kestrel.example/policies/genai-acceptable-use"
    assert summary.version == file_hash((folder / POLICY).read_bytes(), kb.max_chars)[:12]
    assert "[1]" in summary.summary and summary.sources[0]["number"] == 1
    assert summary.sources[0]["path"] == POLICY
    changed = folder.parent / "changed" / POLICY
    changed.parent.mkdir(exist_ok=True)
    changed.write_text((folder / POLICY).read_text() + "\nA new rule.\n")
    with pytest.raises(CommsError, match="is not indexed yet: run `rollout ingest"):
        summarise_policy(kb, changed)


def test_a_campaign_asks_everyone_then_reminds_only_those_who_have_not_accepted(engine, slack: StrictSlack, clock,
                                                                               summary) -> None:
    from bot.comms.acknowledgements import AckService

    ctx = job_context(engine, slack, clock)
    service = AckService(ctx.acks, ctx.runs, ctx.directory, ctx.pilot, clock, "Europe/London")
    campaign, asked = service.start(summary, ["engineering", "pilot-team"], "2026-12-11", remind="0 9 * * mon")
    assert asked == 4
    assert campaign.deadline == datetime(2026, 12, 11, 23, 59, 59, tzinfo=UTC)  # the end of 11 December, London
    dispatcher = Dispatcher(ctx, KINDS)
    assert dispatcher.run_once() is True  # the requests, queued by `start`
    requests = slack.posts()
    assert sorted(c.params["channel"] for c in requests) == ["U0ALICE", "U0BOB", "U0CAROL", "U0DAN"]
    blocks = requests[0].params["blocks"]
    assert "Please read and accept *Generative AI Acceptable Use Policy*" in blocks[0]["text"]["text"]
    assert f"version `{summary.version}`" in blocks[0]["text"]["text"]
    assert any("Please accept by *Fri 11 Dec 2026*" in e["text"] for b in blocks if b["type"] == "context"
               for e in b["elements"])
    assert any("Sources: [1] <https://intranet.kestrel.example/policies/genai-acceptable-use|" in
               e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])
    buttons = blocks[-1]["elements"]
    assert (buttons[0]["action_id"], buttons[0]["value"], buttons[0]["style"]) == (ACK_ACCEPT, str(campaign.id),
                                                                                     "primary")
    assert buttons[1]["url"] == summary.url
    assert slack.violations == []

    clock.advance(hours=2)
    _, bob = service.accept(campaign.id, "U0BOB")
    assert (bob.policy_version, bob.accepted_at) == (summary.version, clock.now)
    clock.advance(hours=1)
    assert service.accept(campaign.id, "U0BOB")[1].accepted_at == bob.accepted_at  # the first acceptance stays
    with pytest.raises(CommsError, match="not on this campaign's list"):
        service.accept(campaign.id, "U0EVE")

    ctx.runs.record(f"ack-reminder:{campaign.id}", "ack-reminder", str(campaign.id), [DueRun(clock.now, "due")],
                    clock.now)
    assert dispatcher.run_once() is True
    reminders = slack.posts()[4:]
    assert sorted(c.params["channel"] for c in reminders) == ["U0ALICE", "U0CAROL", "U0DAN"]
    assert reminders[0].params["blocks"][0]["text"]["text"].startswith(":bell: *Reminder:*")

    statuses = service.status(campaign.id)
    assert [(m.team, m.user_id, bool(m.acceptance)) for m in statuses[0].members] == [
        ("engineering", "U0BOB", True), ("engineering", "U0CAROL", False), ("engineering", "U0DAN", False),
        ("pilot-team", "U0ALICE", False)]

    clock.now = campaign.deadline + timedelta(minutes=1)
    ctx.runs.record(f"ack-reminder:{campaign.id}", "ack-reminder", str(campaign.id), [DueRun(clock.now, "due")],
                    clock.now)
    assert dispatcher.run_once() is True
    assert len(slack.posts()) == 7  # nothing after the deadline
    assert ctx.runs.runs("ack-reminder", str(campaign.id))[0].detail == "deadline passed; no reminders"
    ctx.pool.shutdown()


def test_the_scheduler_runs_reminders_until_the_deadline(engine, slack: StrictSlack, clock, summary) -> None:
    from bot.comms.acknowledgements import AckService
    from bot.store.runs import Leases
    from jobs.scheduler import Scheduler

    ctx = job_context(engine, slack, clock)
    service = AckService(ctx.acks, ctx.runs, ctx.directory, ctx.pilot, clock, "UTC")
    campaign, _ = service.start(summary, ["U0ALICE"], "2026-12-09", remind="0 9 * * mon,thu")
    scheduler = Scheduler(engine, ctx, Leases(ctx.runs._sessions), KINDS, schedules)
    desired = scheduler._desired(clock.now)
    [(kind, ref, _, trigger)] = desired.values()
    assert (kind, ref) == ("ack-reminder", str(campaign.id))
    from jobs.schedule import next_runs

    assert [t.date().isoformat() for t in next_runs(trigger, clock.now, 5)] == ["2026-12-03", "2026-12-07"]
    assert scheduler._desired(campaign.deadline) == {}
    ctx.pool.shutdown()


def test_ack_commands_start_a_campaign_and_report_status(db_url, slack: StrictSlack, tmp_path: Path, knowledge,
                                                         monkeypatch, time_machine) -> None:
    time_machine.move_to(datetime(2026, 11, 2, 12, tzinfo=UTC), tick=False)  # the deadlines in 2031 are ahead
    data_dir, folder = knowledge
    monkeypatch.chdir(tmp_path)
    env = environment(settings_for(db_url, slack, tmp_path, rollout_data_dir=data_dir))

    def rollout(*args):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    policy = str(folder / POLICY)
    failed = rollout("ack", "start", "--policy", policy, "--to", "engineering", "--deadline", "2020-01-01")
    assert failed.exit_code == 1 and "the deadline 2020-01-01 has passed" in failed.stderr
    failed = rollout("ack", "start", "--policy", policy, "--to", "no-such-team", "--deadline", "2031-01-01")
    assert failed.exit_code == 1 and "no user group 'no-such-team'" in failed.stderr
    failed = rollout("ack", "start", "--policy", policy, "--to", "engineering", "--deadline", "2031-01-01",
                     "--remind", "0 9 * *")
    assert failed.exit_code == 1 and "needs five fields" in failed.stderr

    started = rollout("ack", "start", "--policy", policy, "--to", "engineering", "U0ALICE", "--deadline",
                      "2031-01-31", "--remind", "0 9 * * mon")
    assert started.exit_code == 0, started.output
    assert started.stdout.startswith("Campaign 1: 4 people asked to accept Generative AI Acceptable Use Policy")
    status = rollout("ack", "status")
    assert "Campaign 1: Generative AI Acceptable Use Policy" in status.stdout and "0/4 accepted" in status.stdout
    assert "  engineering: 0/3 accepted" in status.stdout and "    U0ALICE      not yet" in status.stdout
    rows = list(csv.DictReader(io.StringIO(rollout("ack", "status", "--csv").stdout)))
    assert [(r["team"], r["user_id"], r["status"]) for r in rows] == [
        ("U0ALICE", "U0ALICE", "pending"), ("engineering", "U0BOB", "pending"), ("engineering", "U0CAROL", "pending"),
        ("engineering", "U0DAN", "pending")]
    assert rows[0]["policy_version"] and rows[0]["deadline"].startswith("2031-01-31T")
