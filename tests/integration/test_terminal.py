"""`rollout ask` and `rollout chat` go through Slack's answering workflow: secrets turned away, personal data redacted,
thread history from the store, every answer recorded as source terminal and counted apart by `rollout report`.

In-process (CliRunner, `run_chat` with scripted input) over the real model, the sample policies and a real database.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.answering.terminal import NEW_TOPIC, TerminalSession, run_chat, terminal_user
from bot.answering.terminal_input import LOADING, Warming
from bot.cli import main
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.store import Conversation, ProcessedEvent, make_engine, session_factory
from knowledge.answer import Answer, make_answerer
from knowledge.base import KnowledgeBase
from knowledge.index import KnowledgeIndex
from tests.integration.conftest import ingest
from tests.pseudo_terminal import Terminal

POLICIES = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "AKIAABCDEFGHIJKLMNOP"
EMAIL = "jane.doe@example.com"
APPROVED = "Which AI tools are approved?"
OFF_TOPIC = "what's for lunch today?"
TOO_LONG = "x" * 4001


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embedder) -> Path:
    """The sample policies, ingested once for the module."""
    data_dir = tmp_path_factory.mktemp("terminal") / "data"
    ingest(KnowledgeBase(KnowledgeIndex(data_dir, embedder), make_answerer("extractive")), POLICIES)
    return data_dir


@pytest.fixture
def rollout(data_dir: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `rollout ...` in-process on the module's index and the test's database: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    env = {"ROLLOUT_DATA_DIR": str(data_dir), "DATABASE_URL": db_url, "CHROMA_URL": None,
           "ROLLOUT_RATE_LIMIT": None}

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, list(args), input=stdin, env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def conversations(db_url: str) -> Iterator:
    """Read back every stored conversation (and claimed event), oldest first."""
    engine = make_engine(db_url)

    def rows(model=Conversation) -> list:
        with session_factory(engine)() as session:
            return list(session.scalars(select(model).order_by(*model.__table__.primary_key.columns)))

    yield rows
    engine.dispose()


class RecordingKnowledgeBase:
    """The real knowledge base, remembering what each question was asked with (text and thread history)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.asked: list[tuple[str, list]] = []
        self.answers: list[Answer] = []

    def prefetch(self, question: str) -> None:
        self.kb.prefetch(question)

    def ask(self, question: str, history=()) -> Answer:
        self.asked.append((question, list(history)))
        self.answers.append(self.kb.ask(question, history))
        return self.answers[-1]


def scripted(lines: list[str]):
    """input() for run_chat: the lines in turn, then Ctrl-D."""
    pending = iter(lines)

    def read(_prompt: str) -> str:
        try:
            return next(pending)
        except StopIteration:
            raise EOFError from None

    return read


# -- the secret screen and redaction -----------------------------------------------------------------------------------
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_secret_gets_the_warning_and_nothing_is_stored_or_answered(rollout, conversations, as_json):
    code, out, err = rollout("ask", *(["--json"] if as_json else []), f"is {SECRET} a valid key for Copilot?")

    assert code == 0  # refused as it should be: not an error
    if as_json:
        refusal = json.loads(out)
        assert len(out.splitlines()) == 1 and set(refusal) == {"answer", "answered", "refused", "sources"}
        assert (refusal["answered"], refusal["refused"], refusal["sources"]) == (False, "secret", [])
    warning = json.loads(out)["answer"] if as_json else out.removeprefix("warning: ")
    assert warning.startswith("Your message looks like it contains an AWS access key ID. I did not store it.")
    assert "remove it from your shell history" in warning and "Delete message" not in warning
    assert SECRET not in out + err
    assert conversations() == []
    assert len(conversations(ProcessedEvent)) == 1  # the question's key was claimed, its text kept nowhere


def test_an_email_is_redacted_in_what_is_stored_and_recorded_as_a_terminal_question(rollout, conversations):
    code, out, _ = rollout("ask", "--json", f"I'm {EMAIL}: {APPROVED}")

    assert code == 0 and json.loads(out)["answered"] is True
    [stored] = conversations()
    assert stored.question == f"I'm [EMAIL]: {APPROVED}"
    assert (stored.source, stored.user_id, stored.channel_id) == ("terminal", terminal_user(), "terminal")
    assert stored.thread_ts == stored.message_ts and len(stored.message_ts) == 32  # its own thread
    assert stored.answer == json.loads(out)["answer"]


