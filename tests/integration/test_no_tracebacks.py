"""Every `rollout` command and subcommand, found by walking the click tree (a new command fails here until it has
cases): run with bad input, and with Slack and the database unreachable. None may print a traceback or an
"unexpected error", an error must exit non-zero with one "Error: ..." line, and a command that needs Slack or the
database must say which one it could not reach.

In-process with click's CliRunner (an exception escaping a command is `result.exception`, which a real run would
print as a traceback); `rollout scheduler`, which runs until stopped, in a real process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli import main
from bot.store import make_engine, migrate
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
SLACK_DOWN = "reach Slack"
DATABASE_DOWN = "cannot open the database"


@dataclass(frozen=True)
class Case:
    """How to run one command: `args` that would work were Slack and the database there (with `needs` naming which
    it needs, so an unreachable one must be named), and `bad` inputs that must each fail cleanly."""

    args: tuple[str, ...]
    bad: tuple[tuple[str, ...], ...]
    needs: frozenset[str] = field(default_factory=frozenset)
    runs_until_stopped: bool = False


def case(args, *bad, needs=(), runs_until_stopped=False) -> Case:
    return Case(tuple(args), tuple(tuple(b) for b in bad), frozenset(needs), runs_until_stopped)


DB, SLACK = "database", "slack"
AT = ("--at", "2031-01-18T09:00")
# {name} is replaced by a file of the test's folder (see `files`).
CASES: dict[str, Case] = {
    "ingest": case(["{missing}"], [], ["{missing}"], ["{plan}"]),
    "forget": case(["{policy}"], ["{policy}"], ["never-ingested.md"]),
    "ask": case(["which AI tools are approved?"], ["   "], ["x" * 4001], ["-", "--json", "extra"], needs=[DB]),
    "sources": case([], ["extra"]),
    "eval": case(["--dataset", "{missing}", "--corpus", "{folder}"], ["--dataset", "{missing}", "--corpus", "{folder}"],
                 ["--dataset", "{plan}"]),
    "chat": case([], ["extra"], needs=[DB]),
    "start": case([], ["extra"], needs=[SLACK, DB]),  # with a token and signing secret it serves, else chats
    "serve": case(["--http", "--port", "0"], ["--port", "99999"], ["--http", "--port", "0"], needs=[SLACK]),
    "scheduler": case([], [], needs=[DB], runs_until_stopped=True),  # no token: refused
    "announce schedule": case(
        ["--text", "Pilot starts", *AT, "--to", "C0GENERAL"],
        ["--text", "hi", "--at", "2020-01-01T09:00", "--to", "pilot"],
        ["--text", "hi", "--at", "2027-18-01T09:00", "--to", "pilot"],
        ["--text", "hi", *AT, "--to", "#general"],
        ["--text", "   ", *AT, "--to", "pilot"],
        ["--text", "hi", "--cron", "every monday", "--to", "pilot"],
        ["--text", "hi", *AT, "--tz", "Mars/Olympus", "--to", "pilot"],
        ["--file", "{latin1}", *AT, "--to", "pilot"],
        ["--text", "hi", *AT, "--to", "C0GENERAL"],  # no SLACK_BOT_TOKEN to check it: refused, --dry-run says so
        needs=[SLACK, DB]),
    "announce list": case([], ["--bogus"], needs=[DB]),
    "announce show": case(["ann-00000000"], ["ann-00000000"], needs=[DB]),
    "announce cancel": case(["ann-00000000"], ["ann-00000000"], needs=[DB]),
    "announce edit": case(["ann-00000000", "--text", "new"], ["ann-00000000", "--text", "new"], needs=[DB]),
    "announce preview": case(["ann-00000000"], ["ann-00000000"], needs=[DB]),
    "announce history": case(["ann-00000000"], ["ann-00000000"], needs=[DB]),
    "plan init": case(["{new_plan}", "--start", "2031-01-06", "--force"], ["{folder}"],
                      ["{new_plan}", "--start", "2027-18-01"]),
    "plan apply": case(["{plan}"], ["{bad_date_plan}"], ["{not_yaml}"], ["{missing}"], ["{plan}"], needs=[SLACK, DB]),
    "plan diff": case(["{plan}"], ["{bad_date_plan}"], ["{not_yaml}"], ["{missing}"], needs=[DB]),
    "plan show": case(["{plan}"], ["{bad_date_plan}"], ["{not_yaml}"], ["{missing}"], needs=[DB]),
    "ack start": case(["--policy", "{policy}", "--to", "C0GENERAL", "--deadline", "2031-02-01"],
                      ["--policy", "{policy}", "--to", "pilot", "--deadline", "someday"],
                      ["--policy", "{missing}", "--to", "pilot", "--deadline", "2031-02-01"],
                      ["--policy", "{policy}", "--to", "C0GENERAL", "--deadline", "2031-02-01"],
                      needs=[SLACK, DB]),
    "ack status": case([], ["--campaign", "one"], needs=[DB]),
    "pilot add": case(["@pilot-team"], ["not a user"], ["@pilot-team"], needs=[SLACK, DB]),
    "pilot remove": case(["U0ALICE1"], ["not a user"], needs=[DB]),
    "pilot list": case([], ["--bogus"], needs=[DB]),
    "survey schedule": case(["--cron", "0 10 * * fri"], ["--cron", "every friday"],
                            ["--cron", "0 10 * * fri", "--tz", "Mars/Olympus"], needs=[DB]),
    "survey list": case([], ["extra"], needs=[DB]),
    "survey cancel": case(["7"], ["7"], ["seven"], needs=[DB]),
    "feedback export": case([], ["--since", "yesterday"], ["--format", "xml"], needs=[DB]),
    "report": case(["--png", "{chart}"], ["--png", "{folder}/chart.jpg"], ["--png", "{folder}/missing/chart.png"],
                   ["--since", "2999-01-01"], needs=[DB]),
    "recall preview": case([], ["--bogus"], ["--run"], needs=[DB]),
    "recall send": case([], [], ["--run"], needs=[DB]),  # offline: no SLACK_BOT_TOKEN, refused; Slack only if sending
    "recall list": case([], ["--status", "lost"], needs=[DB]),
    "audiences add": case(["pilot", "U0123ABCD"], ["Bad Name!", "U0123ABCD"], needs=[DB]),
    "audiences remove": case(["pilot", "U0123ABCD"], ["Bad Name!", "U0123ABCD"], needs=[DB]),
    "audiences list": case([], ["--bogus"], needs=[DB]),
    "audiences of": case(["U0123ABCD"], [], needs=[DB]),
    "channels list": case([], ["--bogus"], needs=[DB]),
    "channels set": case(["C0123ABCD", "--answer-mode", "auto"], ["#general", "--answer-mode", "auto"], needs=[DB]),
    "channels show": case(["C0123"], [], needs=[DB]),
    "demo": case([], ["--bogus"]),
    "tickets list": case([], ["--status", "lost"], needs=[DB]),
    "faq list": case([], ["extra"], needs=[DB]),
    "faq remove": case(["7"], ["7"], ["seven"], needs=[DB]),
    "audit": case([], ["--since", "yesterday"], needs=[DB]),
}


def leaf_commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every runnable command of the tree, as typed after `rollout`."""
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += leaf_commands(command, prefix + (name,))
        else:
            found.append(" ".join(prefix + (name,)))
    return found


