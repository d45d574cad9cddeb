"""Acked means durable: `rollout serve --http` killed or stopped while answers are owed, then started again.

Real processes, a real database (SQLite and PostgreSQL), the fake Slack holding chat.postMessage so the kill lands
after the ack and before the answer, deterministically."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.answering.work_store import WorkStore
from bot.comms.announcement_store import AnnouncementStore, PilotCohort
from bot.comms.blocks import ANNOUNCE_MODAL
from bot.store import make_engine, session_factory
from bot.store.models import Conversation
from tests.comms.test_announce_listeners import modal_values
from tests.fakes.payloads import message_event
from tests.fakes.signing import SlackSender
from tests.scenario.conftest import ANSWERABLE, BOT_TOKEN, SIGNING_SECRET
from tests.scenario.test_serving import _wait_for_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [ANSWERABLE, "Which AI tools are approved?", "How fast must I report a leaked API key?"]


class Serving:
    """`rollout serve --http` processes over one data directory and database, started one after another."""

    def __init__(self, knowledge_base, fake_slack, tmp_path: Path, database_url: str, **env):
        data_dir = tmp_path / "data"
        shutil.copytree(knowledge_base.index.data_dir, data_dir, dirs_exist_ok=True)
        self.slack, self.cwd, self.database_url = fake_slack, tmp_path, database_url
        self.env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": fake_slack.base_url, "ROLLOUT_DATA_DIR": str(data_dir),
                    "DATABASE_URL": database_url, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                    "PYTHONPATH": str(ROOT), **env}
        self.env.pop("SLACK_APP_TOKEN", None)
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.engine = make_engine(database_url)

    def start(self) -> Serving:
        command = [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--http", "--host",
                   "127.0.0.1", "--port", "0", "--no-scheduler"]
        self.process = subprocess.Popen(command, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.url, _ = _wait_for_url(self.process, timeout=300)  # a loaded 2-core machine loads the model slowly
        return self

    def ask(self, text: str, user: str) -> dict:
        """A DM to the bot, as Slack holds it and delivers it; the ack must be a 200."""
        event = message_event(text, user=user, channel=f"D{user}", channel_type="im")
        self.slack.workspace.add_message(event["channel"], text, user=user, ts=event["ts"])
        assert SlackSender(self.url, SIGNING_SECRET).event(event).status == 200
        return event

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> tuple[int, str]:
        self.process.send_signal(signum)
        output = self.process.communicate(timeout=timeout)[0]
        return self.process.returncode, output

    def pending(self) -> list:
        return WorkStore(session_factory(self.engine)).pending()

    def wait_until_nothing_pending(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.pending():
            assert time.monotonic() < deadline, f"still pending: {self.pending()}"
            time.sleep(0.2)

    def answers_by_thread(self) -> Counter:
        """How many answers reached each thread (posts Slack accepted)."""
        return Counter(c.params["thread_ts"] for c in self.slack.calls_to("chat.postMessage") if c.ok)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)
        self.engine.dispose()


@pytest.fixture
def serving(knowledge_base, fake_slack, tmp_path, db_url):
    made: list[Serving] = []

    def make(**env) -> Serving:
        made.append(Serving(knowledge_base, fake_slack, tmp_path, db_url, **env))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_questions_acked_before_a_sigkill_are_answered_once_after_the_restart(serving, fake_slack):
    fake_slack.hold_next("chat.postMessage", 1, act=True)  # Slack got this answer, its reply died with the process
    fake_slack.hold_next("chat.postMessage", 2, act=False)  # these never reached Slack
    first = serving(ROLLOUT_WORK_LEASE_SECONDS="2").start()
    events = [first.ask(text, user=f"U0ASKER{n}") for n, text in enumerate(QUESTIONS)]
    fake_slack.wait_held("chat.postMessage", 3)  # acked, answered, and stuck posting

    first.process.kill()  # SIGKILL: no chance to hand anything back
    first.process.communicate(timeout=30)
    assert len(first.pending()) == 3
    fake_slack.release()

    second = serving(ROLLOUT_WORK_LEASE_SECONDS="2").start()
    second.wait_until_nothing_pending()
    code, output = second.stop()

    assert code == 0, output
    assert second.answers_by_thread() == Counter({event["ts"]: 1 for event in events})
    assert "Traceback" not in output


def test_sigterm_finishes_within_the_bound_and_hands_back_the_rest(serving, fake_slack):
    fake_slack.hold_next("chat.postMessage", 1, act=False)
    first = serving(ROLLOUT_SHUTDOWN_SECONDS="1", ROLLOUT_WORK_LEASE_SECONDS="600").start()
    event = first.ask(ANSWERABLE, user="U0ALICE")
    fake_slack.wait_held("chat.postMessage")

    code, output = first.stop(signal.SIGTERM)

    assert code == 0, output
    assert "kept and answered when Rollout starts again" in output
    [left] = first.pending()
    assert left.key == f"message:{event['channel']}:{event['ts']}"
    fake_slack.release()
    second = serving(ROLLOUT_WORK_LEASE_SECONDS="600").start()  # handed back: no lease to wait out
    second.wait_until_nothing_pending(timeout=30)
    assert second.stop()[0] == 0
    assert second.answers_by_thread() == Counter({event["ts"]: 1})


def test_sigterm_lets_an_answer_under_way_finish(serving, fake_slack):
    fake_slack.hold_next("chat.postMessage", 1, act=True)
    first = serving(ROLLOUT_SHUTDOWN_SECONDS="60").start()
    event = first.ask(ANSWERABLE, user="U0ALICE")
    fake_slack.wait_held("chat.postMessage")

    first.process.send_signal(signal.SIGTERM)
    _wait_for_line(first.process, "Finishing the answers already under way")
    fake_slack.release()
    output = first.process.communicate(timeout=60)[0]

    assert first.process.returncode == 0, output
    assert first.pending() == []
    assert first.answers_by_thread() == Counter({event["ts"]: 1})


def test_a_click_acked_before_a_sigkill_is_done_once_after_the_restart(serving, fake_slack):
    """*Ask a person* is recorded before its ack; the process dies before doing any of it (Slack holds its first call,
    for the answer's link); the next process opens the ticket, posts it to the helpdesk once and tells the asker."""
    env = {"ROLLOUT_WORK_LEASE_SECONDS": "2", "ROLLOUT_HELPDESK_CHANNEL": "C0HELPDESK"}
    first = serving(**env).start()
    event = first.ask(ANSWERABLE, user="U0ALICE")
    first.wait_until_nothing_pending()
    with session_factory(first.engine)() as session:
        [conversation] = session.scalars(select(Conversation))
    fake_slack.hold_next("chat.getPermalink", 1, act=False)

    click = SlackSender(first.url, SIGNING_SECRET).block_action(
        "escalate", str(conversation.id), user_id="U0ALICE", channel_id=event["channel"],
        message_ts=conversation.reply_ts)
    assert click.status == 200
    fake_slack.wait_held("chat.getPermalink")
    first.process.kill()
    first.process.communicate(timeout=30)
    assert [item.kind for item in first.pending()] == ["click:escalate"]
    fake_slack.release()

    second = serving(**env).start()
    second.wait_until_nothing_pending()
    code, output = second.stop()

    assert code == 0, output
    tickets = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok and c.params["channel"] == "C0HELPDESK"]
    assert len(tickets) == 1 and tickets[0].params["text"].startswith("Ticket #")
    told = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok and c.params["channel"] == event["channel"]
            and "passed your question to the helpdesk" in c.params["text"]]
    assert len(told) == 1, [c.params["text"] for c in told]


