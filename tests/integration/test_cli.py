"""`rollout ingest`, `rollout ask` and `rollout sources` as a user runs them: real subprocesses over knowledge/policies,
with ROLLOUT_DATA_DIR in a temp dir. Each subprocess loads the model (~5 s), so questions are batched through
`rollout ask --json -`."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.pseudo_terminal import Terminal

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "knowledge" / "policies"
ROLLOUT = Path(sys.executable).with_name("rollout")

HELPDESK_QUESTION = "Which Slack channel do I post in to get help with the AI tools?"
INCIDENT_QUESTION = "How quickly do I have to report an AI data leak?"
OFF_TOPIC_QUESTION = "what's for lunch today?"
LONGEST_QUESTION = ("Who do I ask about AI tools? " * 200)[:4000]
TOO_LONG_QUESTION = "x" * 4001


def rollout(data_dir: Path, *args: str, stdin: str | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CHROMA_URL"}
    env.update(ROLLOUT_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **(extra_env or {}))
    return subprocess.run([str(ROLLOUT), *args], input=stdin, env=env, cwd=data_dir.parent, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli") / "data"


@pytest.fixture(scope="module")
def ingested(data_dir) -> subprocess.CompletedProcess:
    """`rollout ingest knowledge/policies` into the module's data dir, run once."""
    return rollout(data_dir, "ingest", str(POLICIES))


