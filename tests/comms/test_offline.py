"""Communications tried without Slack: `plan diff`, `plan show PATH` and `--dry-run` on `announce schedule` and
`plan apply` work with no SLACK_BOT_TOKEN or with Slack unreachable, marking the targets they could not check;
with Slack there, they check them. The real CLI over a real database, the fake Slack at its HTTP boundary."""
from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.comms.tables import Announcement
from bot.store import session_factory
from tests.comms.conftest import StrictSlack, environment, settings_for
from tests.comms.test_plans import EXAMPLE, GROUPS

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)  # before the example plan's first message (2026-11-17)
AT = ("--at", "2031-01-18T09:00", "--tz", "Europe/London")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def rollout(db_url, slack: StrictSlack, tmp_path: Path, monkeypatch, time_machine):
    """`rollout ...` in-process; `slack=` "fake" (the fake workspace), "none" (no SLACK_BOT_TOKEN) or "down"
    (a token, and Slack's API at a closed port)."""
    time_machine.move_to(NOW, tick=False)
    monkeypatch.chdir(tmp_path)
    slack.workspace.add_channel("C0AIANNOUNCE", name="ai-announcements")
    for group in GROUPS:
        slack.workspace.add_usergroup(group, [f"U0{group.upper().replace('-', '')[:8]}"])

    def run(*args: str, slack_is: str = "fake"):
        env = environment(settings_for(db_url, slack, tmp_path))
        if slack_is == "none":
            env.pop("SLACK_BOT_TOKEN")
        elif slack_is == "down":
            env["SLACK_API_URL"] = f"http://127.0.0.1:{closed_port()}/api/"
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


def stored(db_url: str) -> int:
    from bot.store import make_engine

    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Announcement))
    finally:
        engine.dispose()


@pytest.mark.parametrize("slack_is, unchecked", [("none", "SLACK_BOT_TOKEN is not set"),
                                                 ("down", "can't reach Slack")])
def test_announce_dry_run_works_offline_marking_what_it_could_not_check(rollout, db_url, slack_is,
                                                                         unchecked) -> None:
    result = rollout("announce", "schedule", "--dry-run", "--text", "Pilot *starts*", *AT, "--to", "C0GENERAL",
                     "pilot", slack_is=slack_is)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("Dry run, nothing stored. Would schedule: once at 2031-01-18 09:00 GMT, next 2031-01-18 "
                        "09:00 GMT, to C0GENERAL pilot")
    assert lines[1].startswith(f"Targets unchecked ({unchecked}") and lines[1].endswith("): C0GENERAL")  # not pilot
    assert "Pilot *starts*" in result.stdout
    assert stored(db_url) == 0


def test_announce_dry_run_with_slack_checks_the_targets(rollout, db_url, slack: StrictSlack) -> None:
    checked = rollout("announce", "schedule", "--dry-run", "--text", "hi", *AT, "--to", "C0GENERAL")
    unknown = rollout("announce", "schedule", "--dry-run", "--text", "hi", *AT, "--to", "C0NOSUCHCHAN")

    assert checked.exit_code == 0 and "Targets checked in Slack." in checked.stdout
    assert slack.calls_to("conversations.info")
    assert unknown.exit_code == 1 and "channel C0NOSUCHCHAN can't be used (channel_not_found)" in unknown.stderr
    assert stored(db_url) == 0


def test_scheduling_for_real_needs_slack_only_for_targets_slack_knows(rollout, db_url) -> None:
    refused = rollout("announce", "schedule", "--text", "hi", *AT, "--to", "C0GENERAL", slack_is="none")
    down = rollout("announce", "schedule", "--text", "hi", *AT, "--to", "C0GENERAL", slack_is="down")
    pilot_only = rollout("announce", "schedule", "--text", "hi", *AT, "--to", "pilot", slack_is="none")

    assert refused.exit_code == 1 and refused.stderr == (
        "Error: can't check C0GENERAL: SLACK_BOT_TOKEN is not set (`--dry-run` shows the announcement without "
        "Slack)\n")
    assert down.exit_code == 1 and "can't check C0GENERAL: can't reach Slack (" in down.stderr
    assert pilot_only.exit_code == 0 and pilot_only.stdout.startswith("ann-")
    assert stored(db_url) == 1


def test_plan_diff_and_apply_dry_run_work_offline_and_apply_needs_slack(rollout, db_url) -> None:
    diff = rollout("plan", "diff", str(EXAMPLE), slack_is="none")
    dry = rollout("plan", "apply", "--dry-run", str(EXAMPLE), slack_is="down")
    applied = rollout("plan", "apply", str(EXAMPLE), slack_is="none")

    assert diff.exit_code == 0 and "20 to add, 0 to update, 0 to remove, 0 unchanged" in diff.stdout
    [marked] = [line for line in diff.stdout.splitlines() if line.startswith("? ")]
    assert marked.startswith("? targets unchecked (SLACK_BOT_TOKEN is not set): C0AIANNOUNCE ai-champions")
    assert " pilot" not in marked  # the pilot cohort is ours: nothing to check
    assert dry.exit_code == 0 and "? targets unchecked (can't reach Slack (" in dry.stdout
    assert dry.stdout.rstrip().endswith("Dry run: nothing applied.")
    assert applied.exit_code == 1 and "SLACK_BOT_TOKEN is not set" in applied.stderr
    assert "`rollout plan diff` and `plan apply --dry-run` work without Slack" in applied.stderr
    assert stored(db_url) == 0
    with_slack = rollout("plan", "diff", str(EXAMPLE))
    assert with_slack.exit_code == 0 and "? " not in with_slack.stdout  # every target checked


def test_plan_diff_shows_a_changed_time_old_to_new_and_plan_show_reads_a_file(rollout, tmp_path: Path) -> None:
    assert rollout("plan", "apply", str(EXAMPLE)).exit_code == 0
    moved = tmp_path / "plan.yml"
    briefing = "      - id: manager-briefing\n        day: -7\n        time: '09:00'\n"
    moved.write_text(EXAMPLE.read_text(encoding="utf-8").replace(briefing, briefing.replace("09:00", "10:30"), 1),
                     encoding="utf-8")
    assert moved.read_text(encoding="utf-8") != EXAMPLE.read_text(encoding="utf-8")

    diff = rollout("plan", "diff", str(moved), slack_is="none")
    shown = rollout("plan", "show", str(moved), slack_is="none")

    assert diff.exit_code == 0, diff.output
    [changed] = [line for line in diff.stdout.splitlines() if line.startswith("~ ")]
    assert changed == "~ plan-kestrel-genai-rollout-phase-1-manager-briefing  at 2027-01-11 09:00 GMT → " \
                      "2027-01-11 10:30 GMT"
    assert diff.stdout.splitlines()[-1] == "0 to add, 1 to update, 0 to remove, 19 unchanged"
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0] == "kestrel-genai-rollout"
    briefing = next(line for line in shown.stdout.splitlines() if "Phase 1 — Pilot · manager-briefing" in line)
    assert briefing.startswith("  2027-01-11 10:30 GMT") and briefing.endswith("[changed: at]")
    welcome = next(line for line in shown.stdout.splitlines() if "Phase 1 — Pilot · welcome" in line)
    assert welcome.endswith("→ pilot  [scheduled]")
    assert shown.stdout.splitlines()[-1].startswith("Targets unchecked (SLACK_BOT_TOKEN is not set): ")