def test_a_command_and_a_modal_acked_before_a_sigkill_are_done_once_after_the_restart(serving, fake_slack):
    """`/rollout pilot add @group` and the announcement modal are recorded before their acks. The process dies with
    the command's work waiting on Slack for the group's members (nothing changed yet) and the submission's draft
    stored but its preview DM not sent; the next process adds the group once, answers the admin once, keeps the one
    draft and sends its preview once."""
    fake_slack.workspace.add_usergroup("pilot-team", ["U0BOB", "U0CAROL"])
    env = {"ROLLOUT_WORK_LEASE_SECONDS": "2", "ROLLOUT_ADMINS": "U0ADMIN"}
    fake_slack.hold_next("usergroups.list", 1, act=False)
    fake_slack.hold_next("chat.postMessage", 1, act=False)
    first = serving(**env).start()
    sender = SlackSender(first.url, SIGNING_SECRET)

    command = sender.command(text="pilot add @pilot-team", user_id="U0ADMIN",
                             response_url=fake_slack.response_url("pilot"))
    modal = sender.view_submission(ANNOUNCE_MODAL, modal_values("Phase 2 starts on Monday", "pilot",
                                                                cron="0 9 * * 1"), user_id="U0ADMIN")
    assert (command.status, modal.status, modal.body) == (200, 200, "")
    assert "Updating the pilot" in command.body
    fake_slack.wait_held("usergroups.list")
    fake_slack.wait_held("chat.postMessage")
    first.process.kill()
    first.process.communicate(timeout=30)
    assert sorted(item.kind for item in first.pending()) == ["command:pilot", "view:announce"]
    fake_slack.release()

    second = serving(**env).start()
    second.wait_until_nothing_pending()
    code, output = second.stop()

    assert code == 0, output
    sessions = session_factory(second.engine)
    assert sorted(PilotCohort(sessions).members()) == ["U0BOB", "U0CAROL"]
    answers = [c.params["text"] for c in fake_slack.calls_to("response_url") if c.ok]
    assert answers == ["Added 2 to the pilot (0 already in it); 2 members."]
    [draft] = AnnouncementStore(sessions).list()
    previews = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok and c.params["channel"] == "U0ADMIN"]
    assert len(previews) == 1 and draft.id in str(previews[0].params["blocks"]) and draft.status == "draft"
    assert "Traceback" not in output


def _wait_for_line(process: subprocess.Popen, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
        assert line or process.poll() is None, f"process ended before printing {text!r}"
    raise AssertionError(f"{text!r} not printed within {timeout}s")