# -- report ------------------------------------------------------------------------------------------------------------
def test_terminal_questions_are_counted_apart_from_slack_in_the_report(rollout, time_machine):
    time_machine.move_to(NOW, tick=False)
    code, out, _ = rollout("ask", "--json", "-", stdin=f"{APPROVED}\n{OFF_TOPIC}\n")
    assert code == 0 and [json.loads(line)["answered"] for line in out.splitlines()] == [True, False]

    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    code, out, _ = rollout("report", "--format", "json")

    assert code == 0
    current = json.loads(out)["current"]
    assert (current["terminal"], current["terminal_answered"]) == (2, 1)
    assert (current["questions"], current["answered_rate"]) == (0, None)  # Slack's figures are Slack's alone
    code, out, _ = rollout("report")
    assert "Terminal questions (rollout ask/chat, not in the figures above): 2, 1 answered" in out


# -- chat: one thread per session, `new` starts another ----------------------------------------------------------------
def test_chat_follow_ups_read_the_earlier_turn_from_the_store_and_new_drops_it(data_dir, db_url, embedder,
                                                                             conversations):
    kb = RecordingKnowledgeBase(KnowledgeBase(KnowledgeIndex(data_dir, embedder), make_answerer("extractive")))
    settings = Settings(database_url=db_url, rollout_rate_limit="20/300")
    session = TerminalSession(build_runtime(settings, knowledge_base=kb).asking)
    first = f"I'm {EMAIL}. What training do I need before I get access?"
    printed: list[str] = []

    run_chat(session, read=scripted([first, "and for contractors?", "more", "", "new", "and for contractors?",
                                     "quit", "never read"]), echo=printed.append)

    redacted = "I'm [EMAIL]. What training do I need before I get access?"
    assert [question for question, _ in kb.asked] == [redacted, "and for contractors?", "and for contractors?"]
    assert kb.asked[0][1] == []
    assert kb.asked[1][1] == [(redacted, kb.answers[0].text)]  # redacted: read back from the store
    assert kb.asked[2][1] == []  # after `new`
    stored = conversations()
    assert [c.source for c in stored] == ["terminal"] * 3
    assert stored[0].thread_ts == stored[1].thread_ts != stored[2].thread_ts
    assert f"rollout> {NEW_TOPIC}" in printed
    more = printed[printed.index(f"rollout> {NEW_TOPIC}") - 1]
    assert more == "rollout> " + (kb.answers[1].more or "There is nothing more to show for the last answer.")
    assert printed[1].startswith(f"rollout> {kb.answers[0].text}")


def test_a_question_asked_while_the_model_loads_waits_for_it_and_says_so_once(data_dir, db_url, embedder):
    kb = RecordingKnowledgeBase(KnowledgeBase(KnowledgeIndex(data_dir, embedder), make_answerer("extractive")))
    settings = Settings(database_url=db_url, rollout_rate_limit="20/300")
    session = TerminalSession(build_runtime(settings, knowledge_base=kb).asking)
    told, warmed = threading.Event(), []
    printed: list[str] = []

    def warm_up() -> None:  # still loading when the first question comes, until the chat says so
        told.wait(timeout=60)
        warmed.append(len(kb.asked))

    def echo(line: str) -> None:
        printed.append(line)
        if line == f"rollout> {LOADING}":
            told.set()

    run_chat(session, read=scripted([APPROVED, OFF_TOPIC]), echo=echo, warming=Warming(warm_up).start())

    assert printed.count(f"rollout> {LOADING}") == 1  # once, not before every question
    assert printed[1] == f"rollout> {LOADING}" and printed[2].startswith("rollout> ")
    assert warmed == [0] and len(kb.asked) == 2  # the questions were asked after the warm-up, both answered


