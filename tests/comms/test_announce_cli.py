"""`rollout announce ...` through the real CLI, against the fake Slack and a real database (SQLite, PostgreSQL)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from bot.cli import main
from bot.comms.tables import Announcement
from bot.store import session_factory
from tests.comms.conftest import StrictSlack, environment, settings_for

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)  # the tests' 2031-01-18 is ahead, 2020-01-01 is past


@pytest.fixture
def rollout(db_url: str, slack: StrictSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, time_machine):
    """Run `rollout ...` in-process with the test's settings, the clock frozen at NOW; returns (exit code, stdout,
    stderr)."""
    time_machine.move_to(NOW, tick=False)
    monkeypatch.chdir(tmp_path)  # no developer .env
    env = environment(settings_for(db_url, slack, tmp_path))

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


def stored(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Announcement))


def later(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0).isoformat()


def test_schedule_prints_the_job_id_and_list_show_preview_edit_cancel_use_it(rollout, engine) -> None:
    code, out, err = rollout("announce", "schedule", "--text", "**Pilot** starts [today](https://intra.example/p)",
                             "--at", "2031-01-18T09:00", "--tz", "Europe/London", "--to", "C0GENERAL", "pilot-team")
    assert code == 0, err
    job_id = out.strip()
    assert job_id.startswith("ann-") and len(out.splitlines()) == 1
    assert "once at 2031-01-18 09:00 GMT" in err and "C0GENERAL pilot-team" in err

    code, out, _ = rollout("announce", "list", "--json")
    [listed] = json.loads(out)
    assert (listed["id"], listed["status"], listed["targets"]) == (job_id, "scheduled", ["C0GENERAL", "pilot-team"])
    assert listed["next_run"] == "2031-01-18T09:00:00+00:00"
    assert job_id in rollout("announce", "list")[1]

    code, out, _ = rollout("announce", "preview", job_id)
    blocks = json.loads(out)["blocks"]
    assert blocks[0]["text"]["text"] == "*Pilot* starts <https://intra.example/p|today (intra.example)>"

    code, out, _ = rollout("announce", "edit", job_id, "--cron", "0 9 * * mon", "--to", "engineering")
    assert code == 0 and "cron '0 9 * * mon' (Europe/London)" in out and "to engineering" in out
    code, out, _ = rollout("announce", "show", job_id)
    assert "Next runs: " in out and "09:00 GMT" in out and "engineering" in out

    assert rollout("announce", "cancel", job_id)[:2] == (0, f"Cancelled {job_id}.\n")
    assert json.loads(rollout("announce", "list", "--json")[1]) == []
    code, out, _ = rollout("announce", "edit", job_id, "--text", "too late")
    assert code == 1 and "is cancelled" in out + _
    assert stored(engine) == 1


@pytest.mark.parametrize("args, message", [
    (["--at", "2020-01-01T09:00"], "2020-01-01T09:00 is in the past"),
    (["--cron", "0 25 * * *"], "is not a valid cron expression"),
    (["--cron", "0 9 * *"], "needs five fields"),
    (["--at", "2031-01-18T09:00", "--tz", "Europe/Leeds"], "unknown time zone 'Europe/Leeds'"),
    (["--at", "2031-01-18T09:00", "--to-extra"], "No such option"),
    (["--at", "2031-01-18T09:00", "--cron", "0 9 * * *"], "not both or neither"),
])
def test_bad_times_are_refused_before_anything_is_stored(rollout, engine, args, message) -> None:
    code, out, err = rollout("announce", "schedule", "--text", "hello", *args, "--to", "C0GENERAL")
    assert code != 0
    assert message in out + err
    assert stored(engine) == 0


@pytest.mark.parametrize("targets, message", [
    (["C0NOSUCH"], "channel C0NOSUCH can't be used (channel_not_found)"),
    (["no-such-team"], "there is no user group 'no-such-team'"),
    (["U0NOBODY"], "user U0NOBODY can't be sent a DM (user_not_found)"),
    (["#general"], "use the channel's id"),
])
def test_unknown_targets_are_refused_before_anything_is_stored(rollout, engine, targets, message) -> None:
    code, out, err = rollout("announce", "schedule", "--text", "hello", "--at", later(days=1), "--to", *targets)
    assert code == 1
    assert message in err and err.startswith("Error: ")
    assert stored(engine) == 0


def test_text_comes_from_text_or_file_and_unknown_ids_are_named(rollout, tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Welcome\n\n- one\n- two\n", encoding="utf-8")
    code, out, err = rollout("announce", "schedule", "--file", str(note), "--at", later(days=1), "--to", "U0ALICE")
    assert code == 0, err
    preview = json.loads(rollout("announce", "preview", out.strip())[1])
    assert preview["blocks"][0]["text"]["text"] == "*Welcome*\n• one\n• two"
    code, _, err = rollout("announce", "schedule", "--at", later(days=1), "--to", "U0ALICE")
    assert code == 1 and "has no text" in err
    for command in ("show", "cancel", "preview", "history"):
        code, _, err = rollout("announce", command, "ann-nope")
        assert code == 1 and "no announcement ann-nope: see `rollout announce list`" in err
