"""Rollout plans: the shipped example matches the rollout timeline; apply is idempotent; errors name their line;
`plan init` moves the example so that it is ahead on any date."""
from __future__ import annotations

import re
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.comms.announcement_store import AnnouncementStore
from bot.comms.delivery import SlackDelivery
from bot.comms.errors import PlanError
from bot.comms.plans import PlanService, move_plan
from bot.slack.pacing import SendPacer
from bot.store import session_factory
from tests.comms.conftest import StrictSlack, environment, settings_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "knowledge" / "rollout-plan.example.yml"
TIMELINE = ROOT / "knowledge" / "policies" / "rollout-timeline.md"
GROUPS = ["ai-enablement", "infosec", "it", "l-and-d", "ai-champions", "people-managers", "engineering",
          "customer-support", "all-staff"]
BEFORE_THE_PLAN = datetime(2026, 11, 1, 12, tzinfo=UTC)  # the example's first message is on 2026-11-17


@pytest.fixture
def kestrel(slack: StrictSlack) -> StrictSlack:
    """The fake workspace with Kestrel's channel and user groups."""
    slack.workspace.add_channel("C0AIANNOUNCE", name="ai-announcements")
    for group in GROUPS:
        slack.workspace.add_usergroup(group, [f"U0{group.upper().replace('-', '')[:8]}"])
    return slack


@pytest.fixture
def plans(engine, kestrel: StrictSlack, clock) -> PlanService:
    clock.now = BEFORE_THE_PLAN
    directory = SlackDelivery("xoxb-test", kestrel.base_url, SendPacer(100))
    return PlanService(AnnouncementStore(session_factory(engine)), directory, clock, "UTC")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_the_example_plan_follows_the_rollout_timeline(plans: PlanService) -> None:
    name, planned, _ = plans.read(EXAMPLE)
    timeline = TIMELINE.read_text(encoding="utf-8")
    by_id = {p.id.removeprefix(f"plan-{name}-"): p for p in planned}
    starts = {"phase-0": "2026-12-01", "phase-1": "2027-01-18", "phase-2": "2027-04-05", "phase-3": "2027-05-10",
              "phase-4": "2027-07-05"}
    for phase, start in starts.items():
        assert start in timeline
        assert by_id[f"{phase}-welcome"].at.astimezone().date().isoformat() == start  # first day: welcome DM
        assert by_id[f"{phase}-monthly-update"].cron == "0 9 1-7 * mon"  # first Monday of every month
    assert by_id["phase-1-upcoming"].at == datetime(2027, 1, 4, 9, tzinfo=UTC)  # two weeks before, 09:00 GMT
    assert by_id["phase-3-upcoming"].at == datetime(2027, 4, 26, 8, tzinfo=UTC)  # 09:00 BST
    assert by_id["phase-1-manager-briefing"].at.date().isoformat() == "2027-01-11"  # one week before
    assert by_id["phase-3-all-hands"].at.date().isoformat() == "2027-05-06" and "2027-05-06" in timeline
    assert by_id["phase-1-welcome"].targets == ["pilot"]
    assert by_id["phase-2-welcome"].targets == ["engineering", "customer-support"]
    assert "## Phase 1 — Pilot starts on Monday 18 January 2027" in by_id["phase-1-upcoming"].text
    assert by_id["phase-1-upcoming"].targets == ["C0AIANNOUNCE"]


