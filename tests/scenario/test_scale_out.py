"""The scale-out as the Procfile starts it: `honcho start -c web=2` runs two `rollout serve --http` workers, the
scheduler and a `chroma run` server, on PostgreSQL. Questions asked through each worker (signed events over real
HTTP, the fake Slack Web API) are answered once, from the Chroma server; the scheduler sends an announcement once."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.answering.work_store import WorkStore
from bot.comms.scheduling import open_comms
from bot.store import make_engine, session_factory
from knowledge.index import KnowledgeIndex
from tests.chroma_server import free_port, wait_for_heartbeat
from tests.comms.conftest import wait_until
from tests.comms.test_processes import runs_of
from tests.conftest import _postgres_schema
from tests.fakes.payloads import message_event
from tests.fakes.signing import SlackSender
from tests.scenario.conftest import ANSWERABLE, BOT_TOKEN, SIGNING_SECRET, section_texts, settings_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUESTIONS = [ANSWERABLE, "Which AI tools are approved?", "How fast must I report a leaked API key?"]
START_SECONDS = 240  # two workers loading the model at once on a loaded 2-core machine


class Honcho:
    """`honcho start` on the project's Procfile, its output collected line by line as "name | text"."""

    def __init__(self, env: dict, cwd: Path, port: int, *options: str):
        (cwd / ".env").write_text("")  # honcho's own .env: nothing but the environment given
        command = [str(BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-d", str(cwd), "-e", ".env",
                   "-p", str(port), *options]
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, count: int = 1, timeout: float = START_SECONDS) -> list[re.Match]:
        """The first `count` lines matching `pattern` (a regex), once they are printed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for line in self.lines if (m := re.search(pattern, line))]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                assert remaining > 0 and self.process.poll() is None, \
                    f"no {count} lines matching {pattern!r}:\n" + "\n".join(self.lines)
                self._changed.wait(min(remaining, 1.0))

    def stop(self) -> int:
        """SIGTERM, as a deploy stops it: honcho passes it on to every process and waits for them."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def free_port_pair() -> int:
    """A port P with P+1 free too: honcho numbers web.1 and web.2 from the base port it is given."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 1 < 65536:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no two adjacent free ports")


def copy_chunks(source: KnowledgeIndex, target: KnowledgeIndex) -> None:
    """The session's ingested policies, vectors and all, onto the Chroma server: what `rollout ingest` with CHROMA_URL
    writes there, without encoding them again (tests/integration/test_chroma_server.py ingests through a server)."""
    chunks = source.collection.get(include=["embeddings", "documents", "metadatas"])
    target.collection.upsert(ids=chunks["ids"], embeddings=chunks["embeddings"], documents=chunks["documents"],
                             metadatas=chunks["metadatas"])
    target.bump_generation()


@pytest.fixture
def postgres_url(postgres_database):
    """A fresh schema of the session's PostgreSQL database (skipped, with the reason, when it is unreachable)."""
    yield from _postgres_schema(postgres_database)


@pytest.fixture
def honcho_start(tmp_path, postgres_url, fake_slack):
    if not (BIN / "honcho").exists() and shutil.which("honcho") is None:
        pytest.skip("honcho (the dev extra) is not installed")
    started: list[Honcho] = []

    def start(*options: str) -> tuple[Honcho, str]:
        chroma_port = free_port()
        chroma_url = f"http://127.0.0.1:{chroma_port}"
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               "DATABASE_URL": postgres_url, "CHROMA_URL": chroma_url, "CHROMA_PORT": str(chroma_port),
               "ROLLOUT_DATA_DIR": str(tmp_path / "var"), "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.base_url,
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
        env.pop("SLACK_APP_TOKEN", None)
        started.append(Honcho(env, tmp_path, free_port_pair(), *options))
        return started[-1], chroma_url

    yield start
    for honcho in started:
        honcho.stop()


def test_two_workers_and_the_scheduler_from_the_procfile_answer_each_question_once(
        honcho_start, knowledge_base, fake_slack, postgres_url, tmp_path):
    honcho, chroma_url = honcho_start("-c", "web=2")
    wait_for_heartbeat(chroma_url, honcho.process, lambda: honcho.output, timeout=120)
    copy_chunks(knowledge_base.index, KnowledgeIndex(tmp_path / "ingest", knowledge_base.index.embedder, chroma_url))
    listening = honcho.wait_for(r"(web\.\d)\s*\| Rollout is listening on (http://\S+)/slack/events", count=2)
    workers = {match[1]: match[2] for match in listening}
    honcho.wait_for(r"scheduler\.1\s*\| Scheduler \S+ running")
    settings = settings_for(fake_slack, postgres_url)
    comms = open_comms(settings)
    announcement = comms.announcements.schedule(text="The pilot opens on Monday",
                                                at=(datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
                                                targets=["C0GENERAL"])

    events = []
    for name, url in sorted(workers.items()):
        for n, text in enumerate(QUESTIONS):
            user = f"U0{name.replace('.', '').upper()}{n}"
            event = message_event(text, user=user, channel=f"D{user}", channel_type="im")
            fake_slack.workspace.add_message(event["channel"], text, user=user, ts=event["ts"])
            assert SlackSender(url, SIGNING_SECRET).event(event).status == 200, name
            events.append(event)
    fake_slack.wait_for("chat.postMessage", count=len(events) + 1, timeout=120)
    wait_until(lambda: runs_of(comms, announcement.id) == ["done"], timeout=60)  # recorded as sent, not only sent
    honcho.stop()

    answers = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok and c.params.get("thread_ts")]
    assert Counter(c.params["thread_ts"] for c in answers) == Counter({event["ts"]: 1 for event in events})
    first = next(c for c in answers if c.params["thread_ts"] == events[0]["ts"])
    assert "Data Protection Officer" in section_texts(first.params["blocks"])  # from the Chroma server's chunks
    assert not (tmp_path / "var" / "chroma").exists()  # no worker fell back to an embedded store
    sent = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok and c.params.get("channel") == "C0GENERAL"]
    assert len(sent) == 1 and runs_of(comms, announcement.id) == ["done"]
    engine = make_engine(postgres_url)
    assert WorkStore(session_factory(engine)).pending() == []
    engine.dispose()
    comms.close()
    stopped = dict(re.findall(r"system\s*\| (\S+) stopped \(rc=(-?\d+)\)", honcho.output))
    assert stopped == dict.fromkeys(["web.1", "web.2", "scheduler.1", "chroma.1"], "0"), honcho.output
    assert "Traceback" not in honcho.output
    chroma = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in honcho.lines if re.search(r"chroma\.1\s*\|", line)]
    assert chroma and not [line for line in chroma if re.search(r"\b(INFO|DEBUG|TRACE)\b", line)], \
        "chroma's request lines drown the workers' (RUST_LOG in the Procfile):\n" + "\n".join(chroma)
