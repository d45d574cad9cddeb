"""/metrics, /healthz and /readyz over real HTTP: signed Slack requests move the counters; /readyz names what failed.

The counters live in this test process's registry (PROMETHEUS_MULTIPROC_DIR unset), shared by every test here, so
each test compares a scrape after with a scrape before.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.operations import Operations
from bot.runtime import build_runtime
from bot.slack.app import create_app
from bot.slack.transport import HttpServer
from knowledge.base import KnowledgeBase
from tests.chroma_server import chroma_server  # noqa: F401  (fixture)
from tests.scenario.conftest import ANSWERABLE, UNANSWERABLE, settings_for

SECRET = "my key is AKIAIOSFODNN7EXAMPLE please check"


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of GET /metrics, by (name, sorted labels)."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def moved(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_questions_acks_answers_and_slack_errors_are_counted(start_rollout):
    rollout = start_rollout(rollout_rate_limit="1/300")
    before = scrape(rollout.server.url)
    rollout.slack.fail_next("reactions.add", 1, status=429, retry_after=0)  # waited out and retried...
    rollout.slack.fail_next("reactions.add", 1, status=500)  # ...into an error: the answer goes on without its 👀
    rollout.dm(ANSWERABLE, user="U0ANN")
    rollout.settle()
    rollout.dm(UNANSWERABLE, user="U0BEN")
    rollout.dm(SECRET, user="U0CAT")
    rollout.dm(ANSWERABLE, user="U0DAN")
    rollout.settle()
    rollout.dm(UNANSWERABLE, user="U0DAN")  # over the limit of 1 question in 300 s
    rollout.settle()

    after = scrape(rollout.server.url)
    questions = {outcome: moved(before, after, "rollout_questions_total", surface="dm", outcome=outcome)
                 for outcome in ("answered", "dont_know", "secret", "rate_limited")}
    assert questions == {"answered": 2, "dont_know": 1, "secret": 1, "rate_limited": 1}
    assert moved(before, after, "rollout_ack_seconds_count") == 5
    assert moved(before, after, "rollout_answer_seconds_count", surface="dm") == 3  # answers and don't-knows
    assert moved(before, after, "rollout_slack_rate_limited_total", method="reactions.add") == 1
    errors = {labels: value - before.get((name, labels), 0) for (name, labels), value in after.items()
              if name == "rollout_slack_api_errors_total" and dict(labels)["method"] == "reactions.add"}
    assert [(dict(labels)["status"], n) for labels, n in errors.items() if n] == [("500", 1)]
    assert after[("rollout_work_queue_depth", ())] == 0
    assert after[("rollout_work_queue_oldest_seconds", ())] == 0
    assert after[("rollout_database_up", ())] == 1


def test_healthz_and_readyz_when_all_is_well(rollout):
    assert rollout.healthz() == 200
    status, body = get_json(rollout.server.url + "/readyz")
    assert (status, body) == (200, {"status": "ready", "checks": {"database": {"ok": True}, "chroma": {"ok": True},
                                                                  "model": {"ok": True}}})


def test_readyz_names_a_removed_sqlite_file_and_healthz_stays_alive(start_rollout, sqlite_url):
    rollout = start_rollout()
    Path(sqlite_url.removeprefix("sqlite:///")).unlink()

    status, body = get_json(rollout.server.url + "/readyz")

    assert status == 503 and body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is False and "is gone" in body["checks"]["database"]["error"]
    assert body["checks"]["chroma"] == body["checks"]["model"] == {"ok": True}
    assert rollout.healthz() == 200
    assert ("rollout_work_queue_depth", ()) in scrape(rollout.server.url)  # /metrics still answers


def test_readyz_names_a_stopped_chroma_server(chroma_server, fake_slack, sqlite_url, tmp_path):  # noqa: F811
    on_server = KnowledgeBase.open(tmp_path / "data", chroma_url=chroma_server.url)
    runtime = build_runtime(settings_for(fake_slack, sqlite_url), knowledge_base=on_server)
    server = HttpServer(create_app(runtime), "127.0.0.1", 0, operations=Operations(runtime)).start()
    try:
        assert get_json(server.url + "/readyz")[0] == 200
        with chroma_server.down():
            status, body = get_json(server.url + "/readyz")
        back = get_json(server.url + "/readyz")[0]
    finally:
        server.stop()
        runtime.close()

    assert status == 503 and body["checks"]["chroma"]["ok"] is False and body["checks"]["chroma"]["error"]
    assert body["checks"]["database"] == body["checks"]["model"] == {"ok": True}
    assert back == 200