def test_apply_then_apply_again_changes_nothing_and_edits_update_add_and_remove(plans, tmp_path: Path) -> None:
    first = plans.apply(EXAMPLE)
    assert (len(first.add), len(first.update), len(first.remove)) == (20, 0, 0)
    again = plans.apply(EXAMPLE)
    assert (again.changes, len(again.unchanged)) == (0, 20)
    assert len(plans.store.list(["scheduled"], plan="kestrel-genai-rollout")) == 20

    edited = EXAMPLE.read_text(encoding="utf-8")
    edited = edited.replace("start: 2027-04-05", "start: 2027-04-12")  # phase 2 moves a week
    edited = edited.replace("      - id: all-hands\n", "      - id: all-hands-reminder\n")  # renamed: remove + add
    path = write(tmp_path, edited)
    diff = plans.diff(path)
    assert sorted(p.id.split("-", 4)[-1] for p, _ in diff.update) == [
        "phase-2-manager-briefing", "phase-2-monthly-update", "phase-2-upcoming", "phase-2-welcome"]
    assert {tuple(fields) for _, fields in diff.update} >= {("text", "at"), ("starts_at",)}
    assert [p.id for p in diff.add] == ["plan-kestrel-genai-rollout-phase-3-all-hands-reminder"]
    assert [a.id for a in diff.remove] == ["plan-kestrel-genai-rollout-phase-3-all-hands"]
    plans.apply(path)
    assert plans.diff(path).changes == 0
    assert plans.store.get("plan-kestrel-genai-rollout-phase-3-all-hands").status == "cancelled"
    assert plans.store.get("plan-kestrel-genai-rollout-phase-2-welcome").at == datetime(2027, 4, 12, 8, tzinfo=UTC)
    assert plans.apply(EXAMPLE).changes == 6  # back again: the old one returns, the renamed one goes
    assert len(plans.store.list(["scheduled"], plan="kestrel-genai-rollout")) == 20


def test_messages_already_past_are_left_out_and_listed(plans, tmp_path: Path, clock) -> None:
    clock.now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    diff = plans.apply(EXAMPLE)
    assert [p.id for p in diff.past] == ["plan-kestrel-genai-rollout-phase-0-upcoming"]
    assert "! plan-kestrel-genai-rollout-phase-0-upcoming  once at 2026-11-17 09:00 GMT has passed" in diff.lines()[-2]


PLAN_WITH_ERRORS = """
    plan: Kestrel Rollout
    timezone: Europe/Leeds
    phases:
      - id: pilot
        name: Pilot
        start: 2027-01-18
        audience: [pilot]
        messages:
          - id: welcome
            day: 0
            time: 9:00
            text: Welcome!
          - id: reminder
            at: 2027-01-20T09:00
            cron: "0 9 * * mon"
            text: Reminder
          - id: weekly
            cron: "0 25 * * mon"
            text: Weekly
          - id: nosuch
            day: 1
            time: '09:00'
            template: no_such_template
          - id: typo
            day: 2
            time: '09:00'
            txet: oops
"""


def test_schema_errors_name_the_file_line_and_field(plans, tmp_path: Path) -> None:
    path = write(tmp_path, PLAN_WITH_ERRORS)
    with pytest.raises(PlanError) as caught:
        plans.read(path)
    problems = caught.value.problems
    assert f"{path}:1: plan: use 1-40 lower-case letters" in problems[0]
    assert any(p.startswith(f"{path}:11: phases[0].messages[0].time: write the time in quotes") for p in problems)
    assert any(p.startswith(f"{path}:13: phases[0].messages[1]: give exactly one of 'at'") for p in problems)
    assert any(p.startswith(f"{path}:27: phases[0].messages[4].txet: unknown field") for p in problems)
    assert len(problems) == 4  # the semantic checks wait until the schema is right


def test_semantic_errors_name_their_lines_too(plans, tmp_path: Path) -> None:
    text = PLAN_WITH_ERRORS.replace("Kestrel Rollout", "kestrel").replace("time: 9:00", "time: '09:00'")
    text = text.replace("            cron: \"0 9 * * mon\"\n", "").replace("            txet: oops\n",
                                                                          "            text: ok\n")
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as caught:
        plans.read(path)
    problems = caught.value.problems
    assert any(re.match(rf"{re.escape(str(path))}:17: phases\[0\]\.messages\[2\]\.cron: .*not a valid cron", p)
               for p in problems), problems
    assert any(p.startswith(f"{path}:22: phases[0].messages[3].template: template: no prompt 'no_such_template'")
               for p in problems), problems
    assert any(p.startswith(f"{path}:2: timezone: unknown time zone 'Europe/Leeds'") for p in problems), problems