@pytest.fixture(scope="module")
def batch(ingested, data_dir) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Every question these tests ask, answered by one `rollout ask --json -` process."""
    questions = [HELPDESK_QUESTION, INCIDENT_QUESTION, OFF_TOPIC_QUESTION, "", LONGEST_QUESTION, TOO_LONG_QUESTION]
    result = rollout(data_dir, "ask", "--json", "-", stdin="\n".join(questions) + "\n",
                     extra_env={"ROLLOUT_LOG_LEVEL": "INFO"})
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def indexed_chunks(ingested: subprocess.CompletedProcess) -> int:
    return int(re.search(r"(\d+) indexed$", ingested.stdout.strip()).group(1))


def assert_answer_shape(obj: dict) -> None:
    assert set(obj) == {"answer", "answered", "more", "sources"}
    assert isinstance(obj["answer"], str) and obj["answer"]
    assert isinstance(obj["answered"], bool)
    assert isinstance(obj["sources"], list) and (obj["sources"] or not obj["answered"])
    cited = [int(n) for n in re.findall(r"\[(\d+)\]", obj["answer"] + "\n" + obj["more"])]
    assert sorted(set(cited)) == list(range(1, len(obj["sources"]) + 1)) or not obj["answered"]  # [n] is sources[n-1]
    assert list(dict.fromkeys(cited)) == sorted(set(cited))  # numbered in order of first use
    for source in obj["sources"]:
        assert set(source) == {"path", "title", "section", "score"}
        assert isinstance(source["path"], str) and (POLICIES / source["path"]).is_file()
        assert isinstance(source["title"], str) and source["title"]
        assert source["section"] is None or (isinstance(source["section"], str) and source["section"])
        assert isinstance(source["score"], float)


# -- ingest ----------------------------------------------------------------------------------------------------------
def test_ingest_prints_one_summary_line_and_nothing_else(ingested):
    documents = len(list(POLICIES.glob("*.md")))

    assert ingested.returncode == 0, ingested.stderr
    assert re.fullmatch(rf"files: {documents} new, 0 changed, 0 unchanged, 0 removed, 0 skipped; "
                        rf"chunks: \+(\d+) -0, \1 indexed\n", ingested.stdout)
    assert ingested.stderr == ""  # no library debug noise, no progress bar when stderr is not a terminal


def test_ingest_on_a_terminal_shows_each_step_with_a_progress_bar_then_the_summary(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CHROMA_URL"}
    env.update(ROLLOUT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    terminal = Terminal([str(ROLLOUT), "ingest", str(POLICIES)], env, tmp_path)

    code = terminal.finish(timeout=300)

    screen = terminal.screen
    documents = len(list(POLICIES.glob("*.md")))
    assert code == 0, screen
    assert re.search(rf"reading: 100%\S* {documents}/{documents} ", screen)
    assert "embedding:" in screen and "loading the model" in screen  # said while the model loads, not after
    assert re.search(r"embedding: 100%\S* (\d+)/\1 ", screen)
    assert re.search(r"saving: 100%\S* 3/3 ", screen)
    assert screen.rstrip().splitlines()[-1].startswith(f"files: {documents} new, 0 changed")


# -- ask -------------------------------------------------------------------------------------------------------------
def test_ask_json_prints_exactly_the_documented_shape(ingested, data_dir):
    result = rollout(data_dir, "ask", "--json", OFF_TOPIC_QUESTION)

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    obj = json.loads(result.stdout)
    assert_answer_shape(obj)
    assert obj["answered"] is False
    assert "I don't know" in obj["answer"]
    assert obj["sources"] == []  # nothing close to a question about the canteen: no document is named


def test_ask_batch_answers_one_json_object_per_line_with_one_model_load(batch):
    result, lines = batch

    assert len(lines) == 5  # the blank line is skipped
    for obj in lines[:4]:
        assert_answer_shape(obj)
    assert len(re.findall(r"Loading the query encoder \(numpy\) from", result.stderr)) == 1  # not once per question
    assert "Loading SentenceTransformer" not in result.stderr  # a few questions never need torch


def test_policy_question_is_answered_from_the_right_document(batch):
    _, lines = batch
    helpdesk, incident = lines[0], lines[1]

    assert helpdesk["answered"] is True
    assert helpdesk["sources"][0]["path"] == "helpdesk-and-support.md"
    assert helpdesk["sources"][0]["title"] == "AI Helpdesk and Support"
    assert "#ai-helpdesk" in helpdesk["answer"]
    assert incident["answered"] is True
    assert incident["sources"][0]["path"] == "ai-incident-response.md"


def test_off_topic_question_is_not_answered(batch):
    _, lines = batch

    assert lines[2]["answered"] is False


def test_question_of_exactly_the_limit_is_answered(batch):
    _, lines = batch

    assert "error" not in lines[3]


def test_batch_reports_bad_lines_in_place_and_exits_non_zero(batch):
    result, lines = batch

    assert [set(line) for line in lines].count({"error"}) == 1  # the blank line is skipped, not an error
    assert set(lines[4]) == {"error"}
    assert "4,001 characters" in lines[4]["error"]
    assert result.returncode == 1


@pytest.mark.parametrize("question, message", [
    pytest.param("   ", "Error: Please ask a question: the text was empty.", id="blank"),
    pytest.param(TOO_LONG_QUESTION, "Error: That question is 4,001 characters long; please keep it under 4,000 "
                                    "characters", id="over-4000-characters"),
])
def test_bad_question_is_refused_with_a_clear_message(data_dir, question, message):
    result = rollout(data_dir, "ask", "--json", question)

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr


# -- sources ---------------------------------------------------------------------------------------------------------
def test_sources_lists_every_document_with_chunk_count_and_indexed_time(ingested, data_dir):
    result = rollout(data_dir, "sources")

    assert result.returncode == 0, result.stderr
    *rows, total = result.stdout.splitlines()
    listed = {}
    for row in rows:
        match = re.fullmatch(r"(\S+)\s+(\d+) chunks  (\S+)  (.+)", row)
        assert match, row
        path, chunks, indexed_at, title = match.groups()
        assert datetime.fromisoformat(indexed_at).tzinfo is not None
        assert title
        listed[path] = int(chunks)
    assert set(listed) == {p.name for p in POLICIES.glob("*.md")}
    assert all(n > 0 for n in listed.values())
    assert total == f"{len(listed)} documents, {indexed_chunks(ingested)} chunks"
    assert sum(listed.values()) == indexed_chunks(ingested)


def test_sources_on_an_empty_index_says_how_to_fill_it(tmp_path, monkeypatch, embedder):
    # In-process (same model as the rest of the session) rather than another 5-second subprocess.
    monkeypatch.setenv("ROLLOUT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHROMA_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["sources"], catch_exceptions=False)

    assert result.exit_code == 0
    assert result.stdout == "No documents indexed yet. Run: rollout ingest knowledge/policies\n"


def test_ask_on_an_empty_index_says_why_it_cannot_answer(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("ROLLOUT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHROMA_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["ask", "--json", HELPDESK_QUESTION], catch_exceptions=False)

    assert result.exit_code == 0
    assert json.loads(result.stdout)["answered"] is False  # stdout stays one JSON object
    assert "no documents are indexed yet" in result.stderr
    assert "rollout ingest" in result.stderr
