"""Two real `rollout serve --http` workers sharing a database and PROMETHEUS_MULTIPROC_DIR: one scrape sums both,
a previous run's counts are cleared at start, and ROLLOUT_LOG_FORMAT=json gives one parseable JSON object per line
that ties a question's ack, answer and feedback together without its text."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.payloads import message_event
from tests.fakes.signing import SlackSender
from tests.scenario.conftest import BOT_TOKEN, SIGNING_SECRET, button_value
from tests.scenario.test_operations import scrape
from tests.scenario.test_serving import _wait_for_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "When does the DPO have to be told if an AI incident involves personal data? (ref rhubarb-7)"


@pytest.fixture
def workers(knowledge_base, fake_slack, tmp_path):
    """start(name, **env) -> a started worker's URL and stderr path; all stopped at the end."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    shared = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
              "SLACK_API_URL": fake_slack.base_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'rollout.db'}",
              "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONPATH": str(ROOT)}
    shared.pop("SLACK_APP_TOKEN", None)
    started: list[subprocess.Popen] = []

    def start(name: str, **env) -> subprocess.Popen:
        data_dir = tmp_path / name  # Chroma's embedded store stays one process's; the database is shared
        shutil.copytree(knowledge_base.index.data_dir, data_dir)
        stderr = (tmp_path / f"{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--http", "--host", "127.0.0.1",
             "--port", "0", "--no-scheduler"], env={**shared, "ROLLOUT_DATA_DIR": str(data_dir), **env},
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True)
        process.log = tmp_path / f"{name}.log"
        started.append(process)
        return process

    start.metrics_dir, start.env = metrics_dir, shared
    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def wait_for_scrape(url: str, condition, timeout: float = 60) -> dict:
    """The first scrape of `url` meeting `condition` (an answer is counted just after Slack receives it)."""
    deadline = time.monotonic() + timeout
    while not condition(sample := scrape(url)):
        assert time.monotonic() < deadline, sample
        time.sleep(0.1)
    return sample


def test_two_workers_are_summed_and_json_logs_tie_a_question_together(workers, fake_slack, tmp_path):
    previous_run = "from bot.metrics import metrics; metrics().question('dm', 'answer', True)"
    subprocess.run([sys.executable, "-c", previous_run], env=workers.env, check=True, timeout=120)
    assert list(workers.metrics_dir.glob("counter_*.db"))  # left by a run that has ended
    first = workers("first", ROLLOUT_LOG_FORMAT="json", ROLLOUT_LOG_LEVEL="INFO")
    second = workers("second")
    urls = [_wait_for_url(process, timeout=300)[0] for process in (first, second)]

    events = []
    for n, url in enumerate(urls):
        event = message_event(QUESTION, user=f"U0WORKER{n}", channel=f"D0WORKER{n}", channel_type="im")
        fake_slack.workspace.add_message(event["channel"], QUESTION, user=event["user"], ts=event["ts"])
        assert SlackSender(url, SIGNING_SECRET).event(event).status == 200
        events.append(event)
    answers = fake_slack.wait_for("chat.postMessage", count=2, timeout=120)
    [answer] = [a for a in answers if a.params["channel"] == events[0]["channel"]]
    click = SlackSender(urls[0], SIGNING_SECRET).block_action(
        "feedback_helpful", button_value(answer.params["blocks"], "feedback_helpful"), user_id="U0WORKER0",
        channel_id=answer.params["channel"], message_ts=answer.response["ts"], blocks=answer.params["blocks"],
        response_url=fake_slack.response_url("thanks"))
    assert click.status == 200
    fake_slack.wait_for("response_url")

    sample = wait_for_scrape(urls[1], lambda s: s.get(("rollout_answer_seconds_count", (("surface", "dm"),))) == 2)
    # either worker serves both workers' counts, and none of the previous run's
    assert sum(sample.get(("rollout_questions_total", (("outcome", outcome), ("surface", "dm"))), 0)
               for outcome in ("answered", "dont_know")) == 2
    assert sample[("rollout_ack_seconds_count", ())] == 3
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0

    records = [json.loads(line) for line in first.log.read_text().splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "event"} <= set(r) for r in records)
    key = f"message:{events[0]['channel']}:{events[0]['ts']}"
    mine = [r for r in records if r.get("work_id") == key]
    assert any("recorded" in r["event"] for r in mine)  # the ack
    [answered] = [r for r in mine if r.get("conversation_id")]
    assert answered["channel"] == events[0]["channel"] and answered["surface"] == "dm" and answered["user_hash"]
    assert any(r.get("conversation_id") == answered["conversation_id"] and "helpful" in r["event"]
               for r in records if r is not answered)  # the feedback, tied by the conversation
    text = first.log.read_text()
    assert "rhubarb-7" not in text and BOT_TOKEN not in text and SIGNING_SECRET not in text