COMMANDS = leaf_commands()


def test_every_command_has_cases_and_every_case_a_command() -> None:
    missing = [c for c in COMMANDS if c not in CASES]
    assert not missing, f"add bad-input and unreachable cases for: {', '.join('rollout ' + c for c in missing)}"
    assert not set(CASES) - set(COMMANDS), "cases for commands that no longer exist"


# -- the environments ----------------------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("inputs")
    runner = CliRunner()
    plan = folder / "plan.yml"
    result = runner.invoke(main, ["plan", "init", str(plan), "--start", "2031-01-06"],
                           env={"DATABASE_URL": f"sqlite:///{folder / 'init.db'}", "SLACK_BOT_TOKEN": None})
    assert result.exit_code == 0, result.output
    text = plan.read_text(encoding="utf-8")
    first_start = next(line for line in text.splitlines() if line.strip().startswith("start:"))
    bad = folder / "bad-date.yml"
    bad.write_text(text.replace(first_start, first_start.split(":")[0] + ": 2027-18-01", 1), encoding="utf-8")
    (folder / "not-yaml.yml").write_text("plan: [unclosed\n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Caf\xe9 opens".encode("latin-1"))
    policy = folder / "policy.md"
    policy.write_text("# Policy\n\nUse approved tools only.\n", encoding="utf-8")
    return {"folder": str(folder), "plan": str(plan), "bad_date_plan": str(bad), "not_yaml": str(folder / "not-yaml.yml"),
            "latin1": str(folder / "latin1.txt"), "policy": str(policy), "missing": str(folder / "missing.yml"),
            "new_plan": str(folder / "new-plan.yml"), "chart": str(folder / "chart.png")}


