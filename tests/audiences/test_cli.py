"""`rollout audiences` and `rollout ask --as-audience` as a user runs them (click's runner, the real model and Chroma
over our sample policies, SQLite under a temp data dir): one clear line and a non-zero exit on bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

POLICIES = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
RETENTION = "How long are prompts and responses stored?"


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("audiences-cli") / "data"
    env = {"ROLLOUT_DATA_DIR": str(data), "DATABASE_URL": "", "SLACK_BOT_TOKEN": "", "CHROMA_URL": "",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = CliRunner().invoke(main, ["ingest", str(POLICIES)], env=env)
    assert result.exit_code == 0, result.output
    return env


def run(env, *args: str):
    return CliRunner().invoke(main, list(args), env=env)


def test_audiences_are_added_listed_checked_and_removed(env):
    added = run(env, "audiences", "add", "Engineering", "U0ALICE", "@eng-team")
    assert added.exit_code == 0 and added.output == "Added 2 to audience 'engineering' (0 already in it).\n"
    assert run(env, "audiences", "add", "engineering", "U0ALICE").output.startswith("Added 0 ")
    listing = run(env, "audiences", "list").output.splitlines()
    assert listing == ["engineering: @eng-team, U0ALICE + Slack user group @engineering, if there is one",
                       "pilot: nobody added + the pilot cohort + Slack user group @pilot, if there is one"]
    assert json.loads(run(env, "audiences", "list", "--json").output) == {
        "audiences": {"engineering": ["@eng-team", "U0ALICE"]}, "in_documents": ["engineering", "pilot"]}
    assert run(env, "audiences", "of", "U0ALICE").output == "engineering\n"
    removed = run(env, "audiences", "remove", "engineering", "U0ALICE")
    assert removed.output == "Removed 1 from audience 'engineering'.\n"
    assert run(env, "audiences", "of", "U0ALICE").output.startswith("U0ALICE gets the general answers")


@pytest.mark.parametrize("args, message", [
    (["audiences", "add", "All staff", "U0ALICE"], "'All staff' is not an audience name"),
    (["audiences", "add", "engineering", "alice"], "'alice' is neither a Slack user id (U…) nor a user group handle"),
    (["audiences", "remove", "everyone", "U0ALICE"], "'everyone' is not an audience name"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(env, args, message):
    result = run(env, *args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_ask_as_an_audience_answers_with_that_audiences_rule_first(env):
    pilot = run(env, "ask", "--as-audience", "pilot", RETENTION)
    assert pilot.exit_code == 0 and "As a pilot participant:" in pilot.output and "90 days" in pilot.output
    assert "For everyone else:" in pilot.output and "kept for 30 days" in pilot.output
    general = run(env, "ask", RETENTION)
    assert general.exit_code == 0 and "pilot participants" not in general.output
    engineer = json.loads(run(env, "ask", "--json", "--as-audience", "engineering", "--as-audience", "pilot",
                              "Where should I keep my AI Gateway key?").output)
    assert engineer["answer"].startswith("**As a member of engineering:**") and engineer["answered"] is True


def test_ask_refuses_an_audience_that_is_not_a_name(env):
    result = run(env, "ask", "--as-audience", "All employees", RETENTION)
    assert result.exit_code == 2 and "is not an audience name" in result.output and "Traceback" not in result.output
