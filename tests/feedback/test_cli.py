"""`rollout pilot|survey|feedback export|report` through the real CLI, on a real database and the fake Slack."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import bot.feedback.cli  # noqa: F401  (registers the commands on main)
from bot.cli import main
from bot.feedback.store import FeedbackStore
from bot.store import make_engine, session_factory
from bot.store.repositories import Store
from tests.comms.conftest import environment, settings_for
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)
from tests.feedback.conftest import NOW, ask

SECRET = "AKIAABCDEFGHIJKLMNOP"


@pytest.fixture
def rollout(db_url: str, fake_slack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `rollout ...` in-process with the test's settings; returns (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    env = environment(settings_for(db_url, fake_slack, tmp_path))

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


def test_pilot_add_remove_list_with_ids_and_a_user_group(rollout, fake_slack):
    fake_slack.workspace.add_usergroup("pilot-team", ["U0BOB", "U0CAROL"])

    assert rollout("pilot", "add", "U0ALICE", "@pilot-team")[1].startswith("Added 3 to the pilot")
    assert rollout("pilot", "add", "U0BOB")[1].startswith("Added 0 to the pilot (1 already in it)")
    assert rollout("pilot", "remove", "U0CAROL")[0] == 0
    assert json.loads(rollout("pilot", "list", "--json")[1]) == ["U0ALICE", "U0BOB"]
    code, _, err = rollout("pilot", "add", "@nobody")
    assert code == 1 and "no user group '@nobody'" in err


def test_survey_schedule_validates_and_lists(rollout):
    code, out, _ = rollout("survey", "schedule", "--cron", "0 10 * * fri", "--tz", "Europe/London")
    assert code == 0 and "#1: cron '0 10 * * fri' (Europe/London), reminder after 3 days" in out
    code, _, err = rollout("survey", "schedule", "--cron", "0 10 * *")
    assert code == 1 and "five fields" in err
    code, _, err = rollout("survey", "schedule", "--cron", "0 10 * * fri", "--tz", "Mars/Olympus")
    assert code == 1 and "unknown time zone" in err
    assert "#1" in rollout("survey", "list")[1]
    assert rollout("survey", "cancel", "1")[0] == 0 and "No pulse surveys" in rollout("survey", "list")[1]


def seed_feedback(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    store, feedback = Store(sessions), FeedbackStore(sessions)
    cid = ask(store, "Can I paste customer data into ChatGPT?", when=NOW)
    feedback.rate(cid, "U0ALICE", "not_helpful", NOW)
    # A secret that slipped into the database (e.g. through an old bug) must not leave it through an export.
    feedback.explain(cid, "U0ALICE", "wrong", f"my key {SECRET} and mail jo@example.com", NOW)
    feedback.add_response("k1", dict(user_id="U0BOB", ease=4, usefulness=5, saved_time="yes", team="sales",
                                     problems=f"token {SECRET}", comment="great"), NOW)
    engine.dispose()


def test_feedback_export_csv_and_json_never_include_secrets(rollout, db_url):
    rollout("pilot", "list")  # migrates
    seed_feedback(db_url)

    code, out, _ = rollout("feedback", "export")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["kind"] for r in rows] == ["rating", "survey"]
    assert rows[0]["vote"] == "not_helpful" and rows[0]["reason"] == "wrong" and rows[0]["sources"] == "AI Handbook"
    assert SECRET not in out and "jo@example.com" not in out and "[REDACTED" in out
    records = json.loads(rollout("feedback", "export", "--format", "json")[1])
    assert records[1]["team"] == "sales" and SECRET not in json.dumps(records)
    assert json.loads(rollout("feedback", "export", "--format", "json", "--since", "2099-01-01")[1]) == []
    code, _, err = rollout("feedback", "export", "--since", "last tuesday")
    assert code == 2 and "is not a time" in err
    everything = json.loads(rollout("feedback", "export", "--format", "json", "--since", "5200w")[1])
    assert len(everything) == 2  # the same --since as `rollout audit`: 24h, 7d, 2w or a date


def test_report_formats_and_png(rollout, tmp_path):
    code, out, _ = rollout("report")
    assert code == 0 and "Questions asked: 0" in out
    data = json.loads(rollout("report", "--format", "json", "--since", "2020-01-01")[1])
    assert data["current"]["questions"] == 0 and data["since"].startswith("2020-01-01")
    assert rollout("report", "--format", "markdown")[1].startswith("# Rollout pilot report")
    chart = tmp_path / "chart.png"
    assert rollout("report", "--png", str(chart))[0] == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5_000