def environment(kind: str, tmp_path: Path) -> dict[str, str | None]:
    """Settings as environment variables: "offline" (no Slack token, a local SQLite database), "slack-down" (a token,
    Slack's API at a closed port) or "database-down" (DATABASE_URL at a closed port)."""
    env: dict[str, str | None] = {name: None for name in os.environ
                                  if name.startswith(("ROLLOUT_", "SLACK_", "DATABASE_", "CHROMA_", "OPENAI_"))}
    env |= {"ROLLOUT_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": f"sqlite:///{tmp_path / 'rollout.db'}",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if kind == "slack-down":
        env |= {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-secret",
                "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/"}
    elif kind == "database-down":
        env["DATABASE_URL"] = f"postgresql+psycopg://rollout:hunter2@127.0.0.1:{closed_port()}/rollout"
    return env


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    def clean(self) -> None:
        """No traceback, no unexpected error; an error is one "Error: ..." line and a non-zero exit."""
        escaped = None if isinstance(self.exception, SystemExit) else self.exception
        assert escaped is None, f"escaped the command (a traceback in a real run): {escaped!r}"
        output = self.stdout + self.stderr
        assert "Traceback" not in output and "unexpected error" not in output, output
        if self.code != 0:
            assert "Error: " in self.stderr, f"exit {self.code} without saying why:\n{output}"
            error_lines = self.stderr.split("Error: ", 1)[1].strip().splitlines()
            assert error_lines and "hunter2" not in self.stderr, self.stderr
        else:
            assert "Error: " not in self.stderr, f"an error, yet exit 0:\n{output}"


def run(command: str, args: tuple[str, ...], env: dict, files: dict[str, str], tmp_path: Path,
        until_stopped: bool = False) -> Outcome:
    argv = command.split() + [a.format(**files) for a in args]
    if until_stopped:
        return run_process(argv, env, tmp_path)
    result = CliRunner().invoke(main, argv, env=env, input="")
    return Outcome(result.exit_code, result.stdout, result.stderr, result.exception)


def run_process(argv: list[str], env: dict, cwd: Path, started: str = "running") -> Outcome:
    """A command that runs until stopped, in a real process: it fails, or says it is `started` and is stopped with
    SIGTERM, as a platform stops it."""
    full_env = {k: v for k, v in (os.environ | env).items() if v is not None}
    process = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", *argv], cwd=cwd,
                               env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while process.poll() is None and not any(started in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    stdout = process.communicate(timeout=30)[0]
    reader.join(5)
    return Outcome(process.returncode, stdout, "".join(lines))


# -- the tests -----------------------------------------------------------------------------------------------------


BAD = [(c, args) for c in COMMANDS if c in CASES for args in CASES[c].bad]


@pytest.mark.parametrize("command, args", BAD, ids=[f"{c}:{' '.join(a)[:40]}" for c, a in BAD])
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(command, args, files, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    outcome = run(command, args, environment("offline", tmp_path), files, tmp_path)
    outcome.clean()
    assert outcome.code != 0, f"rollout {command} {' '.join(args)} accepted bad input:\n{outcome.stdout}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c in CASES])
@pytest.mark.parametrize("down", ["slack-down", "database-down"])
def test_slack_or_the_database_unreachable_is_named_never_a_traceback(command, down, files, tmp_path,
                                                                      monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    c = CASES[command]
    outcome = run(command, c.args, environment(down, tmp_path), files, tmp_path, c.runs_until_stopped)
    outcome.clean()
    needed = {"slack-down": (SLACK, SLACK_DOWN), "database-down": (DB, DATABASE_DOWN)}[down]
    if needed[0] in c.needs:
        assert outcome.code != 0 and needed[1] in outcome.stderr, outcome.stdout + outcome.stderr


NEWER_REVISION = "0999_from_a_newer_rollout"


@pytest.fixture
def newer_database(db_url: str) -> str:
    """A real database (SQLite, then PostgreSQL) a newer Rollout has migrated: its revision is unknown here."""
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": NEWER_REVISION})
    engine.dispose()
    return db_url


def run_command_or_process(argv, started, env, files, tmp_path):
    """A command run once (`started` None), or a long-running process that must stop on its own: its outcome, clean."""
    if started is None:
        outcome = run(" ".join(argv), (), env, files, tmp_path)
    else:
        outcome = run_process(argv, env, tmp_path, started=started)
    outcome.clean()
    return outcome


@pytest.mark.parametrize("argv, started", [
    (["announce", "list"], None),
    (["scheduler"], "running"),  # real processes, as a platform starts them
    (["serve", "--http", "--host", "127.0.0.1", "--port", "0", "--no-scheduler"], "listening on"),
], ids=["command", "scheduler", "serve"])
def test_a_database_a_newer_rollout_migrated_is_named_with_what_to_do(argv, started, newer_database, fake_slack,
                                                                     files, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = environment("offline", tmp_path) | {
        "DATABASE_URL": newer_database, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-secret",
        "SLACK_API_URL": fake_slack.base_url}
    outcome = run_command_or_process(argv, started, env, files, tmp_path)
    [line] = [line for line in outcome.stderr.splitlines() if line.startswith("Error: ")]
    assert outcome.code == 1 and "upgraded by a newer Rollout" in line and NEWER_REVISION in line, outcome.stderr
    assert "install that newer Rollout or a later one, or point DATABASE_URL at another database" in line


@pytest.mark.parametrize("argv, started", [(["announce", "list"], None), (["scheduler"], "running")],
                         ids=["command", "scheduler"])
@pytest.mark.parametrize("rate", ["0", "-1", "nan"])
def test_a_send_rate_the_fan_out_cannot_use_is_named(argv, started, rate, fake_slack, files, tmp_path,
                                                     monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = environment("offline", tmp_path) | {"ROLLOUT_SEND_RATE": rate, "SLACK_BOT_TOKEN": "xoxb-test",
                                              "SLACK_API_URL": fake_slack.base_url}
    outcome = run_command_or_process(argv, started, env, files, tmp_path)
    assert outcome.code == 1 and "Error: ROLLOUT_SEND_RATE: " in outcome.stderr, outcome.stderr