def test_chat_on_a_terminal_recalls_earlier_lines_and_keeps_them_but_never_a_secret(data_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_URL", "DATABASE_URL")}
    env.update(ROLLOUT_DATA_DIR=str(tmp_path / "data"), DATABASE_URL=f"sqlite:///{tmp_path / 'rollout.db'}",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    shutil.copytree(data_dir, tmp_path / "data")  # the module's index; this test's history file
    terminal = Terminal([str(Path(sys.executable).with_name("rollout")), "chat"], env, tmp_path)

    at = terminal.expect("you> ")
    terminal.send("new\r")
    at = terminal.expect(f"rollout> {NEW_TOPIC}", since=at)
    terminal.send("\x1b[A\r")  # the up arrow brings back "new"
    at = terminal.expect(f"rollout> {NEW_TOPIC}", since=at)
    terminal.send(f"is {SECRET} still valid?\r")
    at = terminal.expect("rollout> warning:", timeout=300, since=at)  # answered once the model has loaded
    terminal.send("\x1b[A\r")  # up: not the secret, which was never kept, but "new" again
    terminal.expect(f"rollout> {NEW_TOPIC}", since=at)
    terminal.send("quit\r")

    assert terminal.finish() == 0
    history = tmp_path / "data" / "chat_history"
    assert history.read_text().splitlines() == ["new", "new", "new", "quit"]
    assert SECRET not in history.read_text()


def test_rollout_chat_runs_on_stdin_and_records_each_question(rollout, conversations):
    code, out, _ = rollout("chat", stdin=f"{APPROVED}\nnew\n{OFF_TOPIC}\n")

    assert code == 0
    assert f"rollout> {NEW_TOPIC}" in out and "rollout> I don't know" in out
    assert [(c.question, c.answered) for c in conversations()] == [(APPROVED, True), (OFF_TOPIC, False)]


# -- ask - : one question per line -------------------------------------------------------------------------------------
def test_ask_stdin_in_text_echoes_each_question_separates_answers_and_skips_blank_lines(rollout, conversations):
    code, out, _ = rollout("ask", "-", stdin=f"{APPROVED}\n\n   \n{OFF_TOPIC}\n")

    assert code == 0
    first, second = out.split("\n\n> ")
    assert first.startswith(f"> {APPROVED}\n") and "\nSources:\n  [1] " in first
    assert second.startswith(f"{OFF_TOPIC}\nI don't know")
    assert "error" not in out
    assert len(conversations()) == 2


def test_ask_stdin_in_json_skips_blank_lines_and_reports_errors_in_place_with_a_non_zero_exit(rollout):
    code, out, _ = rollout("ask", "--json", "-", stdin=f"\n{APPROVED}\n  \n{TOO_LONG}\n{OFF_TOPIC}\n")

    lines = [json.loads(line) for line in out.splitlines()]
    assert [set(line) for line in lines] == [{"answer", "answered", "more", "sources"}, {"error"},
                                             {"answer", "answered", "more", "sources"}]
    assert "4,001 characters" in lines[1]["error"]
    assert code == 1


def test_ask_stdin_in_text_reports_a_bad_line_in_place_under_its_echo(rollout):
    code, out, _ = rollout("ask", "-", stdin=f"{TOO_LONG}\n{APPROVED}\n")

    assert code == 1
    assert out.startswith(f"> {TOO_LONG}\nerror: That question is 4,001 characters long")
    assert f"\n\n> {APPROVED}\n" in out


# -- --more ------------------------------------------------------------------------------------------------------------
def test_ask_more_prints_the_short_answer_then_the_longer_extract_then_the_sources(rollout):
    question = "What training do I need before I get access?"
    answer = json.loads(rollout("ask", "--json", "--more", question)[1])
    code, out, _ = rollout("ask", "--more", question)
    plain = rollout("ask", question)[1]

    assert code == 0 and answer["answered"] is True
    assert out.startswith(answer["answer"] + "\n")
    more = f"\n\nMore:\n{answer['more']}" if answer["more"] else ""
    assert out.startswith(plain.split("\n\nSources:\n")[0] + more + "\n\nSources:\n")
    assert "More:" not in plain
    listed = lambda text: re.findall(r"^  \[(\d+)\]", text, re.MULTILINE)  # noqa: E731
    assert set(listed(plain)) == set(re.findall(r"\[(\d+)\]", answer["answer"]))  # what the short answer cites
    assert set(listed(out)) == set(re.findall(r"\[(\d+)\]", answer["answer"] + answer["more"]))  # and the extract


# -- what the terminal needs besides the index ---------------------------------------------------------------------
@pytest.mark.parametrize("setting, value, message", [
    pytest.param("DATABASE_URL", "postgresql+psycopg://rollout:hunter2@127.0.0.1:1/rollout",
                 "Error: cannot open the database at postgresql+psycopg://rollout:***@127.0.0.1:1/rollout: ",
                 id="unreachable-database"),
    pytest.param("ROLLOUT_RATE_LIMIT", "lots", "Error: ROLLOUT_RATE_LIMIT must look like '20/300'", id="rate-limit"),
])
def test_a_database_or_setting_it_cannot_use_is_one_clear_line(data_dir, tmp_path, monkeypatch, setting, value,
                                                              message):
    monkeypatch.chdir(tmp_path)
    env = {"ROLLOUT_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{tmp_path / 'rollout.db'}",
           "CHROMA_URL": None, setting: value}

    result = CliRunner().invoke(main, ["ask", APPROVED], env=env)

    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
    assert "hunter2" not in result.stderr
