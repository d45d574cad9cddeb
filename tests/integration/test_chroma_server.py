"""The core behaviour (ingest, idempotency, change, prune, ask) through CHROMA_URL against a real `chroma run` server
started on a free loopback port."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.slack.server import ServeError, open_when_reachable
from knowledge.answer import make_answerer
from knowledge.base import KnowledgeBase
from knowledge.errors import IndexUnavailable
from knowledge.index import KnowledgeIndex
from tests.chroma_server import chroma_executable, chroma_server, free_port  # noqa: F401  (chroma_server: a fixture)
from tests.documents import write_markdown
from tests.integration.conftest import FORMAT_FACTS, ids_by_path, ingest, lexical_paths

pytestmark = pytest.mark.slow

ROLLOUT = Path(sys.executable).with_name("rollout")


@pytest.fixture(scope="module")
def chroma_url(chroma_server) -> str:
    """URL of the session's real Chroma server."""
    return chroma_server.url


@pytest.fixture
def server_settings(chroma_url, tmp_path, monkeypatch) -> Settings:
    """Settings read from the environment, as `rollout` reads them, with CHROMA_URL pointing at the server."""
    monkeypatch.setenv("CHROMA_URL", chroma_url)
    monkeypatch.setenv("ROLLOUT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return Settings()


@pytest.fixture
def open_server_kb(server_settings, embedder):
    """Open a KnowledgeBase on the server; each test gets its own collection, shared by every kb it opens."""
    collection = f"test_{uuid.uuid4().hex[:12]}"

    def open_(data_dir: Path | None = None) -> KnowledgeBase:
        index = KnowledgeIndex(data_dir or server_settings.data_dir, embedder, server_settings.chroma_url,
                               collection=collection)
        return KnowledgeBase(index, make_answerer("extractive"))

    return open_


def test_settings_take_the_server_from_chroma_url(server_settings, chroma_url):
    assert server_settings.chroma_url == chroma_url


def test_ingest_and_ask_go_through_the_server(open_server_kb, every_format, server_settings):
    kb = open_server_kb()

    summary = ingest(kb, every_format)
    answer = kb.ask("How quickly must a leak be reported?")

    assert (summary.new, summary.failed, summary.chunks_total) == (5, 0, 6)  # + handbook.md's front matter
    assert answer.sources[0].path == "guide.pdf"
    assert not (server_settings.data_dir / "chroma").exists()  # nothing went to an embedded store


def test_another_data_dir_sees_the_same_chunks_on_the_server(open_server_kb, every_format, tmp_path):
    ingest(open_server_kb(), every_format)

    elsewhere = open_server_kb(tmp_path / "another-machine")

    assert set(ids_by_path(elsewhere)) == set(FORMAT_FACTS)
    assert lexical_paths(elsewhere, "thistledown") == ["guide.pdf"]  # lexical index rebuilt from the server


def test_second_ingest_through_the_server_adds_nothing(open_server_kb, every_format):
    ingest(open_server_kb(), every_format)
    kb = open_server_kb()
    ids = ids_by_path(kb)

    summary = ingest(kb, every_format)

    assert (summary.new, summary.changed, summary.unchanged, summary.chunks_added) == (0, 0, 5, 0)
    assert ids_by_path(kb) == ids


def test_changed_file_replaces_its_chunks_on_the_server(open_server_kb, every_format):
    kb = open_server_kb()
    ingest(kb, every_format)
    write_markdown(every_format / "handbook.md", "Acceptable Use Handbook",
                   {"Approved tools": "Kestrel Copilot is approved; the orchidwhistle panel signs off new tools."})

    summary = ingest(kb, every_format)

    assert (summary.changed, summary.unchanged) == (1, 4)
    assert lexical_paths(kb, "zephyrine") == []
    assert "orchidwhistle panel" in kb.retriever.retrieve("Who signs off on new AI tools?").top.chunk.text


def test_prune_through_the_server_removes_only_deleted_files(open_server_kb, every_format):
    kb = open_server_kb()
    ingest(kb, every_format)
    (every_format / "page.html").unlink()

    summary = ingest(kb, every_format, prune=True)

    assert summary.removed == 1
    assert set(ids_by_path(kb)) == set(FORMAT_FACTS) - {"page.html"}


def test_rollout_ask_reads_chroma_url_and_answers_from_the_server(chroma_url, every_format, embedder, tmp_path):
    # Ingest into the default collection, then ask from a fresh process with an empty data dir: the answer can only
    # come from the server.
    kb = KnowledgeBase(KnowledgeIndex(tmp_path / "ingest-data", embedder, chroma_url), make_answerer("extractive"))
    ingest(kb, every_format)
    env = dict(os.environ, CHROMA_URL=chroma_url, ROLLOUT_DATA_DIR=str(tmp_path / "empty-data"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

    result = subprocess.run([str(ROLLOUT), "ask", "--json", "Which workshop do managers need to book?"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sources"][0]["path"] == "memo.docx"
    assert not (tmp_path / "empty-data" / "chroma").exists()


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:{closed}", "cannot open the Chroma index at http://127.0.0.1:{closed}"),
    ("localhost:8000", "CHROMA_URL 'localhost:8000' is not a URL like http://host:8000"),
])
def test_unusable_chroma_url_is_a_clear_error(embedder, tmp_path, url, message):
    closed = free_port()  # nothing listens on it once the probe socket is closed

    with pytest.raises(IndexUnavailable, match=message.format(closed=closed).replace(".", r"\.")):
        KnowledgeIndex(tmp_path / "data", embedder, url.format(closed=closed))


def test_serve_waits_for_a_chroma_server_that_is_still_starting(embedder, tmp_path):
    """As under `honcho start`, where the workers and `chroma run` start together."""
    port, said, started = free_port(), [], []
    url = f"http://127.0.0.1:{port}"

    def start_chroma_then_wait(seconds: float) -> None:  # the server comes up only after the first refusal
        if not started:
            started.append(subprocess.Popen([chroma_executable(), "run", "--host", "127.0.0.1", "--port", str(port),
                                             "--path", str(tmp_path / "db")], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.STDOUT))
        time.sleep(min(seconds, 0.2))

    try:
        index = open_when_reachable(lambda: KnowledgeIndex(tmp_path / "data", embedder, url), said.append,
                                    pause=start_chroma_then_wait)
        assert index.count() == 0
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=10)
    assert said == ["Waiting for the Chroma server (CHROMA_URL) to answer, up to 60 s…"] and started


def test_serve_stops_when_chroma_never_answers_and_at_once_on_a_bad_url(embedder, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ServeError, match=rf"cannot open the Chroma index at {closed}: .*\(waited 0 s for it\)"):
        open_when_reachable(lambda: KnowledgeIndex(tmp_path / "data", embedder, closed), print, wait_seconds=0)
    with pytest.raises(IndexUnavailable, match="is not a URL"):
        open_when_reachable(lambda: KnowledgeIndex(tmp_path / "data", embedder, "localhost:8000"), print,
                            pause=lambda _: pytest.fail("waited for a URL that can never answer"))
