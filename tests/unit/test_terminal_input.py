"""The chat's prompt: what its history keeps (readline, in memory and in the file under the data dir)."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.answering.terminal_input import LineReader

readline = pytest.importorskip("readline")

SECRET_LINE = "is AKIAABCDEFGHIJKLMNOP still valid?"


@pytest.fixture(autouse=True)
def empty_history():
    readline.clear_history()
    yield
    readline.clear_history()


def typed(*lines: str):
    pending = iter(lines)
    return lambda _prompt: next(pending)


def in_memory() -> list[str]:
    return [readline.get_history_item(i) for i in range(1, readline.get_current_history_length() + 1)]


def test_lines_are_kept_in_memory_as_typed_and_in_the_file_with_personal_data_redacted(tmp_path: Path):
    history = tmp_path / "data" / "chat_history"
    read = LineReader(history, typed("which tools are approved?", "I'm jane.doe@example.com, may I?", "  "),
                      interactive=True)

    assert [read("you> ") for _ in range(3)] == ["which tools are approved?", "I'm jane.doe@example.com, may I?", "  "]

    assert in_memory() == ["which tools are approved?", "I'm jane.doe@example.com, may I?"]
    assert history.read_text().splitlines() == ["which tools are approved?", "I'm [EMAIL], may I?"]
    assert stat.S_IMODE(history.stat().st_mode) == 0o600


def test_a_line_holding_a_secret_is_remembered_nowhere(tmp_path: Path):
    history = tmp_path / "chat_history"
    read = LineReader(history, typed("first question", SECRET_LINE, "last question"), interactive=True)

    assert [read("you> ") for _ in range(3)][1] == SECRET_LINE  # still asked: the chat warns about it

    assert in_memory() == ["first question", "last question"]
    assert "AKIA" not in history.read_text()


def test_the_next_session_starts_with_the_history_of_the_last(tmp_path: Path):
    history = tmp_path / "chat_history"
    LineReader(history, typed("who runs the pilot?"), interactive=True)("you> ")
    readline.clear_history()

    LineReader(history, typed(), interactive=True)

    assert in_memory() == ["who runs the pilot?"]


def test_piped_questions_are_not_remembered(tmp_path: Path):
    history = tmp_path / "chat_history"
    read = LineReader(history, typed("which tools are approved?"), interactive=False)

    read("you> ")

    assert in_memory() == [] and not history.exists()


def test_a_history_file_that_cannot_be_written_leaves_the_chat_working(tmp_path: Path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data dir should be")
    read = LineReader(blocked / "chat_history", typed("one", "two"), interactive=True)

    assert [read("you> "), read("you> ")] == ["one", "two"]
    assert in_memory() == ["one", "two"]
    assert len([r for r in caplog.records if "cannot write the chat history" in r.getMessage()]) == 1