def test_unknown_targets_and_bad_yaml_are_reported(plans, tmp_path: Path) -> None:
    path = write(tmp_path, """
        plan: kestrel
        phases:
          - id: p
            name: P
            start: 2027-01-18
            audience: [no-such-group, C0NOSUCH]
            messages:
              - {id: hello, day: 0, time: '09:00', text: Hello}
              - {id: there, day: 1, time: '09:00', text: Hi, to: ['#unknown']}
    """)
    with pytest.raises(PlanError) as caught:
        plans.read(path)
    assert caught.value.problems[0] == (f"{path}:9: phases[0].messages[1].to: to: #unknown not in the plan's "
                                        f"'channels' (name: channel id)")
    path.write_text(path.read_text().replace("      - {id: there, day: 1, time: '09:00', text: Hi, to: ['#unknown']}\n",
                                             ""), encoding="utf-8")
    with pytest.raises(PlanError, match="channel C0NOSUCH can't be used.*no user group 'no-such-group'"):
        plans.read(path)
    path.write_text("plan: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlanError, match=rf"{re.escape(str(path))}:2: not valid YAML"):
        plans.read(path)


def test_plan_commands_print_the_diff_apply_and_the_timeline(db_url, kestrel, tmp_path, monkeypatch,
                                                            time_machine) -> None:
    # The commands read the real clock (open_comms' utc_now), in this thread and any other: freeze it before the plan.
    time_machine.move_to(BEFORE_THE_PLAN, tick=False)
    monkeypatch.chdir(tmp_path)
    env = environment(settings_for(db_url, kestrel, tmp_path))

    def rollout(*args):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    diff = rollout("plan", "diff", str(EXAMPLE))
    assert diff.exit_code == 0 and "+ plan-kestrel-genai-rollout-phase-1-welcome  once at 2027-01-18 09:00 GMT  → " \
                                   "pilot" in diff.stdout
    applied = rollout("plan", "apply", str(EXAMPLE))
    assert applied.exit_code == 0 and "Applied kestrel-genai-rollout: 20 added" in applied.stdout  # nothing past
    assert "! " not in applied.stdout
    assert "0 added, 0 updated, 0 removed, 20 unchanged" in rollout("plan", "apply", str(EXAMPLE)).stdout
    shown = rollout("plan", "show").stdout.splitlines()
    assert shown[0] == "kestrel-genai-rollout"
    assert shown[1].startswith("  2026-11-17 09:00 GMT   Phase 0 — Preparation · upcoming")
    assert shown[2].startswith("  from 2026-12-01        Phase 0 — Preparation · monthly-update")
    assert "cron '0 9 1-7 * mon' (Europe/London)" in shown[2] and "next 2026-12-07 09:00 GMT" in shown[2]
    assert shown[3].startswith("  2026-12-01 09:00 GMT   Phase 0 — Preparation · welcome")
    assert any("Phase 3 — Company-wide · all-hands" in line and "2027-05-06 09:00 BST" in line for line in shown)
    bad = write(tmp_path, PLAN_WITH_ERRORS)
    failed = rollout("plan", "apply", str(bad))
    assert failed.exit_code == 1 and f"{bad}:11: phases[0].messages[0].time" in failed.stderr


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"


def test_the_example_plan_writes_every_date_as_an_iso_date_so_that_moving_it_moves_them_all() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert not re.search(rf"\b\d{{1,2}} ({MONTHS})\b|\b({MONTHS}) \d{{1,4}}\b", text)
    assert not re.search(rf"\b({MONTHS}|this month|next month)\b", text.split("\nphases:", 1)[1])


def test_move_plan_starts_phase_0_ahead_on_its_weekday_and_moves_every_date_alike() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    today = date(2029, 6, 13)  # a Wednesday, long after the example's dates
    moved = move_plan(text, today)
    # The first Tuesday (phase 0's weekday, 2026-12-01) at least 15 days ahead: 2029-06-28 is a Thursday.
    assert moved.start == date(2029, 7, 3) and moved.days == (date(2029, 7, 3) - date(2026, 12, 1)).days
    assert moved.days % 7 == 0
    before = [date.fromisoformat(d) for d in ISO_DATE.findall(text)]
    after = [date.fromisoformat(d) for d in ISO_DATE.findall(moved.text)]
    assert len(before) > 20 and after == [d + timedelta(days=moved.days) for d in before]
    assert all(a.weekday() == b.weekday() for a, b in zip(after, before))
    assert ISO_DATE.sub("DATE", moved.text) == ISO_DATE.sub("DATE", text)  # nothing else changes
    assert "start: 2029-07-03\n" in moved.text and "at: 2029-07-16T09:00\n" in moved.text  # was 2026-12-14
    assert "**Pilot nominations close on 2029-07-20.**" in moved.text  # a Friday, as 2026-12-18 was
    assert "ahead of Phase 3 on 2029-12-10." in moved.text and "start: 2029-12-10\n" in moved.text
    assert min(after) > today  # the first message, 14 days before phase 0, is still to come

    chosen = move_plan(text, today, start=date(2029, 9, 4))
    assert chosen.start == date(2029, 9, 4) and "start: 2029-09-04\n" in chosen.text
    assert move_plan(text, date(2026, 11, 1)).start == date(2026, 11, 17)  # moving back works alike


def test_plan_init_writes_a_moved_copy_whose_messages_are_all_to_come(db_url, kestrel, tmp_path, monkeypatch,
                                                                     time_machine) -> None:
    time_machine.move_to(datetime(2029, 6, 13, 12, tzinfo=UTC), tick=False)  # long after the example's dates
    monkeypatch.chdir(tmp_path)
    env = environment(settings_for(db_url, kestrel, tmp_path))

    def rollout(*args):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    written = rollout("plan", "init")
    assert written.exit_code == 0, written.output
    assert "Wrote rollout-plan.yml" in written.stdout and "phase 0 starting on Tuesday 2029-07-03" in written.stdout
    assert "Next: rollout plan diff rollout-plan.yml" in written.stdout
    plan = tmp_path / "rollout-plan.yml"
    assert "    start: 2029-07-03\n" in plan.read_text(encoding="utf-8")

    diff = rollout("plan", "diff", "rollout-plan.yml")
    assert diff.exit_code == 0 and diff.stdout.splitlines()[-1] == "20 to add, 0 to update, 0 to remove, 0 unchanged"
    assert "has passed" not in diff.stdout
    assert "+ plan-kestrel-genai-rollout-phase-0-upcoming  once at 2029-06-19 09:00 BST" in diff.stdout
    applied = rollout("plan", "apply", "rollout-plan.yml")
    assert "Applied kestrel-genai-rollout: 20 added, 0 updated, 0 removed, 0 unchanged." in applied.stdout
    assert rollout("plan", "show").stdout.splitlines()[1].startswith(
        "  2029-06-19 09:00 BST   Phase 0 — Preparation · upcoming")

    again = rollout("plan", "init")
    assert again.exit_code == 1 and again.stderr.strip() == (
        "Error: rollout-plan.yml already exists: give --force to overwrite it, or another PATH")
    forced = rollout("plan", "init", "--force", "--start", "2029-09-04")
    assert forced.exit_code == 0 and "    start: 2029-09-04\n" in plan.read_text(encoding="utf-8")
    for bad in ("2029-13-01", "next week", "4/9/2029"):
        refused = rollout("plan", "init", "other.yml", "--start", bad)
        assert refused.exit_code == 1 and refused.stderr.strip() == (
            f"Error: --start: '{bad}' is not a date: write YYYY-MM-DD, e.g. 2027-01-05")
    assert not (tmp_path / "other.yml").exists()
