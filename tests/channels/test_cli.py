"""`rollout channels list|set|show` over a real database: clear lines, and a clear error (never a traceback)."""
from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main


def run(args, db_url, tmp_path, **env):
    env = {"DATABASE_URL": db_url, "ROLLOUT_DATA_DIR": str(tmp_path / "data"), **env}
    return CliRunner().invoke(main, ["channels", *args], env=env)


def test_set_show_and_list(db_url, tmp_path):
    assert "No channel has settings yet" in run(["list"], db_url, tmp_path).output
    done = run(["set", "C0POLICY", "--answer-mode", "auto", "--private-answers", "--audience", "pilot",
                "--audience", "engineering", "--escalate-to", "C0HELP2"], db_url, tmp_path)
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Saved. C0POLICY")

    shown = run(["show", "C0POLICY"], db_url, tmp_path)
    assert shown.exit_code == 0
    assert "answers: every question (auto)" in shown.output and "private answers: on" in shown.output
    assert "audience: pilot, engineering" in shown.output and "escalate to: C0HELP2" in shown.output
    assert "by cli" in shown.output

    run(["set", "C0POLICY", "--public-answers", "--escalate-to", "none"], db_url, tmp_path)
    listed = run(["list"], db_url, tmp_path, ROLLOUT_HELPDESK_CHANNEL="C0HELPDESK")
    assert listed.exit_code == 0 and listed.output.count("\n") == 1
    assert "private answers: off" in listed.output and "audience: pilot, engineering" in listed.output
    assert "escalate to: C0HELPDESK (default)" in listed.output and "every question (auto)" in listed.output


def test_a_channel_never_set_shows_the_defaults(db_url, tmp_path):
    shown = run(["show", "C0QUIET"], db_url, tmp_path)
    assert shown.exit_code == 0 and "(defaults: not configured)" in shown.output
    assert "answers: when mentioned" in shown.output and "audience: everyone" in shown.output


def test_bad_input_is_one_clear_error_and_a_non_zero_exit(db_url, tmp_path):
    cases = {
        ("set", "#general", "--answer-mode", "off"): "Give the channel's id",
        ("set", "C0POLICY", "--answer-mode", "loud"): "'loud' is not one of",
        ("set", "C0POLICY", "--audience", "pilot!"): "is not an audience name",
        ("set", "C0POLICY", "--escalate-to", "#helpdesk"): "Escalate to: Give the channel's id",
        ("set", "C0POLICY"): "nothing to change",
        ("show", "general"): "is not a channel id",
    }
    for args, says in cases.items():
        result = run(list(args), db_url, tmp_path)
        assert result.exit_code != 0 and says in result.output, (args, result.output)
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception,
                                                                                               SystemExit)
    assert "No channel has settings yet" in run(["list"], db_url, tmp_path).output
