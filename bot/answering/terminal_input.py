"""`rollout chat`'s prompt: line editing and a history kept across sessions (the stdlib's readline), and the model
loaded on a background thread while the prompt waits for the first question."""
from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bot.answering.safety import has_secret, redact_personal_data

log = logging.getLogger(__name__)

HISTORY_FILE = "chat_history"  # under the data dir
HISTORY_LENGTH = 1000
LOADING = "loading the model…"


class LineReader:
    """input() with line editing and history where readline is available (not on every platform): a line holding a
    secret is dropped from the history at once, and the file keeps lines with emails and phone numbers redacted."""

    def __init__(self, history_file: Path | None, read: Callable[[str], str] = input, interactive: bool | None = None):
        self.history_file = history_file
        self.read = read
        if interactive is None:  # questions piped in are not typed: nothing to edit, nothing to remember
            interactive = sys.stdin.isatty() and sys.stdout.isatty()
        self.readline = _readline() if interactive else None
        if self.readline is not None:
            self.readline.set_auto_history(False)  # each line is vetted before it joins the history
            self._load_history()

    def __call__(self, prompt: str) -> str:
        text = self.read(prompt)
        if self.readline is not None and text.strip() and not has_secret(text):
            self._remember(text)
        return text

    def _load_history(self) -> None:
        if self.history_file is None or not self.history_file.is_file():
            return
        try:
            self.readline.read_history_file(str(self.history_file))
            if self.readline.get_current_history_length() > HISTORY_LENGTH:  # trimmed once a session, not per line
                self.readline.set_history_length(HISTORY_LENGTH)
                self.readline.write_history_file(str(self.history_file))
        except OSError as exc:
            log.warning("cannot read the chat history %s: %s", self.history_file, exc)

    def _remember(self, text: str) -> None:
        """Add a line to the history in memory as typed, and to the file at once (so a session that dies keeps what
        was asked) with personal data redacted."""
        readline = self.readline
        readline.add_history(redact_personal_data(text))
        if self.history_file is not None:
            try:
                self.history_file.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(self.history_file, os.O_WRONLY | os.O_CREAT, 0o600))  # the user's own to read
                readline.append_history_file(1, str(self.history_file))
            except OSError as exc:
                log.warning("cannot write the chat history %s: %s", self.history_file, exc)
                self.history_file = None  # said once
        readline.replace_history_item(readline.get_current_history_length() - 1, text)


def _readline():
    """The readline module, imported for its effect on input(): arrow keys, Ctrl-R, history. None where absent."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline
        return None
    return readline


class Warming:
    """Loads the model on a background thread while the prompt waits; the first question waits for it, saying so once
    if it is not ready yet."""

    def __init__(self, warm_up: Callable[[], object]):
        self._warm_up = warm_up
        self._thread = threading.Thread(target=self._run, name="rollout-warm-up", daemon=True)
        self._told = False

    def start(self) -> Warming:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._warm_up()
        except Exception:  # noqa: BLE001 - the question that needs the model meets the same failure and reports it
            log.debug("warming the model failed; the first question will report why", exc_info=True)

    def wait(self, echo: Callable[[str], None]) -> None:
        """Block until the model is loaded; the first time it is not, say why the answer takes a moment."""
        if self._thread.is_alive() and not self._told:
            self._told = True
            echo(LOADING)
        self._thread.join()
