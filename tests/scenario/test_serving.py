"""Starting Rollout: Socket Mode against a fake, `rollout serve` as a real process, and clear set-up errors."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.runtime import build_runtime
from bot.slack.app import create_app
from bot.slack.transport import SocketModeServer
from tests.fakes.payloads import message_event
from tests.fakes.signing import SlackSender
from tests.scenario.conftest import ANSWERABLE, APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, section_texts, settings_for

ROOT = Path(__file__).resolve().parents[2]


def test_socket_mode_starts_answers_an_event_and_acks_commands(knowledge_base, fake_slack, fake_socket_mode,
                                                               sqlite_url):
    settings = settings_for(fake_slack, sqlite_url, slack_signing_secret=None, slack_app_token=APP_TOKEN)
    runtime = build_runtime(settings, knowledge_base=knowledge_base)
    services = runtime.services
    server = SocketModeServer(create_app(runtime), APP_TOKEN).start()
    try:
        event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")
        envelope = fake_socket_mode.push_event(event)
        assert fake_socket_mode.wait_for_ack(envelope) == {"envelope_id": envelope}
        [post] = fake_slack.wait_for("chat.postMessage")
        help_ack = fake_socket_mode.wait_for_ack(fake_socket_mode.push_command(text="help"))
        retry = fake_socket_mode.push_event(event, retry_attempt=1, retry_reason="timeout")
        fake_socket_mode.wait_for_ack(retry)
        assert services.wait_idle(20)
    finally:
        fake_socket_mode.stop()
        server.stop()
        runtime.close()

    assert post.params["thread_ts"] == event["ts"] and "Data Protection Officer" in section_texts(post.params["blocks"])
    assert "What Rollout can do" in section_texts(help_ack["payload"]["blocks"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("apps.connections.open")[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"


@pytest.mark.parametrize("args, missing", [
    (["serve"], ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]),
    (["serve", "--http"], ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]),
])
def test_serve_without_credentials_says_which_are_missing_and_where_to_get_them(tmp_path, monkeypatch, args,
                                                                                missing):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)

    result = CliRunner().invoke(main, args)

    assert result.exit_code == 1
    first_line = result.output.splitlines()[0]
    assert all(name in first_line for name in missing)
    assert "OAuth & Permissions" in result.output and "manifest.yml" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_token_of_the_wrong_kind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)

    result = CliRunner().invoke(main, ["serve"])

    assert result.exit_code == 1 and "starts with xoxb-" in result.output


@pytest.mark.slow
def test_rollout_serve_http_runs_answers_and_stops_gracefully(knowledge_base, fake_slack, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(knowledge_base.index.data_dir, data_dir)
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": fake_slack.base_url, "ROLLOUT_DATA_DIR": str(data_dir), "DATABASE_URL": "",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("SLACK_APP_TOKEN", None)
    command = [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--http", "--host", "127.0.0.1",
               "--port", "0"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        url, started = _wait_for_url(process)
        with urllib.request.urlopen(url + "/healthz", timeout=5) as health:
            assert health.status == 200
        event = message_event(ANSWERABLE, channel="D0ALICE", channel_type="im")
        assert SlackSender(url, SIGNING_SECRET).event(event).status == 200
        fake_slack.wait_for("chat.postMessage", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]

    assert process.returncode == 0, output
    assert "Scheduled announcements, surveys and reports run in this process" in started
    assert (data_dir / "rollout.db").exists()
    assert BOT_TOKEN not in output and "Traceback" not in output


def _wait_for_url(process: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    """The server's URL once it listens, and what it printed until then."""
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if match := re.search(r"listening on (http://\S+)/slack/events", line):
            return match.group(1), "".join(seen)
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"rollout serve did not start: {process.stdout.read() if process.poll() is not None else ''}")
